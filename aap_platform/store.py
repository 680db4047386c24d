"""The event store: one append-only JetStream stream per call.

Subjects are `aap.<call>.<aggregate_type>.<aggregate_id>`; the per-subject last sequence is
the aggregate's version, checked by JetStream on every append (optimistic concurrency).
One command appends one event, so an append is atomic by construction. The event id is the
`Nats-Msg-Id`: a retried append after a lost ack is stored once.
"""

from __future__ import annotations

import re
from contextvars import ContextVar
from datetime import datetime
from typing import Any

import msgspec
from nats import errors as nats_errors
from nats.js import JetStreamContext, api
from nats.js.errors import APIError, NotFoundError

from aap_contract.conformity import valid_id
from aap_contract.envelope import Event
from aap_contract.events import EventData
from aap_platform import metrics
from aap_platform.codec import content_hash, decode, encode
from aap_platform.ids import new_id
from aap_platform.signing import Signer, Signers

WRONG_LAST_SEQUENCE = 10071
GENESIS = "0" * 64


class ConcurrencyError(Exception):
    """The aggregate moved since it was loaded: reload, decide again, retry."""


class EventTooLarge(Exception):
    """The event would not fit in one message of the bus: refused before anything is stored."""


class NotPublisher(Exception):
    """A service tried to append an event type it does not publish (or without a key)."""


# A publish that raised one of these was never sent (nats-py checks before writing; with no
# reconnect buffer, `pending_size=0`, nothing is kept to be sent later): nothing was recorded.
NOT_SENT = (
    nats_errors.OutboundBufferLimitError,
    nats_errors.ConnectionClosedError,
    nats_errors.ConnectionDrainingError,
    nats_errors.ConnectionReconnectingError,
    nats_errors.MaxPayloadError,
)


class Outcome:
    """What one request did to the stream: `sent`, an append was sent (recorded, or perhaps
    recorded: its acknowledgement may not have come back). A request that fails with nothing
    sent recorded nothing; one that fails after has an unknown outcome."""

    __slots__ = ("sent",)

    def __init__(self) -> None:
        self.sent = False


_OUTCOME: ContextVar[Outcome | None] = ContextVar("aap_outcome", default=None)


def track_outcome() -> Outcome:
    """Start tracking the current request's appends (the HTTP edge does, per request)."""
    outcome = Outcome()
    _OUTCOME.set(outcome)
    return outcome


def current_outcome() -> Outcome | None:
    return _OUTCOME.get()


REQUIRED_STREAM = {
    "storage": "file",
    "retention": "limits",
    "deny_delete": True,
    "deny_purge": True,
    "allow_rollup_hdrs": False,
    "max_msgs": -1,
    "max_bytes": -1,
    "max_age": 0.0,
    "max_msgs_per_subject": -1,
    "discard": "old",
}


def stream_name(call_id: str) -> str:
    return "AAP_" + re.sub(r"[^A-Za-z0-9]", "_", call_id).upper()


class InvalidId(ValueError):
    """An id that cannot be an aggregate's: it would not be one subject token (a dot, a
    wildcard, a space…). Never reaches NATS; answered as an unknown target (404)."""


def subject_for(call_id: str, aggregate_type: str, aggregate_id: str) -> str:
    if not valid_id(aggregate_id):
        raise InvalidId(f"invalid {aggregate_type} id {aggregate_id[:80]!r}")
    return f"aap.{call_id}.{aggregate_type}.{aggregate_id}"


class Loaded(msgspec.Struct):
    """An aggregate's events as loaded, with what the next append must name."""

    aggregate_type: str
    aggregate_id: str
    events: list[Event]
    version: int = 0  # stream sequence of the last event on the subject, 0 if none
    last_hash: str = GENESIS

    def next(
        self, data: EventData, *, actor: str, at: datetime, causation: Event | None = None, event_id: str | None = None
    ) -> Event:
        return Event(
            event_id=event_id or new_id(),
            type=type(data).__name__,
            version=type(data).version,
            aggregate_type=self.aggregate_type,
            aggregate_id=self.aggregate_id,
            sequence=len(self.events) + 1,
            occurred_at=at,
            actor=actor,
            correlation_id=causation.correlation_id if causation else (event_id or new_id()),
            causation_id=causation.event_id if causation else None,
            prev_hash=self.last_hash,
            data=data,
        )


