"""What every service shares at run time: the NATS connection (a FastStream broker), the event
store, the clock, the views, the reactor, health and metrics. Each service's `app.py` builds
one `Runtime` and hands its routes and lifespan to Litestar; nothing connects at import."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime

from faststream.nats import NatsBroker
from litestar import Litestar, Request, get
from litestar.exceptions import HTTPException, NotAuthorizedException
from litestar.openapi import OpenAPIConfig
from litestar.params import FromQuery
from litestar.plugins.prometheus import PrometheusConfig, PrometheusController

from aap_contract.config import CallConfig, load_call
from aap_contract.envelope import Event
from aap_contract.refusal import Refusal
from aap_platform import asyncapi, privacy
from aap_platform.audit import compare
from aap_platform.auth import Verifier, principal, require
from aap_platform.clock import Clock
from aap_platform.errors import http_error_handler, refusal_handler
from aap_platform.projection import Projection
from aap_platform.reactor import Subscription, attach_reactor, ensure_parked_stream, reactor_lag
from aap_platform.settings import Settings
from aap_platform.store import EventStore

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    service: str
    settings: Settings
    call: CallConfig = field(init=False)
    views: list[Projection] = field(default_factory=list)
    reactor: Subscription | None = None  # the service's reaction to the stream, if any
    busy: Callable[[], int] | None = None  # work in hand outside the stream (e.g. mails to send)
    status: Callable[[], dict] | None = None  # a service's own health, added to /health/ready
    clock: Clock = field(default_factory=Clock)
    broker: NatsBroker = field(init=False)
    store: EventStore = field(init=False)

    def __post_init__(self) -> None:
        self.call = load_call(self.settings.call)
        servers = [u.strip() for u in self.settings.nats_url.split(",") if u.strip()]
        # No per-message dependency injection (the reactor's handler takes the message as it is)
        # and the per-message "Received"/"Processed" lines at DEBUG: both cost more than the handler.
        self.broker = NatsBroker(servers, max_reconnect_attempts=-1, apply_types=False, log_level=logging.DEBUG)

    def now(self):
        return self.clock.now()

    async def start(self) -> None:
        await self.broker.connect()
        js = self.broker.connection.jetstream()
        self.store = EventStore(js, self.call.id, self.settings.nats_replicas, service=self.service)
        await self.store.ensure_stream()
        await ensure_parked_stream(self.store)
        await privacy.attach(self.store)  # personal fields sealed on append, revealed on read
        for view in self.views:
            await view.start(self.store)
        await asyncio.gather(*(v.ready.wait() for v in self.views))
        await self.clock.start(js, self.call.id)
        if self.reactor is not None:
            attach_reactor(self.broker, self.store, self.service, self.reactor)
        await self.broker.start()
        log.info("%s ready at stream position %d", self.service, self.position)

    async def stop(self) -> None:
        vault = privacy.vault_of(self.store) if hasattr(self, "store") else None
        if vault is not None:
            await vault.close()
        await self.clock.stop()
        for view in self.views:
            await view.stop()
        await self.broker.stop()

    @property
    def position(self) -> int:
        return min((v.position for v in self.views), default=0)

    async def append(self, event: Event, expected_version: int | None) -> int:
        return await self.store.append(event, expected_version)

    async def readiness(self) -> dict:
        lag = await reactor_lag(self.store, self.service) if self.reactor else 0
        return {
            "service": self.service,
            "ready": all(v.ready.is_set() for v in self.views),
            "position": self.position,
            "reactor_lag": lag,
            "clock_revision": self.clock.revision,
            "busy": self.busy() if self.busy else 0,
            "now": self.now().isoformat(),
            **(self.status() if self.status else {}),
        }

    def routes(self) -> list:
        runtime = self

        @get("/health/live", sync_to_thread=False, include_in_schema=False)
        def live() -> dict:
            return {"service": runtime.service, "live": True}

        @get("/health/ready", include_in_schema=False)
        async def ready() -> dict:
            return await runtime.readiness()

        @get("/audit/views", guards=[require("auditor", "admin")], summary="Views rebuilt from the log")
        async def audit_views(
            request: Request, as_of: FromQuery[datetime | None] = None, with_state: FromQuery[bool] = False
        ) -> list[dict]:
            """Each view rebuilt from the first event (up to `as_of` if given), with its digest
            beside the live view's: equal digests mean the replay gives the live view exactly.
            The states hold no personal field for an auditor (masked); an admin reads them revealed."""
            rows = await compare(runtime.views, runtime.store, as_of, with_state=with_state)
            if with_state:
                auditor = principal(request).role == "auditor"
                for row in rows:
                    state = row["state"]
                    row["state"] = privacy.mask(state) if auditor else await privacy.reveal(runtime.store, state)
            return rows

        @get("/asyncapi.json", sync_to_thread=False, summary="AsyncAPI 3.0 document of the service's events")
        def asyncapi_json() -> dict:
            consumes = runtime.reactor.types if runtime.reactor else ()
            return asyncapi.document(runtime.service, runtime.call, consumes=consumes, views=bool(runtime.views))

        return [live, ready, audit_views, asyncapi_json, PrometheusController]


def build_app(
    runtime: Runtime,
    handlers: list,
    *,
    title: str,
    version: str = "1.0.0",
    on_start: Callable[[], Awaitable[None]] | None = None,
    middleware: list | tuple = (),
    exception_handlers: dict | None = None,
    **kwargs,
) -> Litestar:
    """The service's Litestar app: its routes, health, metrics, OpenAPI, refusal handling (plus a
    service's own `middleware` and `exception_handlers`)."""

    @asynccontextmanager
    async def lifespan(app: Litestar):
        await runtime.start()
        if on_start is not None:
            await on_start()
        try:
            yield
        finally:
            await runtime.stop()

    verifier = (
        Verifier(jwks_url=runtime.settings.jwks_url, audience=runtime.settings.jwt_audience)
        if runtime.settings.jwks_url
        else None
    )
    prometheus = PrometheusConfig(
        app_name=runtime.service, prefix="aap_http", group_path=True, exclude=["/metrics", "/health"]
    )
    app = Litestar(
        route_handlers=[*handlers, *runtime.routes()],
        lifespan=[lifespan],
        middleware=[prometheus.middleware, *middleware],
        exception_handlers={Refusal: refusal_handler, HTTPException: http_error_handler, **(exception_handlers or {})},
        openapi_config=OpenAPIConfig(title=title, version=version, path="/schema"),
        **kwargs,
    )
    app.state.runtime = runtime
    app.state.verifier = verifier or _lazy_file_verifier(runtime)
    return app


class _lazy_file_verifier:
    """Reads the JWKS file on first use, so that building the app does no I/O."""

    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime
        self._verifier: Verifier | None = None

    def verify(self, token: str):
        if self._verifier is None:
            path = self._runtime.settings.jwks_file
            if path is None:
                raise NotAuthorizedException("aucune clé de vérification des jetons n'est configurée")
            self._verifier = Verifier.from_file(path, audience=self._runtime.settings.jwt_audience)
        return self._verifier.verify(token)
