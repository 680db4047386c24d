"""View snapshots: a service's views saved now and then, so that a restart resumes from the
newest one instead of replaying the log from the first event.

Each service writes its snapshots into a JetStream object-store bucket of its own
(`aap_snapshots_<service>_<call>`, created by `aap setup`; only that service may write it), one
object per view, replaced at each save: every `snapshot_events` events and every
`snapshot_seconds` seconds if the view moved, and at a graceful stop.

A snapshot holds the view's state (pickled and zlib-compressed — loaded only once its signature
is checked; pickled in a forked child, so that a large view does not stall the service), its
stream position, the link (`Aap-Hash`) of the message at that position and the seal digest
(`aap_platform.seal.Digest`) of messages 1..position; it is signed with the service's own event
key. At start it is used only if: its signature is the service's own, the message at its
position still has the recorded link, and its digest equals that of a `LogSealed` event sealing
that very position, if any. Then, in the background after ready, the chain is recomputed from the
messages' headers (no payload read) and compared with the snapshot's digest and with every seal
up to its position. Any failure — unreadable, unsigned, another key, a link or digest that does
not match — means the view is rebuilt from the first event, with an error logged and
`aap_snapshot_refused{service,reason}` counted. `aap audit replay` and `/audit/views` never read
snapshots: they always rebuild from the first event.
"""

from __future__ import annotations

import asyncio
import gc
import io
import logging
import os
import pickle
import time
import zlib
from datetime import UTC, datetime
from typing import Any

import msgspec
from cryptography.exceptions import InvalidSignature
from nats.js import JetStreamContext, api
from nats.js.errors import BucketNotFoundError, NotFoundError, ObjectNotFoundError

from aap_contract.events import LogSealed
from aap_platform import metrics
from aap_platform.natsauth import SNAPSHOTS
from aap_platform.objects import bucket_name as _bucket_name
from aap_platform.projection import Projection
from aap_platform.seal import Digest
from aap_platform.signing import Keyring, Signer
from aap_platform.store import EventStore

log = logging.getLogger(__name__)
PREFIX = SNAPSHOTS
CHECK_BPS = 64_000_000  # the background check of the chain: about 8 MB/s of headers (≈ 25 000 messages/s)
CHUNK = 512 * 1024  # object chunks: fewer messages than nats-py's 128 KiB, under the 1 MiB payload


def bucket_name(service: str, call_id: str) -> str:
    return _bucket_name(f"{PREFIX}_{service}", call_id)


class Snapshot(msgspec.Struct, frozen=True):
    service: str
    view: str
    call_id: str
    position: int
    link: str  # `Aap-Hash` of the message at `position`
    digest: str  # seal digest of messages 1..position
    taken_at: str
    state: bytes  # the view's state: zlib of its pickle


class Signed(msgspec.Struct, frozen=True):
    body: bytes  # msgpack of a Snapshot
    kid: str
    sig: str  # base64 Ed25519 signature of `body`


class Refused(Exception):
    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason


def seal(snapshot: Snapshot, signer: Signer) -> bytes:
    body = msgspec.msgpack.encode(snapshot)
    kid, sig = signer.sign(body)
    return msgspec.msgpack.encode(Signed(body, kid, sig))


def opened(data: bytes, service: str, keyring: Keyring | None) -> Snapshot:
    """The snapshot in `data` if signed by `service`'s own key (else `Refused`)."""
    try:
        signed = msgspec.msgpack.decode(data, type=Signed)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise Refused("unreadable", str(exc)) from None
    if keyring is None:
        raise Refused("unsigned", "no keyring to check the signature with")
    try:
        keyring.verify(service, signed.kid, signed.body, signed.sig)
    except (InvalidSignature, KeyError, ValueError) as exc:
        raise Refused("signature", repr(exc)) from None
    try:
        return msgspec.msgpack.decode(signed.body, type=Snapshot)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise Refused("unreadable", str(exc)) from None