# Aggregates few and long (one envelope per call, a few sessions): their loads are incremental.
CACHED_AGGREGATES = ("envelope", "session")


class EventStore:
    def __init__(
        self,
        js: JetStreamContext,
        call_id: str,
        replicas: int = 1,
        service: str | None = None,
        cached: tuple[str, ...] = CACHED_AGGREGATES,
        signer: Signer | Signers | None = None,
    ) -> None:
        self.js = js
        self.call_id = call_id
        self.stream = stream_name(call_id)
        self.replicas = replicas
        self.service = service  # the publishing service, for the published-events metric
        self.cached = cached
        self._loaded: dict[tuple[str, str], Loaded] = {}
        self.signer = signer  # None: events appended unsigned (readers with a keyring refuse them)
        self.guard: Any = None  # an aap_platform.guard.Guard: loads skip the events it refuses
        self.max_payload = 1024 * 1024

    @property
    def all_subjects(self) -> str:
        return f"aap.{self.call_id}.>"

    def stream_config(self) -> api.StreamConfig:
        return api.StreamConfig(
            name=self.stream,
            subjects=[self.all_subjects],
            storage=api.StorageType.FILE,
            retention=api.RetentionPolicy.LIMITS,
            deny_delete=True,
            deny_purge=True,
            duplicate_window=120.0,
            allow_direct=True,
            num_replicas=self.replicas,
        )

    async def ensure_stream(self) -> None:
        """Create the call's stream (the administration identity only may)."""
        try:
            await self.js.stream_info(self.stream)
        except NotFoundError:
            await self.js.add_stream(self.stream_config())

    async def stream_problems(self) -> list[str]:
        """How the stream differs from what AAP requires (empty: as required). A missing stream,
        limits that would drop events, deletes or purges allowed, fewer replicas."""
        try:
            info = await self.js.stream_info(self.stream)
        except NotFoundError:
            return [f"stream {self.stream} is missing"]
        config = info.config
        problems = []
        for name, want in REQUIRED_STREAM.items():
            have = getattr(config, name, None)
            have = getattr(have, "value", have)
            if name in ("max_msgs", "max_bytes", "max_msgs_per_subject") and have in (None, 0):
                have = -1
            if name == "max_age" and have is None:
                have = 0.0
            if name == "allow_rollup_hdrs" and have is None:
                have = False
            if have != want:
                problems.append(f"stream {self.stream}: {name} is {have!r}, AAP requires {want!r}")
        if list(config.subjects or []) != [self.all_subjects]:
            problems.append(f"stream {self.stream}: subjects are {config.subjects}, AAP requires [{self.all_subjects}]")
        if (config.num_replicas or 1) < self.replicas:
            problems.append(f"stream {self.stream}: {config.num_replicas} replica(s), AAP requires {self.replicas}")
        if info.state.first_seq > 1 and info.state.messages > 0:
            problems.append(f"stream {self.stream}: its first event is #{info.state.first_seq}, not #1")
        return problems

    async def append(self, event: Event, expected_version: int | None, *, found_is_conflict: bool = False) -> int:
        """Append one event; `expected_version` is the version the decision was made on
        (None: no check). Returns the event's stream sequence.

        An event with this id already stored (a retry, or a concurrent request with the same
        idempotency key) is not stored again; its sequence is returned — or, with
        `found_is_conflict`, ConcurrencyError is raised, so that the command is decided again on
        what is stored (and answered as a replay)."""
        subject = subject_for(self.call_id, event.aggregate_type, event.aggregate_id)
        payload = encode(event)
        if len(payload) + 2048 > self.max_payload:  # headers included
            raise EventTooLarge(
                f"{event.type} would be {len(payload)} bytes, over the bus's limit of {self.max_payload} bytes"
            )
        link = content_hash(payload, event.prev_hash)
        headers = {"Nats-Msg-Id": event.event_id, "Aap-Type": event.type, "Aap-Hash": link}
        if self.signer is not None:
            signer = self.signer.for_type(event.type) if isinstance(self.signer, Signers) else self.signer
            if signer is None or not signer.may_sign(event.type):
                raise NotPublisher(f"{self.service or 'this store'} does not publish {event.type}")
            headers.update(signer.headers(subject, link))
        if expected_version is not None:
            headers["Nats-Expected-Last-Subject-Sequence"] = str(expected_version)
        outcome = _OUTCOME.get()
        try:
            ack = await self.js.publish(subject, payload, stream=self.stream, headers=headers)
            if self.service:
                metrics.EVENTS_PUBLISHED.labels(self.service, event.type).inc()
        except APIError as exc:  # the server's answer: not stored
            if exc.err_code != WRONG_LAST_SEQUENCE:
                raise
            # JetStream checks the expected sequence before its duplicate window: a retry of
            # an append whose ack was lost lands here, and finds its own event stored.
            stored = await self._find(event, after=expected_version or 0)
            if stored is None:
                metrics.CONFLICTS.labels(self.service or "unknown").inc()
                raise ConcurrencyError(f"{subject} moved past version {expected_version}") from None
            if found_is_conflict:
                raise ConcurrencyError(f"{subject}: event {event.event_id} already stored") from None
            return stored
        except NOT_SENT:
            raise
        except BaseException:
            if outcome is not None:  # sent, and no answer: perhaps stored
                outcome.sent = True
            raise
        if outcome is not None:
            outcome.sent = True
        if ack.duplicate and found_is_conflict:
            raise ConcurrencyError(f"{subject}: event {event.event_id} already stored")
        return ack.seq

    async def _find(self, event: Event, after: int) -> int | None:
        subject = subject_for(self.call_id, event.aggregate_type, event.aggregate_id)
        seq = after + 1
        while True:
            try:
                msg = await self.js.get_msg(self.stream, seq=seq, subject=subject, next=True, direct=True)
            except NotFoundError:
                return None
            assert msg.seq is not None
            if msg.headers and msg.headers.get("Nats-Msg-Id") == event.event_id:
                return msg.seq
            seq = msg.seq + 1

    async def load(self, aggregate_type: str, aggregate_id: str, after: int = 0) -> Loaded:
        if after == 0 and aggregate_type in self.cached:
            return await self._load_cached(aggregate_type, aggregate_id)
        loaded = Loaded(aggregate_type, aggregate_id, [])
        await self.load_more(loaded, after)
        return loaded

    async def _load_cached(self, aggregate_type: str, aggregate_id: str) -> Loaded:
        """The aggregate as loaded last time, plus the events stored since: one read per new
        event instead of one per event (the log is append-only: a loaded prefix stays true)."""
        key = (aggregate_type, aggregate_id)
        known = self._loaded.get(key) or Loaded(aggregate_type, aggregate_id, [])
        loaded = Loaded(aggregate_type, aggregate_id, list(known.events), known.version, known.last_hash)
        await self.load_more(loaded)
        latest = self._loaded.get(key)
        if latest is None or loaded.version > latest.version:
            self._loaded[key] = Loaded(
                aggregate_type, aggregate_id, list(loaded.events), loaded.version, loaded.last_hash
            )
        return loaded

    async def load_more(self, loaded: Loaded, after: int | None = None) -> Loaded:
        """Read the aggregate's events past `after` (default: its current version)."""
        subject = subject_for(self.call_id, loaded.aggregate_type, loaded.aggregate_id)
        seq = (loaded.version if after is None else after) + 1
        while True:
            try:
                msg = await self.js.get_msg(self.stream, seq=seq, subject=subject, next=True, direct=True)
            except NotFoundError:
                return loaded
            assert msg.seq is not None and msg.data is not None
            loaded.version = msg.seq  # the subject's last sequence, refused events included
            seq = msg.seq + 1
            try:
                event = decode(msg.data)
            except Exception as exc:  # noqa: BLE001 — an unreadable event is refused like a forged one
                if self.guard is not None:
                    await self.guard.refuse(msg.seq, subject, msg.data, f"unreadable event: {exc}")
                    continue
                raise
            if self.guard is not None:
                problem = self.guard.problem(subject, msg.headers, msg.data, event)
                if problem is not None:
                    await self.guard.refuse(msg.seq, subject, msg.data, problem)
                    continue
            loaded.events.append(event)
            loaded.last_hash = content_hash(msg.data, event.prev_hash)

    async def last_sequence(self) -> int:
        info = await self.js.stream_info(self.stream)
        return info.state.last_seq
