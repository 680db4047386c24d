"""Wiring of the notifier: `uvicorn --factory services.notifier.app:create_app --port 8005`.

Mail settings come from the environment (AAP_SMTP_HOST, AAP_SMTP_PORT, AAP_SMTP_TLS,
AAP_SMTP_USER, AAP_SMTP_PASSWORD; without AAP_SMTP_HOST, .eml files in AAP_OUTBOX_DIR,
default <data_dir>/outbox), read when the app is built, never at import.
"""

from __future__ import annotations

import os

from litestar import Litestar

from aap_platform.objects import ObjectBucket, bucket_name
from aap_platform.runtime import Runtime, build_app
from aap_platform.settings import Settings
from services.notifier import consumers
from services.notifier.handlers import NotifierHandlers
from services.notifier.http import ROUTES
from services.notifier.mailer import Mailer, MailSettings
from services.notifier.official import OfficialDocuments
from services.notifier.render import Templates, templates_dir
from services.notifier.sender import Sender
from services.notifier.view import projection

SERVICE = "notifier"


class NotifierRuntime(Runtime):
    """The shared runtime, plus the sender: stopped before the connection, reported in readiness."""

    sender: Sender | None = None

    async def stop(self) -> None:
        if self.sender is not None:
            await self.sender.stop()
        await super().stop()

    async def readiness(self) -> dict:
        info = await super().readiness()
        if self.sender is not None:
            counts = self.sender.counts()
            info.update(
                {
                    "notifications_pending": counts["pending"],
                    "notifications_overdue": counts["overdue"],
                    "notifications_parked": counts["parked"],
                }
            )
        return info


def create_app(settings: Settings | None = None, *, mailer: Mailer | None = None) -> Litestar:
    settings = settings or Settings.from_env()
    runtime = NotifierRuntime(SERVICE, settings)
    view = projection(runtime.call)
    runtime.views.append(view)
    mail = MailSettings.from_env(os.environ, settings.data_dir)
    override = templates_dir(runtime.call)
    handlers = NotifierHandlers(runtime, view, OfficialDocuments(override))
    sender = Sender(handlers, view, mailer or mail.mailer(), Templates(override), mail)
    runtime.sender = sender
    runtime.busy = sender.busy
    runtime.reactor = consumers.subscription(view, sender)

    async def on_start() -> None:
        handlers.bucket = ObjectBucket(
            runtime.store.js, bucket_name("aap_official", runtime.call.id), settings.nats_replicas
        )
        sender.lease = await runtime.hold_lease(on_acquired=sender.wake)
        await sender.start()

    app = build_app(runtime, ROUTES, title="AAP — notifier", on_start=on_start)
    app.state.sender = sender
    app.state.handlers = handlers
    return app
