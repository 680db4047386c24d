"""Compares an expected outcome with the one obtained: one readable line per difference.

Each top-level section the expectation names (steps, dossiers, budget, notifications,
laureates) is compared exactly; a step's `message` is a comment and never compared."""

from __future__ import annotations

import json
from typing import Any

SECTIONS = ("steps", "dossiers", "budget", "notifications", "laureates")
MISSING = object()


def compare(expected: dict[str, Any], got: dict[str, Any]) -> list[str]:
    differences: list[str] = []
    for section in SECTIONS:
        if section in expected:
            want, have = expected[section], got.get(section, MISSING)
            if section == "steps":
                want, have = _without_messages(want), _without_messages(have)
            _walk(section, want, have, differences)
    unknown = sorted(set(expected) - set(SECTIONS))
    differences.extend(f"{key}: not a section of the outcome (one of {', '.join(SECTIONS)})" for key in unknown)
    return differences


def _without_messages(steps: Any) -> Any:
    if not isinstance(steps, list):
        return steps
    return [{k: v for k, v in s.items() if k != "message"} if isinstance(s, dict) else s for s in steps]


def _walk(path: str, want: Any, have: Any, out: list[str]) -> None:
    if isinstance(want, dict) and isinstance(have, dict):
        for key in list(want) + [k for k in have if k not in want]:
            _walk(f"{path}.{key}", want.get(key, MISSING), have.get(key, MISSING), out)
    elif isinstance(want, list) and isinstance(have, list) and not _scalars(want) and not _scalars(have):
        for i in range(max(len(want), len(have))):
            _walk(f"{path}[{i}]", want[i] if i < len(want) else MISSING, have[i] if i < len(have) else MISSING, out)
    elif not same(want, have):
        out.append(f"{path}: expected {_show(want)}, got {_show(have)}")


def same(a: Any, b: Any) -> bool:
    """JSON equality that does not take true for 1 nor 1.0 for a different number than 1."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return a == b


def _scalars(items: list) -> bool:
    """Lists of plain values (refs, reasons) read best as one line."""
    return all(not isinstance(v, (dict, list)) for v in items)


def _show(value: Any) -> str:
    return "(missing)" if value is MISSING else json.dumps(value, ensure_ascii=False)


def report(differences: list[str], name: str = "") -> str:
    head = f"scenario {name}: " if name else ""
    lines = [f"{head}{len(differences)} difference(s) between expected and obtained outcome:"]
    return "\n".join(lines + [f"  {d}" for d in differences])
