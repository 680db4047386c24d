"""What the fault suite needs around a running `aap.system.System`: a real SMTP server on
loopback that can be stopped and started again, a client that submits the way a good client
does (an Idempotency-Key per dossier, retried on 503, timeouts and refused connections, from
one instance to the next), a reader of the call's whole stream (the auditor identity), and the
checks every fault test makes from that stream."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from email import message_from_bytes, policy
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import msgspec
from aiosmtpd.controller import Controller
from nats.js import api

from aap.system import System
from aap_contract.config import load_call
from aap_platform.auth import issue_token
from aap_platform.clock import set_clock
from aap_platform.natsauth import connect_as, find_credentials
from aap_platform.natsserver import free_port
from aap_platform.store import stream_name
from bench.payloads import scenario_dossier

IN_WINDOW = datetime(2021, 4, 15, 10, 0, tzinfo=ZoneInfo("Europe/Paris"))
RECOVERY_BOUND = 15.0  # seconds: generous; the figure itself is printed and kept in results.json
RESULTS = Path(__file__).with_name("results.json")
UNKNOWN = "issue inconnue"  # the words of a 503 that says the outcome is unknown (code OUTCOME_UNKNOWN)


# --- SMTP ---------------------------------------------------------------------------------


class Inbox:
    def __init__(self) -> None:
        self.received: list = []

    async def handle_DATA(self, server, session, envelope):
        self.received.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"

    def message_ids(self) -> Counter:
        return Counter(str(m["Message-ID"]) for m in self.received)


class Smtp:
    """A real SMTP server (aiosmtpd) on a fixed loopback port; `stop()` then `start()` is an outage."""

    def __init__(self) -> None:
        self.inbox = Inbox()
        self.port = free_port()
        self.controller: Controller | None = None

    def env(self) -> dict[str, str]:
        return {"AAP_SMTP_HOST": "127.0.0.1", "AAP_SMTP_PORT": str(self.port), "AAP_SMTP_TLS": "none"}

    def start(self) -> None:
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


# --- the system under faults ----------------------------------------------------------------


async def started(folder: Path, *, instances: int = 1, nats_nodes: int = 1, env: dict | None = None) -> System:
    """The system (free ports), its clock inside the submission window, seen by every service."""
    system = System(
        folder, free_ports=True, instances=instances, nats_nodes=nats_nodes, env=dict(env or {}), start_timeout=90
    )
    await system.start()
    try:
        call = load_call(system.call)
        nc = await connect_as(system.nats_url, find_credentials(system.data_dir, "clock"))
        try:
            revision = await set_clock(nc.jetstream(), call.id, IN_WINDOW)
        finally:
            await nc.close()
        await until(lambda: all_ready(system, lambda r: r.get("clock_revision", -1) >= revision), 30, "clock seen")
    except BaseException:
        await system.stop()
        raise
    return system


async def ready_states(system: System, names: list[str] | None = None) -> dict[str, dict | None]:
    out: dict[str, dict | None] = {}
    async with httpx.AsyncClient(timeout=2.0) as http:
        for name in names or [n for n, p in system.processes.items() if p.alive()]:
            try:
                response = await http.get(system.processes[name].url + "/health/ready")
                out[name] = response.json() | {"_status": response.status_code}
            except (httpx.HTTPError, ValueError):
                out[name] = None
    return out


async def all_ready(system: System, condition=lambda r: True, names: list[str] | None = None) -> bool:
    states = await ready_states(system, names)
    return all(s is not None and s.get("ready") and s["_status"] == 200 and condition(s) for s in states.values())


async def until(predicate, timeout: float, what: str, poll: float = 0.1) -> float:
    """Waits for an async predicate; returns the seconds it took (a bounded wait, not a timing)."""
    started = time.monotonic()
    while True:
        if await predicate():
            return time.monotonic() - started
        if time.monotonic() - started > timeout:
            raise AssertionError(f"not within {timeout:.0f} s: {what}")
        await asyncio.sleep(poll)


async def settle(system: System, timeout: float = 90.0) -> float:
    """Every instance has seen the whole stream, and no reactor has anything pending."""

    async def quiet() -> bool:
        last = (await stream_state(system))["last_seq"]
        return await all_ready(
            system, lambda r: r.get("position", -1) >= last and r.get("reactor_lag") == 0 and r.get("busy", 0) == 0
        )

    return await until(quiet, timeout, "the system settles (position, reactor_lag, busy)", poll=0.25)


# --- a good client ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    status: int  # 0: no answer (refused connection, timeout, connection cut)
    detail: str  # the body's start, or the exception's name
    retry_after: str | None = None
    key: str | None = None  # the Idempotency-Key the answer gives back (intake assigns one if none was sent)
    code: str | None = None  # a 503's code: NOT_RECORDED or OUTCOME_UNKNOWN

    @property
    def unknown(self) -> bool:
        """No answer, or a 503 saying the outcome is unknown (OUTCOME_UNKNOWN, « issue inconnue »)."""
        return self.status == 0 or (
            self.status == 503 and (self.code == "OUTCOME_UNKNOWN" or (self.code is None and UNKNOWN in self.detail))
        )


@dataclass
class Submission:
    key: str | None  # None: sent without an Idempotency-Key (until an answer gives one)
    title: str  # unique: finds the submission in the stream
    sent: float  # monotonic: when the client first sent it
    answers: list[Answer] = field(default_factory=list)
    dossier_id: str | None = None
    accepted_at: float | None = None
    keyless: bool = False  # first sent without an Idempotency-Key

    @property
    def must_not_be_recorded(self) -> bool:
        """Never answered 2xx, and its last answer was an answer (not silence) that does not say
        "unknown": by the contract, it was not recorded."""
        return self.dossier_id is None and bool(self.answers) and not self.answers[-1].unknown


class Client:
    """Submissions at a fixed rate (open loop), as a good client sends them: each with its
    Idempotency-Key, retried with the same key on 5xx (a 503 after its Retry-After), timeouts
    and connection errors, turning to the next instance; given up after `give_up` seconds.
    A share of them (`keyless`) is sent without a key, as a naive client does: retried only when
    an answer gives a key to retry with (a 503 with Idempotency-Key), otherwise left as answered."""

    def __init__(self, system: System, give_up: float = 60.0, timeout: float = 10.0, keyless: float = 0.0) -> None:
        self.urls = [p.url for p in system.processes.values() if p.service == "intake"]
        dossier = scenario_dossier()
        self.base = msgspec.to_builtins(dossier)
        token = issue_token(system.private_key, role="applicant", subject="chaos", sirens=dossier.sirens)
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        self.give_up = give_up
        self.timeout = timeout
        self.keyless = keyless
        self.submissions: list[Submission] = []
        self.tasks: list[asyncio.Task] = []
        self.statuses: Counter = Counter()
        self._turn = itertools.count()
        self.http = httpx.AsyncClient(timeout=timeout, limits=httpx.Limits(max_connections=64))

    async def close(self) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        await self.http.aclose()

    def submit(self) -> Submission:
        marker = str(uuid.uuid4())
        n = len(self.submissions)
        keyed = self.keyless <= 0 or int((n + 1) * self.keyless) == int(n * self.keyless)
        s = Submission(marker if keyed else None, f"Chaos {marker}", time.monotonic(), keyless=not keyed)
        self.submissions.append(s)
        self.tasks.append(asyncio.create_task(self._submit(s)))
        return s

    async def _submit(self, s: Submission) -> None:
        body = json.dumps({**self.base, "title": s.title}).encode()
        delay = 0.1
        while time.monotonic() - s.sent < self.give_up:
            url = self.urls[next(self._turn) % len(self.urls)]
            headers = {**self.headers, **({"Idempotency-Key": s.key} if s.key else {})}
            retry_after = delay
            try:
                response = await self.http.post(url + "/dossiers", content=body, headers=headers)
            except httpx.HTTPError as exc:
                s.answers.append(Answer(0, type(exc).__name__))
                self.statuses["no answer"] += 1
                if s.key is None:
                    return  # without a key, a naive client cannot know; it does not retry
            else:
                code = response.status_code
                try:
                    said = response.json().get("code") if code >= 500 else None
                except (ValueError, AttributeError):
                    said = None
                answer = Answer(
                    code,
                    response.text[:300],
                    response.headers.get("Retry-After"),
                    response.headers.get("Idempotency-Key"),
                    said if isinstance(said, str) else None,
                )
                s.answers.append(answer)
                self.statuses[str(code)] += 1
                if 200 <= code < 300:
                    s.dossier_id = response.json()["dossier_id"]
                    s.accepted_at = time.monotonic()
                    return
                if code not in (500, 502, 503, 504) or (code == 500 and s.key is None):
                    return  # a refusal; or, without a key, a 500 (by the contract: not recorded)
                if s.key is None:
                    if not answer.key:
                        return
                    s.key = answer.key  # the key intake gave: the retry cannot make a second dossier
                with contextlib.suppress(ValueError, TypeError):
                    retry_after = min(float(answer.retry_after), 2.0)  # type: ignore[arg-type]
            await asyncio.sleep(retry_after)
            delay = min(delay * 2, 1.0)

    async def run(self, rate: float, seconds: float) -> None:
        """Open loop: one new submission every 1/rate s for `seconds` (not waiting for answers)."""
        t0 = time.monotonic()
        for k in range(int(rate * seconds)):
            await asyncio.sleep(max(0.0, t0 + k / rate - time.monotonic()))
            self.submit()

    async def finish(self) -> None:
        await asyncio.gather(*self.tasks)

    def first_success_after(self, instant: float) -> float | None:
        """Seconds from `instant` to the first answer 2xx received after it (a retry or a new one)."""
        times = [s.accepted_at for s in self.submissions if s.accepted_at is not None and s.accepted_at >= instant]
        return min(times) - instant if times else None


# --- the stream, read by the auditor -------------------------------------------------------


async def stream_state(system: System) -> dict:
    nc = await connect_as(system.nats_url, find_credentials(system.data_dir, "auditor"))
    try:
        info = await nc.jetstream().stream_info(stream_name(load_call(system.call).id))
        leader = info.cluster.leader if info.cluster else None
        return {"last_seq": info.state.last_seq, "messages": info.state.messages, "leader": leader}
    finally:
        await nc.close()


async def replicas(system: System) -> dict[str, int]:
    """Every stream of the server (the call's, its KV buckets and object stores) and its replicas."""
    nc = await connect_as(system.nats_url, find_credentials(system.data_dir, "auditor"))
    try:
        js = nc.jetstream()
        names = json.loads((await nc.request("$JS.API.STREAM.NAMES", b"{}", timeout=5)).data)["streams"] or []
        return {name: (await js.stream_info(name)).config.num_replicas or 1 for name in sorted(names)}
    finally:
        await nc.close()


@dataclass
class Recorded:
    """The call's stream, message by message: (subject, type, payload, stored at: server time)."""

    messages: list[tuple[str, str, bytes, datetime]]

    def of_type(self, kind: str) -> list[tuple[str, bytes]]:
        return [(subject, data) for subject, t, data, _ in self.messages if t == kind]

    def stored_at(self, kind: str) -> dict[str, datetime]:
        """When the stream stored each aggregate's first event of this type."""
        out: dict[str, datetime] = {}
        for subject, t, _, at in self.messages:
            if t == kind:
                out.setdefault(subject.rsplit(".", 1)[-1], at)
        return out

    def lags(self, cause: str, effect: str) -> list[float]:
        """Seconds between each aggregate's `cause` and its `effect` (same aggregate id), as stored."""
        causes, effects = self.stored_at(cause), self.stored_at(effect)
        return sorted((effects[k] - at).total_seconds() for k, at in causes.items() if k in effects)

    def by_aggregate(self, kind: str) -> Counter:
        return Counter(subject.rsplit(".", 1)[-1] for subject, _ in self.of_type(kind))


async def read_stream(system: System, timeout: float = 60.0) -> Recorded:
    nc = await connect_as(system.nats_url, find_credentials(system.data_dir, "auditor"))
    try:
        js = nc.jetstream()
        stream = stream_name(load_call(system.call).id)
        last = (await js.stream_info(stream)).state.last_seq
        out: list[tuple[str, str, bytes, datetime]] = []
        if last == 0:
            return Recorded(out)
        sub = await js.subscribe(
            "aap.>", stream=stream, ordered_consumer=True, deliver_policy=api.DeliverPolicy.ALL, pending_msgs_limit=-1
        )
        try:
            deadline = time.monotonic() + timeout
            while True:
                msg = await sub.next_msg(timeout=max(0.1, deadline - time.monotonic()))
                kind = (msg.headers or {}).get("Aap-Type", "")
                out.append((msg.subject, kind, msg.data, msg.metadata.timestamp))
                if msg.metadata.sequence.stream >= last:
                    return Recorded(out)
        finally:
            await sub.unsubscribe()
    finally:
        await nc.close()


def check_submissions(client: Client, recorded: Recorded) -> tuple[dict, list[str]]:
    """The contract, from the stream: every 2xx recorded exactly once; nothing recorded for a
    submission whose last answer was an answer other than 2xx and not "unknown" (a 503 with
    the key to retry with); at most once for one left unknown; nothing recorded that no client
    sent; each submitted dossier assessed exactly once."""
    problems: list[str] = []

    def expect(ok: bool, problem: str) -> None:
        if not ok:
            problems.append(problem)

    submitted = recorded.by_aggregate("DossierSubmitted")
    assessed = recorded.by_aggregate("EligibilityAssessed")
    titles: Counter = Counter()
    for _, data in recorded.of_type("DossierSubmitted"):
        titles[json.loads(data)["data"]["dossier"]["title"]] += 1
    accepted = [s for s in client.submissions if s.dossier_id is not None]
    lost = [s.title for s in accepted if submitted[s.dossier_id] != 1 or titles[s.title] != 1]
    expect(not lost, f"{len(lost)} submission(s) answered 2xx not recorded exactly once: {lost[:5]}")
    expect(len({s.dossier_id for s in accepted}) == len(accepted), "two submissions answered with one dossier")
    wrongly = [
        (s.title, [a.status for a in s.answers])
        for s in client.submissions
        if s.must_not_be_recorded and titles[s.title]
    ]
    expect(not wrongly, f"{len(wrongly)} submission(s) answered « not recorded » but recorded: {wrongly[:5]}")
    twice = [s.title for s in client.submissions if titles[s.title] > 1]
    expect(not twice, f"{len(twice)} submission(s) recorded more than once: {twice[:5]}")
    sent = {s.title for s in client.submissions}
    foreign = [t for t in titles if t not in sent]
    expect(not foreign, f"{len(foreign)} dossier(s) recorded that no client sent")
    not_once = {d: assessed[d] for d in submitted if assessed[d] != 1}
    expect(not not_once, f"{len(not_once)} dossier(s) not assessed exactly once: {list(not_once.items())[:5]}")
    extra = [d for d in assessed if d not in submitted]
    expect(not extra, f"assessments of unknown dossiers: {extra[:5]}")
    lags = recorded.lags("DossierSubmitted", "EligibilityAssessed")
    unknown = [s for s in client.submissions if s.dossier_id is None and not s.must_not_be_recorded]
    figures = {
        "submissions": len(client.submissions),
        "sent_without_key": sum(1 for s in client.submissions if s.keyless),
        "keyed_not_answered_2xx": sum(1 for s in client.submissions if not s.keyless and s.dossier_id is None),
        "answered_2xx": len(accepted),
        "answered_not_recorded": sum(1 for s in client.submissions if s.must_not_be_recorded),
        "left_unknown": len(unknown),
        "left_unknown_then_recorded": sum(1 for s in unknown if titles[s.title]),
        "recorded": sum(submitted.values()),
        "assessed": sum(assessed.values()),
        "answers": dict(client.statuses),
        "assessment_lag_p50_s": round(lags[len(lags) // 2], 2) if lags else None,
        "assessment_lag_max_s": round(lags[-1], 2) if lags else None,
    }
    return figures, problems


def untruthful(client: Client) -> list[tuple[int, str]]:
    """5xx answers that break the contract: any other than 503, and a 503 without Retry-After."""
    return [
        (a.status, a.detail)
        for s in client.submissions
        for a in s.answers
        if a.status >= 500 and (a.status != 503 or not a.retry_after)
    ]


# --- figures -------------------------------------------------------------------------------


def record(test: str, figures: dict) -> None:
    """Adds a test's figures to tests/chaos/results.json and prints them."""
    try:
        results = json.loads(RESULTS.read_text())
    except (OSError, ValueError):
        results = {}
    results[test] = figures
    RESULTS.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    print(f"\n[chaos] {test}: {json.dumps(figures, ensure_ascii=False)}")
