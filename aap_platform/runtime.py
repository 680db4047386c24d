"""What every service shares at run time: the NATS connection (a FastStream broker), the event
store, the clock, the views, the reactor, health and metrics. Each service's `app.py` builds
one `Runtime` and hands its routes and lifespan to Litestar; nothing connects at import."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from collections.abc import Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime

from faststream.nats import NatsBroker
from faststream.nats.security import NatsUserPassword
from litestar import Litestar, Request, Response, get
from litestar.exceptions import HTTPException, NotAuthorizedException
from litestar.openapi import OpenAPIConfig
from litestar.params import FromQuery
from litestar.plugins.prometheus import PrometheusConfig, PrometheusController
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR
from nats.js.errors import NotFoundError
from prometheus_client import start_http_server

from aap_contract.config import CallConfig, load_call
from aap_contract.envelope import Event
from aap_contract.refusal import Refusal
from aap_platform import asyncapi, metrics, privacy
from aap_platform.audit import compare
from aap_platform.auth import Verifier, principal, require
from aap_platform.clock import Clock
from aap_platform.edge import (
    edge_middleware,
    internal_error_handler,
    invalid_id_handler,
    security_headers,
    too_large_handler,
)
from aap_platform.errors import http_error_handler, refusal_handler
from aap_platform.guard import Guard
from aap_platform.lease import Lease
from aap_platform.natsauth import load_credentials, tls_context
from aap_platform.openapi import COMPONENTS, documented
from aap_platform.projection import Projection
from aap_platform.provision import replica_problems
from aap_platform.reactor import (
    Subscription,
    attach_reactor,
    check_consumer,
    durable_name,
    parked_stream,
    reactor_lag,
    update_consumer,
)
from aap_platform.seal import Sealer, seal_file
from aap_platform.settings import Settings
from aap_platform.signing import KEYRING, Keyring, Signer, private_key_file
from aap_platform.snapshot import Snapshots
from aap_platform.store import EventStore, EventTooLarge, InvalidId

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
    guard: Guard = field(init=False)
    seals: bool = False  # this service seals the log (the committee: it closes the sessions)
    sealer: Sealer | None = field(default=None, init=False)
    problems: list[str] = field(default_factory=list)  # how the stream or consumer differs from what AAP requires
    _watch: asyncio.Task | None = field(default=None, init=False)
    snapshots: Snapshots | None = field(default=None, init=False)
    _resumes: set = field(default_factory=set, init=False)
    instance: str = field(default="", init=False)  # this process among the service's instances
    leases: list[Lease] = field(default_factory=list, init=False)
    _targets: dict[str, tuple[int, float]] = field(default_factory=dict, init=False)  # view: (seq, seen at)

    def __post_init__(self) -> None:
        self.call = load_call(self.settings.call)
        self.instance = self.settings.instance or f"{socket.gethostname()}-{os.getpid()}"
        servers = [u.strip() for u in self.settings.nats_url.split(",") if u.strip()]
        creds_file = self.settings.credentials_for(self.service)
        creds = load_credentials(creds_file) if creds_file.exists() else None
        # No per-message dependency injection (the reactor's handler takes the message as it is)
        # and the per-message "Received"/"Processed" lines at DEBUG: both cost more than the handler.
        secured: dict = {}
        ssl_context = tls_context(self.settings.nats_ca) if self.settings.nats_ca else None
        if creds is not None:
            security = NatsUserPassword(creds.user, creds.password, ssl_context=ssl_context)
            secured = {"security": security, "inbox_prefix": creds.inbox_prefix}
        # pending_size=0: no reconnect buffer. A publish while disconnected fails at once
        # (OutboundBufferLimitError: answered 503 "not recorded") instead of being kept and sent
        # on reconnect, after its request was answered.
        self.broker = NatsBroker(
            servers,
            max_reconnect_attempts=-1,
            pending_size=0,
            apply_types=False,
            log_level=logging.DEBUG,
            **secured,
        )
        keys = self.settings.keys_dir
        ring = keys / KEYRING
        self.guard = Guard(self.service, self.call, Keyring.from_file(ring) if ring.exists() else None)
        if self.guard.keyring is None:
            log.warning("%s: no event keyring at %s: events are read unverified", self.service, ring)
        key = private_key_file(keys, self.service)
        self._signer = Signer.from_file(self.service, key) if key.exists() else None

    def now(self):
        return self.clock.now()

    async def start(self) -> None:
        await self.broker.connect()
        metrics.BUS_CONNECTED.labels(self.service).set_function(lambda: int(self.bus_connected))  # at scrape time
        connection = self.broker.connection
        js = connection.jetstream()
        self.store = EventStore(
            js, self.call.id, self.settings.nats_replicas, service=self.service, signer=self._signer
        )
        self.store.max_payload = connection.max_payload or self.store.max_payload
        self.store.guard, self.guard.js = self.guard, js
        await self.check()
        if any(p.endswith("is missing") for p in self.problems):
            raise RuntimeError(f"{self.service}: {'; '.join(self.problems)} (run `aap setup` as the administrator)")
        # fewer replicas than configured: only the administrator may scale a stream up
        few = await replica_problems(js, self.call.id, self.settings.nats_replicas)
        if few:
            raise RuntimeError(
                f"{self.service}: {'; '.join(few)}: run `aap setup` as the administrator with "
                f"AAP_NATS_REPLICAS={self.settings.nats_replicas} (it scales them up), then start again"
            )
        await privacy.attach(self.store)  # personal fields sealed on append, revealed on read
        await self._start_views(connection, js)
        if self.settings.clock != "real":
            await self.clock.start(js, self.call.id)
        if self.reactor is not None:
            await update_consumer(self.store, self.service, self.settings.ack_wait_seconds)
            attach_reactor(self.broker, self.store, self.service, self.reactor, ack_wait=self.settings.ack_wait_seconds)
        await self.broker.start()
        if self.seals:
            seal_dir = self.settings.seal_dir or self.settings.data_dir / "seals"
            self.sealer = Sealer(
                self.store, self.service, seal_file(seal_dir, self.call.id), self.settings.seal_minutes
            )
            await self.sealer.start()
        self._watch = asyncio.create_task(self._watch_stream())
        log.info("%s ready at stream position %d", self.service, self.position)

    async def _start_views(self, connection, js) -> None:
        """Each view from its newest verified snapshot (else the first event), resumed at once
        after any reconnection; snapshots saved now and then, their chain checked after ready."""
        settings = self.settings
        if self.views and settings.snapshots:
            self.snapshots = Snapshots(
                js,
                self.service,
                self.call.id,
                self._signer,
                self.guard.keyring,
                settings.snapshot_events,
                settings.snapshot_seconds,
            )
        for view in self.views:
            view.guard = self.guard
            if self.snapshots is not None:
                await self.snapshots.load(view, self.store)
            await view.start(self.store)
        previous = connection._reconnected_cb  # noqa: SLF001 — nats-py sets it only at connect; kept, called first

        async def reconnected() -> None:
            if previous is not None:
                await previous()
            resumes = [view.resume for view in self.views]
            if self.sealer is not None:  # the committee's sealer follows the log too
                resumes.append(self.sealer.resume)
            for resume in resumes:  # not awaited here: the reconnection loop goes on meanwhile
                task = asyncio.create_task(resume())
                self._resumes.add(task)
                task.add_done_callback(self._resumes.discard)

        connection._reconnected_cb = reconnected  # noqa: SLF001
        await asyncio.gather(*(v.ready.wait() for v in self.views))
        if self.snapshots is not None:
            for view in self.views:
                self.snapshots.check_in_background(view, self.store)
            self.snapshots.start(self.views)

    async def check(self) -> list[str]:
        """Compare the call's streams (and the reactor's consumer) with what AAP requires; any
        difference makes the service not ready, is counted and logged."""
        try:
            problems = await self.store.stream_problems()
            try:
                await self.store.js.stream_info(parked_stream(self.store))
            except NotFoundError:
                problems.append(f"stream {parked_stream(self.store)} is missing")
            if self.reactor is not None and self._watch is not None:
                try:
                    problems += await check_consumer(self.store, self.service, self.settings.ack_wait_seconds)
                except NotFoundError:
                    problems.append(f"consumer {durable_name(self.service)} is missing")
        except Exception as exc:  # noqa: BLE001 — no answer is itself a problem
            problems = [f"cannot check the stream: {exc!r}"]
        if problems and problems != self.problems:
            for problem in problems:
                log.error("%s: %s", self.service, problem)
        self.problems = problems
        metrics.STREAM_PROBLEMS.labels(self.service).set(len(problems))
        return problems

    async def _watch_stream(self) -> None:
        while True:
            # a check that could not reach the bus is done again soon, not in check_seconds
            failed = any(p.startswith("cannot check the stream") for p in self.problems)
            await asyncio.sleep(min(1.0, self.settings.check_seconds) if failed else self.settings.check_seconds)
            await self.check()

    async def hold_lease(self, on_acquired: Callable[[], None] | None = None) -> Lease:
        """The service's lease among its instances (`aap_platform.lease`), renewed until `stop`."""
        lease = Lease(
            self.store.js,
            self.call.id,
            self.service,
            self.instance,
            ttl=self.settings.lease_seconds,
            on_acquired=on_acquired,
        )
        await lease.start()
        self.leases.append(lease)
        return lease

    async def stop(self) -> None:
        if self._watch is not None:
            self._watch.cancel()
        for lease in self.leases:
            await lease.stop()
        if self.sealer is not None:
            await self.sealer.stop()
        vault = privacy.vault_of(self.store) if hasattr(self, "store") else None
        if vault is not None:
            await vault.close()
        await self.clock.stop()
        if self.snapshots is not None:
            await self.snapshots.stop(self.views)  # a graceful stop saves each view
        for view in self.views:
            await view.stop()
        await self.broker.stop()

    @property
    def position(self) -> int:
        return min((v.position for v in self.views), default=0)

    async def append(self, event: Event, expected_version: int | None) -> int:
        return await self.store.append(event, expected_version)

    @property
    def bus_connected(self) -> bool:
        connection = getattr(self.broker, "_connection", None)
        return bool(connection is not None and connection.is_connected)

    async def _bounded(self, what: str, request: Awaitable, problems: list[str], missing: str | None = None):
        """One bus request of the readiness check, bounded (None when it did not answer)."""
        timeout = self.settings.ready_timeout
        try:
            return await asyncio.wait_for(request, timeout)
        except TimeoutError:
            problems.append(f"the bus did not answer within {timeout:g} s ({what})")
        except NotFoundError:
            problems.append(missing or f"{what}: missing")
        except Exception as exc:  # noqa: BLE001 — no answer is itself a problem
            problems.append(f"{what}: {exc!r}")
        return None

    async def readiness(self) -> dict:
        """Ready: connected to the bus, every view caught up (within `ready_max_behind` events of
        the stream's last sequence), the reactor's lag within `ready_max_lag`, the stream as AAP
        requires. Each bus request is bounded (`ready_timeout`): the answer comes within 1 s."""
        problems = list(self.problems)
        lag, last = 0, None
        if not self.bus_connected:
            problems.append("the bus (NATS) is unreachable: reconnecting")
        elif hasattr(self, "store"):
            missing = f"stream {self.store.stream} is missing"
            requests = [self._bounded("stream info", self.store.last_sequence(), problems, missing)]
            if self.reactor and self._watch is not None:
                missing = f"consumer {durable_name(self.service)} is missing"
                requests.append(
                    self._bounded("reactor consumer", reactor_lag(self.store, self.service), problems, missing)
                )
            answers = await asyncio.gather(*requests)
            last = answers[0]
            lag = (answers[1] if len(answers) > 1 else 0) or 0
            if lag > self.settings.ready_max_lag:
                problems.append(f"the reactor has {lag} events pending (bound {self.settings.ready_max_lag})")
        behind = 0
        if last is not None:
            now = time.monotonic()
            for view in self.views:
                gap = last - view.position
                behind = max(behind, gap)
                if view.ready.is_set() and gap > self.settings.ready_max_behind:
                    problems.append(
                        f"view {view.name} is {gap} events behind the stream "
                        f"(at {view.position}, stream at {last}; bound {self.settings.ready_max_behind})"
                    )
                # a view that stopped following: it has not reached a sequence the stream had long ago
                target = self._targets.get(view.name)
                if gap <= 0:
                    self._targets.pop(view.name, None)
                elif target is None or view.position >= target[0]:
                    self._targets[view.name] = (last, now)
                elif view.ready.is_set() and now - target[1] > self.settings.ready_max_stale:
                    problems.append(
                        f"view {view.name} has not reached #{target[0]}, in the stream {now - target[1]:.0f} s ago "
                        f"(at {view.position}; bound {self.settings.ready_max_stale:g} s)"
                    )
        views_ready = all(v.ready.is_set() for v in self.views)
        if not views_ready:
            problems.append("views catching up with the stream")
        return {
            "service": self.service,
            "instance": self.instance,
            "ready": views_ready and not problems,
            "problems": problems,
            "bus_connected": self.bus_connected,
            "position": self.position,
            "stream_last_seq": last,
            "behind": behind,
            "reactor_lag": lag,
            **({"lease_holder": any(lease.held() for lease in self.leases)} if self.leases else {}),
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
        async def ready() -> Response:
            started = time.monotonic()
            try:
                state = await asyncio.wait_for(runtime.readiness(), 0.9)
            except TimeoutError:
                state = {
                    "service": runtime.service,
                    "instance": runtime.instance,
                    "ready": False,
                    "problems": ["the readiness check did not finish within 0.9 s"],
                }
            metrics.READY.labels(runtime.service).set(int(state["ready"]))
            state["checked_in_ms"] = round((time.monotonic() - started) * 1000, 1)
            return Response(state, status_code=200 if state["ready"] else 503)

        @get(
            "/audit/views",
            guards=[require("auditor", "admin")],
            summary="Views rebuilt from the log",
            **documented(statuses={422: "as_of is no instant with its offset"}),
        )
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

        @get(
            "/asyncapi.json",
            sync_to_thread=False,
            summary="AsyncAPI 3.0 document of the service's events",
            **documented(public=True),
        )
        def asyncapi_json() -> dict:
            consumes = runtime.reactor.types if runtime.reactor else ()
            return asyncapi.document(runtime.service, runtime.call, consumes=consumes, views=bool(runtime.views))

        class Metrics(PrometheusController):
            """Prometheus: auditors and administrators only (or, with AAP_METRICS_PORT, a port of
            its own on the deployment's private network)."""

            guards = [require("auditor", "admin")]
            include_in_schema = False

        return [live, ready, audit_views, asyncapi_json, Metrics]


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
        if runtime.settings.metrics_port:
            start_http_server(runtime.settings.metrics_port, addr=runtime.settings.metrics_host)
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
    own_hooks = list(kwargs.pop("before_send", []))
    app = Litestar(
        route_handlers=[*handlers, *runtime.routes()],
        lifespan=[lifespan],
        middleware=[edge_middleware, prometheus.middleware, *middleware],
        exception_handlers={
            Refusal: refusal_handler,
            HTTPException: http_error_handler,
            InvalidId: invalid_id_handler,
            EventTooLarge: too_large_handler,
            HTTP_500_INTERNAL_SERVER_ERROR: internal_error_handler,
            **(exception_handlers or {}),
        },
        # a service's own hooks first (the console's headers), then ours for what is still missing
        before_send=[*own_hooks, security_headers],
        openapi_config=OpenAPIConfig(title=title, version=version, path="/schema", components=COMPONENTS),
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
