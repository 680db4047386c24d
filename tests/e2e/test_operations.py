"""Run it, watch it, audit it: `aap up` as a process, `aap demo` played on it, then the audit
tools, the services' /metrics (through `promtool check metrics`) and /asyncapi.json, all on
that same running system."""

from __future__ import annotations

import base64
import json
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from aap.system import SERVICES  # the six, console included
from aap_contract.events import published_by

pytestmark = pytest.mark.e2e
REACTORS = ("eligibility", "budget", "notifier")
OPS_METRICS = (
    "aap_http_requests",
    "aap_events_published",
    "aap_events_consumed",
    "aap_handler_seconds",
    "aap_redeliveries",
    "aap_parked_messages",
    "aap_consumer_pending",
    "aap_view_position",
)


def aap(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "aap.cli", *args], capture_output=True, text=True, timeout=timeout)


class Running:
    def __init__(self, data: Path, urls: dict[str, str], demo: subprocess.CompletedProcess) -> None:
        self.data, self.urls, self.demo = data, urls, demo

    @property
    def nats(self) -> list[str]:
        return ["--nats-url", self.urls["NATS"], "--data-dir", str(self.data)]

    @property
    def services(self) -> list[str]:
        return [
            *self.nats,
            *(arg for name in SERVICES for arg in (f"--{name}-url", self.urls[name])),
        ]


