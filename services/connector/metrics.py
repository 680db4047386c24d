"""The connector's Prometheus metrics (process-wide, like aap_platform.metrics)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

DN_REQUESTS = Counter(
    "aap_dn_requests", "Requests to Démarche Numérique's API by operation and outcome", ["operation", "outcome"]
)
DN_REACHABLE = Gauge("aap_dn_reachable", "1 when Démarche Numérique answered the last request, else 0")
DN_IMPORTS = Counter("aap_dn_imports", "DN dossiers handled by the sync, by outcome", ["outcome"])
DN_WRITEBACKS = Counter("aap_dn_writebacks", "DN mutations recorded as done, by mutation", ["mutation"])
DN_UNMAPPABLE = Gauge("aap_dn_unmappable", "DN dossiers waiting in the list of failed imports")
DN_SYNC_SECONDS = Gauge("aap_dn_last_sync_timestamp", "End of the last successful sync pass (Unix time)")
