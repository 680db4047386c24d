"""Prometheus metrics shared by every service; each service process serves its own /metrics."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

EVENTS_PUBLISHED = Counter("aap_events_published", "Events appended to the store", ["service", "type"])
EVENTS_CONSUMED = Counter("aap_events_consumed", "Events handled by a reactor", ["service", "type"])
HANDLER_SECONDS = Histogram("aap_handler_seconds", "Reactor handler duration", ["service", "type"])
REDELIVERIES = Counter("aap_redeliveries", "Messages redelivered after a failed handler", ["service"])
PARKED = Counter("aap_parked_messages", "Messages parked after repeated failures", ["service"])
VIEW_POSITION = Gauge("aap_view_position", "Stream sequence of the last event applied to a view", ["view"])
CONSUMER_PENDING = Gauge("aap_consumer_pending", "Events not yet handled by a reactor (lag)", ["service"])
CONFLICTS = Counter("aap_append_conflicts", "Appends refused by optimistic concurrency", ["service"])
REFUSED_EVENTS = Counter(
    "aap_refused_events", "Events refused by a reader: unsigned, forged or breaking the contract", ["service"]
)
STREAM_PROBLEMS = Gauge(
    "aap_stream_problems", "Differences between the call's streams and consumers and what AAP requires", ["service"]
)
SEALS = Counter("aap_seals", "Seals of the log appended", ["service"])
SNAPSHOTS_SAVED = Counter("aap_snapshots_saved", "View snapshots saved", ["service"])
SNAPSHOTS_LOADED = Counter("aap_snapshots_loaded", "Views started from a verified snapshot", ["service"])
SNAPSHOTS_REFUSED = Counter(
    "aap_snapshots_refused",
    "View snapshots refused (unreadable, unsigned, not matching the log): the view was rebuilt from scratch",
    ["service", "reason"],
)
BUS_CONNECTED = Gauge("aap_bus_connected", "1 while the service is connected to NATS", ["service"])
READY = Gauge("aap_ready", "1 when the last /health/ready answered ready", ["service"])
