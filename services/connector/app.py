"""Wiring of the connector: Démarche Numérique's dossiers in, AAP's decisions back. Nothing runs
at import. Run: `uvicorn --factory services.connector.app:create_app --port 8007`."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from litestar import Litestar

from aap_contract.config import ConfigError
from aap_platform.runtime import Runtime, build_app
from aap_platform.settings import Settings
from services.connector import consumers, metrics
from services.connector.client import DnClient
from services.connector.cursor import Cursors
from services.connector.handlers import Handlers
from services.connector.http import ROUTES
from services.connector.intake import IntakeClient
from services.connector.loop import SyncLoop
from services.connector.settings import ConnectorSettings, IntakeToken
from services.connector.sync import Sync
from services.connector.view import projection

SERVICE = "connector"


@dataclass
class Clients:
    """Made when the app starts, only with a DN token."""

    dn: DnClient | None = None
    intake: IntakeClient | None = None


log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None, env: dict[str, str] | None = None) -> Litestar:
    settings = settings or Settings.from_env()
    logging.getLogger("httpx").setLevel(logging.WARNING)  # its INFO lines carry DN's signed file URLs
    runtime = Runtime(SERVICE, settings)
    connector = runtime.call.connector
    if connector is None:
        raise ConfigError(f"l'appel {runtime.call.id} n'a pas de section [connector] : rien à connecter")
    own = ConnectorSettings.from_env(connector, settings.data_dir, env)
    view = projection(runtime.call)
    runtime.views.append(view)
    clients = Clients()
    handlers = Handlers(lambda: runtime.store, runtime.call, runtime.now, lambda: clients.dn)
    handlers.view = view
    runtime.reactor = consumers.subscription(handlers)
    metrics.DN_UNMAPPABLE.set_function(lambda: len(view.state.failures()))

    def status() -> dict:
        return {
            "dn": {
                **(clients.dn.status.as_dict() if clients.dn is not None else {"configured": False}),
                **(handlers.loop.as_dict() if handlers.loop is not None else {}),
            }
        }

    runtime.status = status

    async def on_start() -> None:
        if own.dn_token is None:
            log.warning("connector: no DN token (AAP_DN_TOKEN or AAP_DN_TOKEN_FILE): no sync, no write-back")
            return
        dn = clients.dn = DnClient(own.dn_url, own.dn_token, requests_per_minute=connector.requests_per_minute)
        intake = clients.intake = IntakeClient(own.intake_url, IntakeToken(own))
        cursors = Cursors(runtime.store.js, runtime.call.id, settings.nats_replicas)
        handlers.loop = SyncLoop(
            lambda: Sync(runtime.call, dn, intake, handlers, cursors),
            connector.poll_interval_seconds,
        )
        # two instances: one polls DN (the lease's holder), the other takes over if it dies
        handlers.loop.lease = await runtime.hold_lease(on_acquired=handlers.loop.trigger)
        handlers.loop.start()

    async def on_stop() -> None:
        if handlers.loop is not None:
            await handlers.loop.stop()
        for client in (clients.dn, clients.intake):
            if client is not None:
                await client.close()

    app = build_app(
        runtime, ROUTES, title="AAP — connecteur Démarche Numérique", on_start=on_start, on_shutdown=[on_stop]
    )
    app.state.handlers = handlers
    return app