@pytest.fixture(scope="module")
def system(tmp_path_factory):
    data = tmp_path_factory.mktemp("ops") / "data"
    proc = subprocess.Popen(
        [sys.executable, "-m", "aap.cli", "up", "--free-ports", "--data-dir", str(data)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        urls: dict[str, str] = {}
        for line in proc.stdout:
            if line.startswith("Ctrl-C"):
                break
            name, *rest = line.split()
            if name in ("NATS", *SERVICES):
                urls[name] = rest[0]
        assert set(urls) == {"NATS", *SERVICES}, f"aap up ended early: {proc.stderr.read()}"
        running = Running(data, urls, None)
        running.demo = aap("demo", *running.services)
        yield running
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0


def test_the_demo_plays_a_whole_call_and_explains_it_in_french(system):
    out = system.demo.stdout
    assert system.demo.returncode == 0, system.demo.stderr + out
    assert "Horloge simulée" in out and "9 commandes refusées" in out
    for code in (
        "WINDOW",
        "LOCKED",
        "GRANT_RANGE",
        "LAST_SESSION",
        "OPEN_ITEMS",
        "NOT_ON_AGENDA",
        "NOT_SELECTED",
        "COMMITMENT_DEADLINE",
    ):
        assert f"→ {code}" in out
    assert "Dossiers déposés : 29" in out and "18  retenus, crédits engagés" in out
    assert "1  retenu, crédits annulés (non engagés à l'échéance)" in out
    assert re.search(r"enveloppe\s+1\u00a0685\u00a0000,00\u00a0€", out)
    assert "19 individuelles" in out and "2 collectives" in out and "1 lettre de caducité" in out
    outbox = system.data / "outbox"
    assert f".eml dans {outbox.resolve()} (22 fichiers)" in out
    assert len(list(outbox.glob("*.eml"))) == 22
    assert "Session 1 : 8 lauréats" in out and "Session 2 : 10 lauréats" in out  # one lapsed: not listed
    assert "Subventions devenues caduques" in out and "Observatoire des données sociales" in out


def test_replay_and_verify_agree_with_the_live_system(system):
    replay = aap("audit", "replay", *system.services)
    assert replay.returncode == 0, replay.stdout + replay.stderr
    assert (
        replay.stdout.count(" identique\n") == len(SERVICES)
        and "chaque vue reconstruite est identique" in replay.stdout
    )
    verify = aap("audit", "verify", *system.nats)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert "intégrité vérifiée" in verify.stdout


def test_timeline_tells_a_dossier_story(system):
    dossier_id = re.search(r"aap audit timeline (\S+)", system.demo.stdout).group(1)
    timeline = aap("audit", "timeline", dossier_id, *system.nats)
    assert timeline.returncode == 0, timeline.stderr
    kinds = [line.split()[4] for line in timeline.stdout.splitlines()]
    assert kinds[:4] == ["DossierSubmitted", "EligibilityAssessed", "DossierAmended", "EligibilityAssessed"]
    assert "FINANCING_PLAN" in timeline.stdout
    assert {"ProjectSelected", "CreditsReserved", "SessionClosed", "NotificationSent", "CreditsCommitted"} <= set(kinds)


def test_a_tampered_export_is_caught_and_the_event_named(system, tmp_path):
    copy = tmp_path / "log.jsonl"
    exported = aap("audit", "export", str(copy), *system.nats)
    assert exported.returncode == 0, exported.stderr
    lines = copy.read_text().splitlines()
    assert aap("audit", "verify", "--file", str(copy)).returncode == 0
    target = next(i for i, line in enumerate(lines) if "CreditsCommitted" in line)
    record = json.loads(lines[target])
    payload = base64.b64decode(record["data_b64"]).decode()
    altered = re.sub(r'"amount_cents":(\d+)', lambda m: f'"amount_cents":{int(m.group(1)) * 2}', payload)
    assert altered != payload
    record["data_b64"] = base64.b64encode(altered.encode()).decode()
    lines[target] = json.dumps(record)
    copy.write_text("\n".join(lines) + "\n")
    verify = aap("audit", "verify", "--file", str(copy))
    assert verify.returncode == 1
    assert f"ALTÉRÉ à l'événement n° {record['seq']} :" in verify.stdout
    assert verify.stdout.count("ALTÉRÉ") == 1


def test_as_of_shows_the_views_as_they_stood(system):
    summary = aap("audit", "as-of", "2021-05-20T12:00:00+02:00", *system.services)
    assert summary.returncode == 0, summary.stderr
    assert "20 mai 2021 à 12:00" in summary.stdout and "13  éligibles, en attente du comité" in summary.stdout
    assert "1  retiré par son porteur" in summary.stdout and "@" not in summary.stdout
    result = aap("audit", "as-of", "2021-05-20T12:00:00+02:00", "--raw", *system.services)
    assert result.returncode == 0, result.stderr
    assert "@" not in result.stdout and "aap-sealed" not in result.stdout  # the auditor reads no personal field
    assert "[masqué]" in result.stdout
    views = json.loads(result.stdout)
    assert set(views) == set(SERVICES)
    counts = views["intake"]["intake-dossiers"]["counts"]  # after relevé 1, before its committee
    assert (counts["eligible"], counts["ineligible"], counts["withdrawn"], counts["committed"]) == (13, 2, 1, 0)


def scrape(url: str, data: Path) -> tuple[str, dict[str, list]]:
    """/metrics, as an auditor (it is not public)."""
    from aap_platform.auth import issue_token

    token = issue_token(data / "keys" / "jwt-private.pem", role="auditor", subject="ops-test")
    text = httpx.get(f"{url}/metrics", headers={"Authorization": f"Bearer {token}"}, timeout=10).text
    samples: dict[str, list] = {}
    for family in text_string_to_metric_families(text):
        samples.setdefault(family.name, []).extend(family.samples)
    return text, samples


def test_every_service_documents_its_events_in_asyncapi(system):
    for name in SERVICES:
        response = httpx.get(f"{system.urls[name]}/asyncapi.json", timeout=10)
        assert response.status_code == 200, name
        doc = response.json()
        assert doc["asyncapi"] == "3.0.0"
        sends = {key for key, op in doc["operations"].items() if op["action"] == "send"}
        assert sends == {f"send{t.__name__}" for t in published_by(name)}, name


def test_metrics_pass_promtool_and_carry_what_operations_need(system):
    promtool = shutil.which("promtool")
    for name in SERVICES:
        httpx.get(f"{system.urls[name]}/asyncapi.json", timeout=10)  # one counted request each
        text, samples = scrape(system.urls[name], system.data)
        if promtool:
            checked = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, text=True)
            assert checked.returncode == 0, f"{name}: {checked.stdout}{checked.stderr}"
        for family in OPS_METRICS:
            assert f"# TYPE {family}" in text, f"{name} lacks {family}"
        assert any(s.name == "aap_http_requests_total" for s in samples["aap_http_requests"]), name
        if published_by(name):  # the console publishes nothing
            assert any(s.labels.get("service") == name and s.value > 0 for s in samples["aap_events_published"]), name
        assert samples["aap_view_position"] and all(s.value > 100 for s in samples["aap_view_position"]), name
        if name in REACTORS:
            assert any(s.value > 0 for s in samples["aap_events_consumed"]), name
            assert any(s.name == "aap_handler_seconds_count" and s.value > 0 for s in samples["aap_handler_seconds"])
            assert [s.value for s in samples["aap_parked_messages"] if s.name.endswith("_total")] == [0.0], name
            assert [s.value for s in samples["aap_redeliveries"] if s.name.endswith("_total")] == [0.0], name
            assert [s.value for s in samples["aap_consumer_pending"]] == [0.0], name
    _, intake = scrape(system.urls["intake"], system.data)
    assert {s.labels["status"]: s.value for s in intake["aap_dossiers"]}["committed"] == 18
    _, budget = scrape(system.urls["budget"], system.data)
    envelope = {s.labels["kind"]: s.value for s in budget["aap_envelope_cents"]}
    assert envelope["envelope"] == 168_500_000 and envelope["committed"] + envelope["available"] == 168_500_000
    _, notifier = scrape(system.urls["notifier"], system.data)
    assert notifier["aap_notifications_pending"][0].value == 0 and notifier["aap_notifications_overdue"][0].value == 0
    if not promtool:
        pytest.skip("promtool not installed (apt-get install prometheus): metrics checked, not linted")


def test_the_demonstration_is_deterministic_varied_and_well_formed():
    from aap.demo_data import build
    from aap.scenario.loader import parse
    from aap_contract.config import load_call
    from aap_contract.dossier import siren_is_valid

    call = load_call("hdf-itn7-axe3-2021")
    scenario, dossiers = build(call)
    assert build(call) == (scenario, dossiers)  # fixed seed
    assert parse(scenario).steps and 25 <= len(dossiers) <= 35
    applicants = [a for d in dossiers.values() for a in d["applicants"]]
    assert all(siren_is_valid(a["siren"]) for a in applicants)
    assert set(call.departements) <= {a["departement"] for a in applicants}
    assert {"commune", "epci", "metropole", "departement", "region"} <= {a["kind"] for a in applicants}
    assert len({d["title"] for d in dossiers.values()}) == len(dossiers)
    instants = [s["at"] for s in scenario["steps"]]
    assert [s.at for s in parse(scenario).steps] == sorted(s.at for s in parse(scenario).steps), instants[:3]
    refused = [s.get("error") for s in scenario["expect"]["steps"] if not s["ok"]]
    assert len(refused) == 9 and "WINDOW" in refused and "LAST_SESSION" in refused


def test_erasing_a_person_shows_effacé_everywhere_and_the_log_still_verifies(system):
    """Crypto-shredding: the contact's key is destroyed, the log is untouched."""
    from aap_platform.auth import issue_token

    token = issue_token(system.data / "keys" / "jwt-private.pem", role="admin", subject="dpo")
    headers = {"Authorization": f"Bearer {token}"}
    listing = httpx.get(f"{system.urls['intake']}/dossiers", params={"page_size": 1}, headers=headers).json()
    dossier_id = listing["items"][0]["dossier_id"]
    before = httpx.get(f"{system.urls['intake']}/dossiers/{dossier_id}", headers=headers).json()
    contact = before["dossier"]["applicants"][0]["contact"]
    assert "@" in contact["email"] and not contact["name"].startswith("aap-sealed")
    erased = aap("privacy", "erase", contact["email"], *system.nats)
    assert erased.returncode == 0 and "effacées" in erased.stdout, erased.stdout + erased.stderr
    after = httpx.get(f"{system.urls['intake']}/dossiers/{dossier_id}", headers=headers).json()
    gone = after["dossier"]["applicants"][0]["contact"]
    assert gone["name"] == gone["email"] == "[effacé]"
    notified = httpx.get(f"{system.urls['notifier']}/notifications", headers=headers).json()
    shown = json.dumps(notified, ensure_ascii=False)
    assert contact["email"] not in shown and "[effacé]" in shown
    verify = aap("audit", "verify", *system.nats)
    assert verify.returncode == 0 and "intégrité vérifiée" in verify.stdout, verify.stdout


def test_past_the_retention_period_every_contact_is_erased(system):
    """Runs last in this module: it erases every contact of the demo."""
    kept = aap("privacy", "retention", *system.nats)
    assert kept.returncode == 0 and "conservées jusqu'au 31 décembre 2026" in kept.stdout, kept.stdout + kept.stderr
    early = aap("privacy", "retention", "--erase", "--now", "2026-12-31T00:00:00+01:00", *system.nats)
    assert early.returncode == 1 and "rien n'est effacé" in early.stdout
    done = aap("privacy", "retention", "--erase", "--now", "2027-01-01T00:00:00+01:00", *system.nats)
    assert done.returncode == 0 and "effacées" in done.stdout, done.stdout + done.stderr
    again = aap("privacy", "retention", *system.nats)
    assert "0 personne dont" in again.stdout
    verify = aap("audit", "verify", *system.nats)
    assert verify.returncode == 0 and "intégrité vérifiée" in verify.stdout
