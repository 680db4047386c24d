"""Every service's /metrics, as built by its create_app, passes `promtool check metrics` and
declares the metrics an operations team needs (the e2e test checks their values after a whole
call; this one catches a badly named or undocumented metric in seconds)."""

from __future__ import annotations

import importlib
import shutil
import subprocess

import pytest
from litestar.testing import AsyncTestClient

PROMTOOL = shutil.which("promtool")
pytestmark = pytest.mark.skipif(PROMTOOL is None, reason="promtool not installed (apt-get install prometheus)")
COMMON = (
    "aap_http_requests_total",
    "aap_http_request_duration_seconds",
    "aap_events_published_total",
    "aap_events_consumed_total",
    "aap_handler_seconds",
    "aap_redeliveries_total",
    "aap_parked_messages_total",
    "aap_consumer_pending",
    "aap_view_position",
)
OWN = {
    "intake": ("aap_dossiers",),
    "eligibility": ("aap_assessments",),
    "committee": (),
    "budget": ("aap_envelope_cents",),
    "notifier": ("aap_notifications_pending", "aap_notifications_overdue"),
}


def lint(text: str) -> subprocess.CompletedProcess:
    return subprocess.run([PROMTOOL, "check", "metrics"], input=text, capture_output=True, text=True, timeout=30)


def test_promtool_finds_a_badly_named_counter():
    bad = lint("# HELP aap_things Things\n# TYPE aap_things counter\naap_things 1\n")
    assert bad.returncode != 0 and "_total" in bad.stdout + bad.stderr


@pytest.mark.parametrize("service", sorted(OWN))
async def test_service_metrics_pass_promtool(service, settings, token):
    create_app = importlib.import_module(f"services.{service}.app").create_app
    async with AsyncTestClient(create_app(settings)) as client:
        assert (await client.get("/asyncapi.json")).status_code == 200  # one counted request
        text = (await client.get("/metrics", headers={"Authorization": f"Bearer {token('auditor')}"})).text
    checked = lint(text)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    for name in (*COMMON, *OWN[service]):
        assert f"# TYPE {name} " in text, f"{service}: {name} is not declared"
