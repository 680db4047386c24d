"""The notifier against a real nats-server and a real SMTP server on loopback (aiosmtpd):
the right recipients and words, SMTP outages, restarts, full replays and the crash window —
every notification delivered, none twice."""

from __future__ import annotations

import asyncio
import socket
import time
from datetime import timedelta
from email import message_from_bytes, policy

import pytest
from aiosmtpd.controller import Controller
from litestar.testing import AsyncTestClient

from aap_contract.events import NotificationSent, ProjectSelected, SessionClosed
from aap_platform.clock import set_clock
from aap_platform.reactor import durable_name
from services.notifier.app import create_app
from tests.unit.scdl.validate import report
from tests.unit.test_notifier_history import (
    CALL,
    CLOSED_AT,
    FAILURE,
    MOTIVATION,
    append_all,
    at,
    session_one,
)

SENDER = "sgar-numerique@hauts-de-france.gouv.fr"
IDS = {"s1-individual-d-civil", "s1-individual-d-joint", "s1-collective"}


class Inbox:
    """An SMTP server's mailbox; `refuse` answers the next DATA commands with a 4xx."""

    def __init__(self) -> None:
        self.received: list[tuple[list[str], object]] = []
        self.refuse = 0

    async def handle_DATA(self, server, session, envelope):
        if self.refuse > 0:
            self.refuse -= 1
            return "451 4.3.0 Veuillez réessayer plus tard"
        self.received.append((list(envelope.rcpt_tos), message_from_bytes(envelope.content, policy=policy.default)))
        return "250 OK"

    def by_notification(self) -> dict[str, list]:
        out: dict[str, list] = {}
        for rcpts, msg in self.received:
            out.setdefault(msg["X-Aap-Notification"], []).append((rcpts, msg))
        return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp(monkeypatch):
    """(inbox, start, stop): an SMTP server on a free loopback port, not started yet."""
    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    monkeypatch.setenv("AAP_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("AAP_SMTP_PORT", str(port))
    monkeypatch.setenv("AAP_SMTP_TLS", "none")
    monkeypatch.setenv("AAP_NOTIFY_RETRY_BASE", "0.02")
    monkeypatch.setenv("AAP_NOTIFY_RETRY_CAP", "0.1")
    monkeypatch.setenv("AAP_NOTIFY_PARK_AFTER", "2")
    running = []
    yield inbox, lambda: running.append(controller.start()), controller.stop
    if running:
        controller.stop()


async def settle(client, store) -> dict:
    """The scenario runner's quiescence: caught up, no reactor lag, nothing left to send."""
    ready: dict = {}
    deadline = time.monotonic() + 60  # a safety net against hanging, not a timing assertion
    while time.monotonic() < deadline:
        last = await store.last_sequence()
        ready = (await client.get("/health/ready")).json()
        if (
            ready["position"] >= last
            and ready["reactor_lag"] == 0
            and ready["busy"] == 0
            and await store.last_sequence() == last
        ):
            return ready
        await asyncio.sleep(0.02)
    raise AssertionError(f"the notifier did not settle: {ready}")


async def until(predicate, what: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if await predicate():
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"never happened: {what}")


async def sent_events(store, notification_id: str) -> list:
    loaded = await store.load("notification", notification_id)
    return [e for e in loaded.events if isinstance(e.data, NotificationSent)]


@pytest.fixture
async def history(store):
    await append_all(store, session_one())
    await set_clock(store.js, CALL, CLOSED_AT + timedelta(hours=1))


async def test_right_recipients_and_french_words_for_a_closed_session(smtp, settings, store, history, token):
    inbox, start, _ = smtp
    start()
    async with AsyncTestClient(create_app(settings)) as client:
        await settle(client, store)
        got = inbox.by_notification()
        assert set(got) == IDS and all(len(v) == 1 for v in got.values())

        rcpts, civil = got["s1-individual-d-civil"][0]
        assert rcpts == ["numerique@xn--rgion-bsa.example.fr"]  # non-ASCII domain, IDNA-encoded
        assert civil["From"].addresses[0].addr_spec == SENDER
        assert civil["Message-ID"] == f"<s1-individual-d-civil.{CALL}@hauts-de-france.gouv.fr>"  # the sender's
        text = civil.get_body(preferencelist=("plain",)).get_content()  # the arrêté and its letter attached
        assert "45\u00a0000,00\u00a0€" in text and "20 mai 2021" in text

        rcpts, joint = got["s1-individual-d-joint"][0]
        assert rcpts == ["dsi@cc-val.example.fr", "mairie@rivecourt.example.fr", "mairie@orval.example.fr"]
        assert "70\u00a0000,00\u00a0€" in joint.get_body(preferencelist=("plain",)).get_content()

        rcpts, collective = got["s1-collective"][0]
        assert sorted(rcpts) == ["contact@fresnoy.example.fr", "dgs@marle.example.fr"]  # not the deferred one
        assert collective["Bcc"] is None and collective["To"] == SENDER
        body = collective.get_body(preferencelist=("plain",)).get_content()
        assert "Formation des agents" in body and "Relation usagers" not in body
        assert MOTIVATION not in body and FAILURE not in body  # each recipient reads the others' titles only
        assert "Voies et délais de recours" in body

        assert (await client.get("/notifications")).status_code == 401
        assert (
            await client.get("/notifications", headers={"Authorization": f"Bearer {token('applicant')}"})
        ).status_code == 403
        listed = (await client.get("/notifications", headers={"Authorization": f"Bearer {token('auditor')}"})).json()
        assert (listed["pending"], listed["overdue"], listed["parked"]) == (0, 0, 0)
        items = {i["notification_id"]: i for i in listed["items"]}
        assert set(items) == IDS
        assert items["s1-collective"]["dossier_ids"] == ["d-rejected", "d-ineligible"]
        assert all(i["message_id"] and i["sent_at"] and not i["parked"] for i in items.values())
        assert all(set(i["recipients"]) == {"[masqué]"} for i in items.values())  # the auditor reads no address
        instructor = {"Authorization": f"Bearer {token('instructor')}"}
        shown = {
            i["notification_id"]: i for i in (await client.get("/notifications", headers=instructor)).json()["items"]
        }
        assert shown["s1-individual-d-civil"]["recipients"] == ["numerique@région.example.fr"]
        assert len(await sent_events(store, "s1-collective")) == 1

        public = (await client.get("/laureates")).json()
        assert [x["dossier_id"] for x in public["sessions"]["1"]] == ["d-civil", "d-joint"]
        csv_response = await client.get("/laureates.csv")
        assert csv_response.headers["content-type"].startswith("text/csv")
        assert report(csv_response.content) == []
        assert csv_response.text.count("\r\n") == 1  # the header: no grant is committed yet (no convention)
        assert (await client.get("/laureates.csv?bom=1")).content.startswith("\ufeffnomAttribuant".encode())


async def test_smtp_down_then_back_everything_delivered_once(smtp, settings, store, history, token):
    inbox, start, _ = smtp
    auth = {"Authorization": f"Bearer {token('instructor')}"}
    async with AsyncTestClient(create_app(settings)) as client:

        async def all_parked() -> bool:
            return (await client.get("/notifications", headers=auth)).json()["parked"] == 3

        await until(all_parked, "every notification parked while the server is down")
        listed = (await client.get("/notifications", headers=auth)).json()
        assert listed["pending"] == 3 and all(i["attempts"] > 2 and i["last_error"] for i in listed["items"])
        assert (
            "aap_notifications_parked 3.0"
            in (await client.get("/metrics", headers={"Authorization": f"Bearer {token('auditor')}"})).text
        )
        ready = (await client.get("/health/ready")).json()
        assert ready["busy"] == 3 and ready["notifications_overdue"] == 0

        # a week later still unsent: overdue, in readiness and in the metrics
        revision = await set_clock(store.js, CALL, CLOSED_AT + timedelta(days=7, seconds=1))

        async def clock_seen() -> bool:
            return (await client.get("/health/ready")).json()["clock_revision"] >= revision

        await until(clock_seen, "the clock moved")
        assert (await client.get("/health/ready")).json()["notifications_overdue"] == 3
        assert (
            "aap_notifications_overdue 3.0"
            in (await client.get("/metrics", headers={"Authorization": f"Bearer {token('auditor')}"})).text
        )

        inbox.refuse = 2  # back, but answering 4xx twice more
        start()
        await settle(client, store)
        got = inbox.by_notification()
        assert set(got) == IDS and all(len(v) == 1 for v in got.values())
        listed = (await client.get("/notifications", headers=auth)).json()
        assert (listed["pending"], listed["overdue"], listed["parked"]) == (0, 0, 0)


async def test_restart_and_full_replay_send_nothing_twice_and_lose_nothing(smtp, settings, store, history):
    inbox, start, _ = smtp
    start()
    async with AsyncTestClient(create_app(settings)) as client:
        await settle(client, store)
    assert len(inbox.received) == 3

    # while the notifier is stopped, session 2 selects the deferred dossier and closes
    await append_all(
        store,
        [
            (ProjectSelected(session=2, dossier_id="d-deferred", granted_cents=3_000_000), at(7, 8), None),
            (SessionClosed(session=2, laureates=["d-deferred"], not_retained=[]), at(7, 9), None),
        ],
    )
    async with AsyncTestClient(create_app(settings)) as client:
        await settle(client, store)
    assert sorted(inbox.by_notification()) == sorted(IDS | {"s2-individual-d-deferred"})
    assert len(inbox.received) == 4

    # a fresh notifier replaying the whole log, its reactor included
    await store.js.delete_consumer(store.stream, durable_name("notifier"))
    async with AsyncTestClient(create_app(settings)) as client:
        await settle(client, store)
        assert len((await client.get("/laureates")).json()["sessions"]["2"]) == 1
    assert len(inbox.received) == 4


async def test_crash_window_resends_that_message_alone_with_the_same_message_id(smtp, settings, store, history):
    inbox, start, _ = smtp
    start()
    app = create_app(settings)
    sender = app.state.sender
    record, failed = sender.handlers.record_sent, []

    async def record_or_crash(n, message_id, subject):
        if n.notification_id == "s1-collective" and not failed:
            failed.append(n.notification_id)
            raise ConnectionError("killed after the SMTP server accepted, before recording")
        return await record(n, message_id, subject)

    sender.handlers.record_sent = record_or_crash

    async with AsyncTestClient(app) as client:
        await settle(client, store)
    got = inbox.by_notification()
    assert failed == ["s1-collective"]
    assert len(got["s1-collective"]) == 2
    assert len({m["Message-ID"] for _, m in got["s1-collective"]}) == 1
    assert len(got["s1-individual-d-civil"]) == len(got["s1-individual-d-joint"]) == 1
    assert len(await sent_events(store, "s1-collective")) == 1


async def test_outbox_mode_writes_one_eml_file_per_notification(monkeypatch, tmp_path, settings, store, history):
    monkeypatch.delenv("AAP_SMTP_HOST", raising=False)
    outbox = tmp_path / "outbox"
    monkeypatch.setenv("AAP_OUTBOX_DIR", str(outbox))
    async with AsyncTestClient(create_app(settings)) as client:
        await settle(client, store)
    assert sorted(p.name for p in outbox.iterdir()) == sorted(f"{i}.eml" for i in IDS)  # no temp file left
    collective = message_from_bytes((outbox / "s1-collective.eml").read_bytes(), policy=policy.default)
    assert (
        "contact@fresnoy.example.fr" in collective["Bcc"]
        and "Formation des agents" in collective.get_body(preferencelist=("plain",)).get_content()
    )
    civil = message_from_bytes((outbox / "s1-individual-d-civil.eml").read_bytes(), policy=policy.default)
    assert civil["To"] == "numerique@xn--rgion-bsa.example.fr"