def dumps(state: Any) -> bytes:
    gc.disable()  # a large view is millions of objects: no collection pass while walking them
    try:
        return zlib.compress(pickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL), 1)
    finally:
        gc.enable()


def loads(data: bytes) -> Any:
    gc.disable()
    try:
        return pickle.loads(zlib.decompress(data))  # noqa: S301 — only bytes signed by the service's own key
    finally:
        gc.enable()


def _read_child(fd: int, pid: int) -> bytes:
    with os.fdopen(fd, "rb") as pipe:
        data = pipe.read()
    _, status = os.waitpid(pid, 0)
    if not os.WIFEXITED(status) or os.WEXITSTATUS(status) != 0:
        raise RuntimeError(f"the snapshot's child process failed ({status})")
    return data


async def dumps_aside(state: Any) -> bytes:
    """`dumps(state)` in a forked child (a copy-on-write image of the process at this instant),
    the service going on meanwhile; in the process itself where there is no fork."""
    if not hasattr(os, "fork"):
        return dumps(state)
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: pickle, write, leave at once (no cleanup of the parent's resources)
        try:
            os.close(r)
            data = dumps(state)
            with os.fdopen(w, "wb") as pipe:
                pipe.write(data)
            os._exit(0)
        except BaseException:  # noqa: BLE001
            os._exit(1)
    os.close(w)
    return await asyncio.to_thread(_read_child, r, pid)


class Taken(msgspec.Struct, frozen=True):
    """Where a view stood when its snapshot was taken (its state is dumped aside)."""

    position: int
    link: str
    digest: str
    state: Any


def capture(view: Projection) -> Taken | None:
    """The view as it stands (synchronously: no event applied meanwhile); None while its chain
    digest is not known (a view loaded from a snapshot, before the background check)."""
    if view.digest is None or view.position == 0 or not view.ready.is_set():
        return None
    return Taken(view.position, view.link, view.digest.hexdigest(), view.state)


def snapshot_of(view: Projection, service: str, call_id: str, taken: Taken, state: bytes) -> Snapshot:
    return Snapshot(
        service=service,
        view=view.name,
        call_id=call_id,
        position=taken.position,
        link=taken.link,
        digest=taken.digest,
        taken_at=datetime.now(UTC).isoformat(),
        state=state,
    )


async def seals(store: EventStore) -> dict[int, str]:
    """The log's seals: sealed position → digest."""
    loaded = await store.load("seal", store.call_id)
    return {e.data.last_seq: e.data.digest for e in loaded.events if isinstance(e.data, LogSealed)}


async def chain_digest(store: EventStore, until: int, check: dict[int, str], timeout: float = 600) -> Digest:
    """The seal digest of messages 1..`until`, recomputed from their headers; `Refused` if it
    differs from `check[seq]` at any of the given positions."""
    digest = Digest()
    if until <= 0:
        return digest
    done = asyncio.get_running_loop().create_future()

    async def on_msg(msg) -> None:
        if done.done():
            return
        seq = msg.metadata.sequence.stream
        if seq > until or seq <= digest.seq:
            return
        digest.add(seq, (msg.headers or {}).get("Aap-Hash", ""))
        expected = check.get(seq)
        if expected is not None and digest.hexdigest() != expected:
            done.set_exception(Refused("chain", f"the log's digest at #{seq} differs from the recorded one"))
        elif seq >= until:
            done.set_result(None)

    sub = await store.js.subscribe(
        store.all_subjects,
        stream=store.stream,
        cb=on_msg,
        ordered_consumer=True,
        deliver_policy=api.DeliverPolicy.ALL,
        headers_only=True,
        # paced (bits/s): in the background, beside the service's own reads (a committee also
        # follows every header to seal the log) without flooding its connection (slow consumer)
        config=api.ConsumerConfig(rate_limit_bps=CHECK_BPS),
        pending_msgs_limit=-1,
        pending_bytes_limit=-1,
    )
    try:
        await asyncio.wait_for(done, timeout)
    finally:
        await sub.unsubscribe()
    return digest


class Snapshots:
    """A service's snapshots: load at start, check in the background, save now and then."""

    def __init__(
        self,
        js: JetStreamContext,
        service: str,
        call_id: str,
        signer: Signer | None,
        keyring: Keyring | None,
        every_events: int = 10_000,
        every_seconds: float = 60.0,
    ) -> None:
        self.js = js
        self.service = service
        self.call_id = call_id
        self.bucket = bucket_name(service, call_id)
        self.signer = signer
        self.keyring = keyring
        self.every_events = every_events
        self.every_seconds = every_seconds
        self.saved: dict[str, int] = {}  # view → position of its last snapshot
        self.loaded: dict[str, Snapshot] = {}  # view → the snapshot it started from
        self._obs: Any = None
        self._task: asyncio.Task | None = None
        self._checks: set[asyncio.Task] = set()

    async def _store(self) -> Any:
        if self._obs is None:
            self._obs = await self.js.object_store(self.bucket)
        return self._obs

    def _refuse(self, view: Projection, reason: str, detail: str) -> None:
        metrics.SNAPSHOTS_REFUSED.labels(self.service, reason).inc()
        log.error(
            "%s: snapshot of view %s refused (%s: %s); the view is rebuilt from the first event",
            self.service,
            view.name,
            reason,
            detail,
        )

    async def load(self, view: Projection, store: EventStore) -> bool:
        """Start `view` from its newest snapshot if it passes the checks (else from scratch)."""
        try:
            into = io.BytesIO()  # (without it, nats-py joins the chunks in quadratic time)
            await (await self._store()).get(view.name, writeinto=into)
            data = into.getvalue()
        except BucketNotFoundError:
            log.warning(
                "%s: no snapshot bucket %s (run `aap setup`): replay from the first event", self.service, self.bucket
            )
            return False
        except (ObjectNotFoundError, NotFoundError):
            log.info("%s: no snapshot of view %s: replay from the first event", self.service, view.name)
            return False
        except Exception as exc:  # noqa: BLE001 — e.g. replaced while read, or chunks not matching its digest
            self._refuse(view, "unreadable", repr(exc))
            return False
        try:
            snap = opened(data or b"", self.service, self.keyring)
            if snap.view != view.name or snap.call_id != self.call_id or snap.service != self.service:
                raise Refused("mismatch", f"a snapshot of {snap.service}/{snap.view}/{snap.call_id}")
            await self._check_link(store, snap)
            sealed = (await seals(store)).get(snap.position)
            if sealed is not None and sealed != snap.digest:
                raise Refused("seal", f"the seal of #{snap.position} has another digest")
            try:
                state = loads(snap.state)  # signed by the service's own key, checked above
            except Exception as exc:  # noqa: BLE001
                raise Refused("unreadable", repr(exc)) from None
        except Refused as exc:
            self._refuse(view, exc.reason, str(exc))
            return False
        view.loaded(state, snap.position, snap.link)
        self.loaded[view.name] = snap
        self.saved[view.name] = snap.position
        metrics.SNAPSHOTS_LOADED.labels(self.service).inc()
        log.info("%s: view %s starts from its snapshot at #%d", self.service, view.name, snap.position)
        return True

    async def _check_link(self, store: EventStore, snap: Snapshot) -> None:
        try:
            msg = await store.js.get_msg(store.stream, seq=snap.position, direct=True)
        except NotFoundError:
            raise Refused("position", f"no message #{snap.position} in the log") from None
        link = (msg.headers or {}).get("Aap-Hash", "")
        if link != snap.link:
            raise Refused("link", f"the message #{snap.position} has another link")

    def check_in_background(self, view: Projection, store: EventStore) -> asyncio.Task | None:
        """The full check of a loaded snapshot's chain, after ready."""
        snap = self.loaded.get(view.name)
        if snap is None:
            return None
        task = asyncio.create_task(self.check(view, store, snap))
        self._checks.add(task)
        task.add_done_callback(self._checks.discard)
        return task

    async def check(self, view: Projection, store: EventStore, snap: Snapshot) -> bool:
        started = time.monotonic()
        while True:
            try:
                expected = {k: v for k, v in (await seals(store)).items() if k <= snap.position}
                expected[snap.position] = snap.digest
                digest = await chain_digest(store, snap.position, expected)
                break
            except Refused as exc:
                self._refuse(view, exc.reason, str(exc))
                await self.rebuild(view, store)
                return False
            except Exception as exc:  # noqa: BLE001 — the bus away: checked again (no snapshot saved meanwhile)
                log.warning(
                    "%s: the check of view %s's snapshot failed (%r): tried again", self.service, view.name, exc
                )
                await asyncio.sleep(5)
        view.chained(digest)
        log.info(
            "%s: the chain under view %s's snapshot (#%d) checked in %.1f s",
            self.service,
            view.name,
            snap.position,
            time.monotonic() - started,
        )
        return True

    async def rebuild(self, view: Projection, store: EventStore) -> None:
        self.saved.pop(view.name, None)
        self.loaded.pop(view.name, None)
        await view.restart()

    async def save(self, view: Projection) -> bool:
        if self.signer is None:
            return False
        taken = capture(view)
        if taken is None or self.saved.get(view.name) == taken.position:
            return False
        started = time.monotonic()
        snap = snapshot_of(view, self.service, self.call_id, taken, await dumps_aside(taken.state))
        data = seal(snap, self.signer)
        meta = api.ObjectMeta(name=view.name, options=api.ObjectMetaOptions(max_chunk_size=CHUNK))
        await (await self._store()).put(view.name, data, meta=meta)
        self.saved[view.name] = snap.position
        metrics.SNAPSHOTS_SAVED.labels(self.service).inc()
        log.info(
            "%s: snapshot of view %s at #%d (%d bytes, %.1f s)",
            self.service,
            view.name,
            snap.position,
            len(data),
            time.monotonic() - started,
        )
        return True

    async def save_all(self, views: list[Projection]) -> None:
        for view in views:
            try:
                await self.save(view)
            except BucketNotFoundError:
                log.error("%s: no snapshot bucket %s (run `aap setup`): no snapshot saved", self.service, self.bucket)
                self.signer = None  # not tried again until the next start
            except Exception:  # noqa: BLE001 — a snapshot is an optimisation: never fatal
                log.exception("%s: snapshot of view %s failed", self.service, view.name)

    def start(self, views: list[Projection]) -> None:
        if self.signer is None:
            log.warning("%s: no signing key: its views are not snapshotted", self.service)
            return
        self._task = asyncio.create_task(self._loop(views))

    async def _loop(self, views: list[Projection]) -> None:
        last = {v.name: time.monotonic() for v in views}
        tick = min(1.0, self.every_seconds) if self.every_seconds > 0 else 1.0
        while True:
            await asyncio.sleep(tick)
            now = time.monotonic()
            for view in views:
                moved = view.position - self.saved.get(view.name, 0)
                if moved <= 0:
                    continue
                due = (self.every_events > 0 and moved >= self.every_events) or (
                    self.every_seconds > 0 and now - last[view.name] >= self.every_seconds
                )
                if due:
                    last[view.name] = now
                    await self.save_all([view])

    async def stop(self, views: list[Projection], timeout: float = 8.0) -> None:
        """Cancel the loop and the checks; save each view (a graceful stop; not waiting past
        `timeout` for a broker that does not answer)."""
        for task in [self._task, *self._checks]:
            if task is not None:
                task.cancel()
        try:
            await asyncio.wait_for(self.save_all(views), timeout)
        except TimeoutError:
            log.warning("%s: the views' snapshots at stop took more than %.0f s: given up", self.service, timeout)
