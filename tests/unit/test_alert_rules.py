"""The deployment's monitoring files are valid, and its alerts fire when they should:
promtool (Debian's prometheus package) checks the rules and the config and runs the rules'
unit tests (alert_rules_test.yml); docker-compose checks both compose files."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS = ROOT / "deploy" / "prometheus"
RULES_TEST = Path(__file__).with_name("alert_rules_test.yml")
needs_promtool = pytest.mark.skipif(
    shutil.which("promtool") is None, reason="promtool not installed (apt-get install prometheus)"
)
needs_compose = pytest.mark.skipif(
    shutil.which("docker-compose") is None, reason="docker-compose not installed (apt-get install docker-compose)"
)


def run(*args: str, cwd: Path = ROOT, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=60, env={**os.environ, **(env or {})})


@needs_promtool
def test_alert_rules_and_prometheus_config_are_valid():
    rules = run("promtool", "check", "rules", str(PROMETHEUS / "alerts.yml"))
    assert rules.returncode == 0, rules.stdout + rules.stderr
    assert "SUCCESS: 9 rules found" in rules.stdout
    config = run("promtool", "check", "config", str(PROMETHEUS / "prometheus.yml"))
    assert config.returncode == 0, config.stdout + config.stderr


@needs_promtool
def test_each_alert_fires_on_its_series_and_not_otherwise():
    result = run("promtool", "test", "rules", str(RULES_TEST))
    assert result.returncode == 0, result.stdout + result.stderr
    tested = RULES_TEST.read_text()
    for alert in (
        "AapServiceDown",
        "AapMessagesParked",
        "AapNotificationsOverdue",
        "AapEnvelopeAbove95Percent",
        "AapDnUnreachable",
        "AapDnImportsFailing",
    ):
        assert f"alertname: {alert}" in tested


@needs_promtool
def test_the_rule_tests_catch_a_wrong_threshold(tmp_path):
    """The same unit tests against rules whose envelope threshold moved to 98 %: they fail."""
    alerts = (PROMETHEUS / "alerts.yml").read_text()
    assert "> 0.95" in alerts
    (tmp_path / "alerts.yml").write_text(alerts.replace("> 0.95", "> 0.98"))
    tests = RULES_TEST.read_text().replace("../../deploy/prometheus/alerts.yml", "alerts.yml")
    (tmp_path / "alert_rules_test.yml").write_text(tests)
    result = run("promtool", "test", "rules", "alert_rules_test.yml", cwd=tmp_path)
    assert result.returncode != 0
    assert "AapEnvelopeAbove95Percent" in result.stdout + result.stderr


@needs_compose
@pytest.mark.parametrize("files", [("compose.yaml",), ("compose.yaml", "compose.cluster.yaml")])
def test_compose_files_are_valid(files):
    args = ("docker-compose", *(arg for f in files for arg in ("-f", f)), "config", "-q")
    result = run(*args, env={"GRAFANA_ADMIN_PASSWORD": "x"})
    assert result.returncode == 0, result.stdout + result.stderr
    missing = run(*args, env={"GRAFANA_ADMIN_PASSWORD": ""})  # Grafana has no password by default
    assert missing.returncode != 0 and "GRAFANA_ADMIN_PASSWORD" in missing.stderr
