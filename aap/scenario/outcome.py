"""The outcome of a scenario (FORMAT.md "The outcome"), built only from what the services'
APIs answered after the last step, with the system's dossier ids mapped back to refs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

DOSSIER_FIELDS = ("status", "session", "eligible", "reasons", "granted_cents", "committed_cents")
BUDGET_FIELDS = ("envelope_cents", "reserved_cents", "committed_cents", "available_cents")


@dataclass(frozen=True)
class StepResult:
    index: int
    ok: bool
    error: str | None = None
    message: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"index": self.index, "ok": self.ok}
        if not self.ok:
            out["error"] = self.error
            if self.message:
                out["message"] = self.message
        return out


def build(
    steps: list[StepResult],
    refs: dict[str, str],
    dossier_items: list[dict],
    budget: dict,
    notifications: dict,
    laureates: dict,
) -> dict[str, Any]:
    ref_of = {dossier_id: ref for ref, dossier_id in refs.items()}
    return {
        "steps": [s.to_json() for s in steps],
        "dossiers": dossiers(dossier_items, refs, ref_of),
        "budget": {key: budget.get(key) for key in BUDGET_FIELDS},
        "notifications": notified(notifications.get("items", []), ref_of),
        "laureates": laureate_refs(laureates.get("sessions", {}), ref_of),
    }


def dossiers(items: list[dict], refs: dict[str, str], ref_of: dict[str, str]) -> dict[str, dict]:
    """One entry per ref whose dossier the intake lists, in the order the refs were made."""
    found = {ref_of[item["dossier_id"]]: item for item in items if item.get("dossier_id") in ref_of}
    out = {}
    for ref in refs:
        if ref in found:
            entry = {key: found[ref].get(key) for key in DOSSIER_FIELDS}
            entry["reasons"] = sorted(entry["reasons"] or [])
            out[ref] = entry
    return out


def notified(items: list[dict], ref_of: dict[str, str]) -> dict[str, Any]:
    individual: set[str] = set()
    lapse: set[str] = set()
    collective: dict[str, set[str]] = {}
    for item in items:
        named = {ref_of[d] for d in item.get("dossier_ids", []) if d in ref_of}
        if item.get("kind") == "individual":
            individual |= named
        elif item.get("kind") == "lapse":
            lapse |= named
        elif item.get("kind") == "collective":
            collective.setdefault(str(item.get("session")), set()).update(named)
    out: dict[str, Any] = {
        "individual": sorted(individual),
        "collective": {s: sorted(refs) for s, refs in sorted(collective.items(), key=_session_key)},
    }
    if lapse:  # only a call with a lapse has lapse letters (FORMAT.md)
        out["lapse"] = sorted(lapse)
    return out


def laureate_refs(sessions: dict[str, list[dict]], ref_of: dict[str, str]) -> dict[str, list[str]]:
    return {
        str(s): sorted(ref_of[e["dossier_id"]] for e in entries if e.get("dossier_id") in ref_of)
        for s, entries in sorted(sessions.items(), key=_session_key)
    }


def _session_key(item: tuple) -> tuple:
    key = str(item[0])
    return (0, int(key), "") if key.isdigit() else (1, 0, key)
