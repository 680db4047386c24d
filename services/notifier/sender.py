"""The background sender: every due notification not yet recorded as sent is sent, in order.

Exactly once, as far as it can be: before sending, the notification's aggregate is read (a
NotificationSent there means done); after the SMTP server accepted the message,
NotificationSent is appended with a stable event id. The one window left — killed after the
server accepted, before the record — resends that message alone, with the same Message-ID.
A failing message is retried with exponential backoff, forever; past `park_after` failures it
is reported as parked (metric, error log, GET /notifications) and still retried at the capped pace.

Two instances (or more) may run: only the one holding the notifier's lease
(`aap_platform.lease`) sends; the others wait and one takes over within seconds of its death.
One sender at a time keeps the order and the one-window guarantee above; a per-notification
claim would have needed the same expiry, once per message.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import timedelta

import msgspec
from prometheus_client import Counter, Gauge

from aap_platform import privacy
from aap_platform.lease import Lease
from aap_platform.projection import Projection
from services.notifier import official
from services.notifier.domain import Notification, is_overdue, message_id, retry_delay
from services.notifier.handlers import NotifierHandlers
from services.notifier.mailer import Mailer, MailSettings, Outgoing
from services.notifier.render import Templates, context
from services.notifier.view import NotifierView, due_notifications

log = logging.getLogger(__name__)
IDLE_SECONDS = 1.0

SENT = Counter("aap_notifications_sent", "Notifications accepted by the mail server", ["kind"])
FAILURES = Counter("aap_notification_failures", "Failed attempts to send a notification", ["kind"])
PENDING = Gauge("aap_notifications_pending", "Due notifications not yet sent")
OVERDUE = Gauge("aap_notifications_overdue", "Notifications still unsent after the notification delay")
PARKED = Gauge("aap_notifications_parked", "Notifications that failed too often (still retried)")


class Sender:
    def __init__(
        self,
        handlers: NotifierHandlers,
        view: Projection[NotifierView],
        mailer: Mailer,
        templates: Templates,
        settings: MailSettings,
    ) -> None:
        self.handlers, self.runtime = handlers, handlers.runtime
        self.view, self.mailer, self.templates = view, mailer, templates
        self.settings = settings
        self.delay = timedelta(days=self.runtime.call.notifications.delay_days)
        connector = self.runtime.call.connector
        self.dn_notifies = connector is not None and connector.notifications == "dn"
        self.attempts: dict[str, int] = {}
        self.last_error: dict[str, str] = {}
        self._retry_at: dict[str, float] = {}
        self._done: set[str] = set()  # recorded by this process (the view may lag a moment)
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None
        self.lease: Lease | None = None  # None: the only instance (sends without asking)

    # --- what is due ----------------------------------------------------------------------
    def due(self) -> list[Notification]:
        return due_notifications(self.view.state, self.delay, self.dn_notifies)

    def is_sent(self, notification_id: str) -> bool:
        return notification_id in self.view.state.sent or notification_id in self._done

    def unsent(self) -> list[Notification]:
        return [n for n in self.due() if not self.is_sent(n.notification_id)]

    def busy(self) -> int:
        return len(self.unsent())

    def is_parked(self, notification_id: str) -> bool:
        return not self.is_sent(notification_id) and self.attempts.get(notification_id, 0) > self.settings.park_after

    def counts(self) -> dict[str, int]:
        unsent, now = self.unsent(), self.runtime.now()
        counts = {
            "pending": len(unsent),
            "overdue": sum(is_overdue(n, now) for n in unsent),
            "parked": sum(self.is_parked(n.notification_id) for n in unsent),
        }
        PENDING.set(counts["pending"])
        OVERDUE.set(counts["overdue"])
        PARKED.set(counts["parked"])
        return counts

    # --- the loop ---------------------------------------------------------------------------
    def wake(self) -> None:
        self._wake.set()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="notifier-sender")

    def crash(self) -> None:
        """Tests: the sending stops where it stands, as in a killed process."""
        if self._task is not None:
            self._task.cancel()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            try:
                pause = await self.send_due()
            except Exception:  # the store unreachable, say: try again shortly, never give up
                log.exception("notifier: sending pass failed")
                pause = IDLE_SECONDS
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), pause)

    async def send_due(self) -> float:
        """One pass over the unsent notifications; returns how long to wait before the next."""
        pause = IDLE_SECONDS
        for n in self.unsent():
            if self.lease is not None and not self.lease.held():
                break  # another instance sends (or will, once it holds the lease)
            wait = self._retry_at.get(n.notification_id, 0.0) - time.monotonic()
            if wait > 0:
                pause = min(pause, wait)
                continue
            try:
                await self.deliver(n)
            except Exception as exc:  # noqa: BLE001 — every failure is retried, none is dropped
                pause = min(pause, self._failed(n, exc))
        self.counts()
        return max(pause, 0.01)

    async def deliver(self, n: Notification) -> None:
        if await self.handlers.is_recorded(n.notification_id):
            self._done.add(n.notification_id)
            return
        # the view keeps the addresses as the log does (sealed): revealed for the mail server only;
        # an erased person's address is no longer known, and nobody is left to write to then
        attachments = await self.official_documents(n)
        plain = await privacy.reveal(self.runtime.store, list(n.recipients))
        out = self.compose(msgspec.structs.replace(n, recipients=tuple(r for r in plain if r != privacy.ERASED)))
        out = msgspec.structs.replace(out, attachments=attachments)
        if out.recipients:
            await self.mailer.send(out)
        SENT.labels(n.kind).inc()
        await self.handlers.record_sent(n, out.message_id, out.subject)
        self._done.add(n.notification_id)
        self._retry_at.pop(n.notification_id, None)
        log.info("notifier: sent %s to %d recipient(s)", n.notification_id, len(n.recipients))

    async def official_documents(self, n: Notification) -> tuple[tuple[str, bytes], ...]:
        """A lauréat's arrêté and lettre de notification, attached to its e-mail; the lettres de
        non-sélection of a collective notification, issued with it (each is downloadable)."""
        if n.kind == "individual":
            documents = await self.handlers.official_documents(n.session, n.dossier_ids[0], "laureate")
            return tuple((official.file_name(d.kind, d.reference), body) for d, body in documents)
        if n.kind == "collective":
            for dossier_id in n.dossier_ids:
                await self.handlers.official_documents(n.session, dossier_id, "not_retained")
        return ()

    def compose(self, n: Notification) -> Outgoing:
        call = self.runtime.call
        subject, body = self.templates.render(n.kind, context(n, self.view.state, call))
        individual = n.kind != "collective"  # a grant or a lapse: to its structures; else Bcc
        return Outgoing(
            notification_id=n.notification_id,
            message_id=message_id(n.notification_id, call.id, call.call.sender_email),
            sender=call.call.sender_email,
            sender_name=call.call.attributor_name,
            to=n.recipients if individual else (),
            bcc=() if individual else n.recipients,
            subject=subject,
            body=body,
            date=self.runtime.now(),
        )

    def _failed(self, n: Notification, exc: Exception) -> float:
        nid = n.notification_id
        attempts = self.attempts[nid] = self.attempts.get(nid, 0) + 1
        self.last_error[nid] = f"{type(exc).__name__}: {exc}"
        FAILURES.labels(n.kind).inc()
        delay = retry_delay(attempts, self.settings.retry_base, self.settings.retry_cap)
        self._retry_at[nid] = time.monotonic() + delay
        if attempts == self.settings.park_after + 1:
            log.error(
                "notifier: PARKED notification %s after %d failed attempts (%s); still retried every %.0fs",
                nid,
                attempts,
                self.last_error[nid],
                self.settings.retry_cap,
            )
        else:
            log.warning(
                "notifier: sending %s failed (attempt %d: %s), retry in %.1fs",
                nid,
                attempts,
                self.last_error[nid],
                delay,
            )
        return delay
