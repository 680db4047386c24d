"""compose.cluster.yaml runs two instances of each service (issue 13): the HTTP entry spreads
requests over both instances of each, Prometheus scrapes every instance, NATS is three nodes."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from aap.system import SERVICES

ROOT = Path(__file__).resolve().parents[2]


def load(name: str) -> dict:
    return yaml.safe_load((ROOT / name).read_text())


def test_two_instances_of_each_service_on_three_nats_nodes():
    cluster = load("compose.cluster.yaml")["services"]
    for name in SERVICES:
        assert cluster[name].get("scale") == 2, name
        assert cluster[name]["environment"]["AAP_NATS_REPLICAS"] == "3"
        assert cluster[name]["environment"]["NATS_URL"].count(",") == 2
    assert {"nats", "nats-2", "nats-3"} <= set(cluster)


def test_the_entry_balances_every_service_over_its_instances():
    mount = load("compose.cluster.yaml")["services"]["entry"]["volumes"][0]
    source = ROOT / mount.split(":")[0]
    conf = source.read_text()
    for name in SERVICES:
        assert re.search(rf"upstream {name}\s*{{[^}}]*server {name}:8000\s+resolve", conf), name
        assert re.search(rf"proxy_pass http://{name}[/;]", conf), name
    assert "non_idempotent" not in conf  # a POST already sent is never sent twice by the entry


def test_prometheus_scrapes_every_instance_of_what_the_single_setup_scrapes():
    single = load("deploy/prometheus/prometheus.yml")["scrape_configs"][0]
    scraped = {t.split(":")[0] for c in single["static_configs"] for t in c["targets"]}
    command = load("compose.cluster.yaml")["services"]["prometheus"]["command"]
    config = next(a.split("=", 1)[1] for a in command if a.startswith("--config.file="))
    cluster = load("deploy/prometheus/" + Path(config).name)["scrape_configs"][0]
    found = {n for c in cluster["dns_sd_configs"] for n in c["names"]}
    assert found == scraped
