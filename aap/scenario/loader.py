"""Reads a scenario file (FORMAT.md) and checks its shape before anything is played.

The dossiers are kept as raw JSON: a scenario may hold malformed ones on purpose, and only
the system judges them."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

REQUIRED = {
    "submit": ("ref", "dossier"),
    "amend": ("ref", "dossier"),
    "withdraw": ("ref",),
    "review": ("session", "ref", "member", "scores"),
    "decide": ("session", "ref", "decision"),
    "close_session": ("session",),
    "commit": ("ref", "legal_reference"),
    "advance": (),
}


class ScenarioError(ValueError):
    """A scenario file that cannot be played, with every problem found."""


@dataclass(frozen=True)
class Step:
    index: int
    at: datetime
    action: str
    raw: dict[str, Any]

    def __getitem__(self, key: str) -> Any:
        return self.raw[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.raw.get(key, default)


@dataclass(frozen=True)
class Scenario:
    name: str
    call: str
    steps: list[Step]
    expect: dict[str, Any] | None = None
    description: str = ""
    source: str = field(default="<scenario>", compare=False)


def load(path: str | Path) -> Scenario:
    path = Path(path)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ScenarioError(f"{path}: cannot read the scenario: {exc}") from None
    return parse(raw, str(path))


def parse(raw: Any, source: str = "<scenario>") -> Scenario:
    if not isinstance(raw, dict):
        raise ScenarioError(f"{source}: a scenario is a JSON object")
    problems: list[str] = []
    if not isinstance(raw.get("call"), str):
        problems.append("call: missing (the id of a call configuration)")
    if not isinstance(raw.get("steps"), list):
        problems.append("steps: missing (a list)")
    expect = raw.get("expect")
    if expect is not None and not isinstance(expect, dict):
        problems.append("expect: must be an object")
    steps = [_step(i, s, problems) for i, s in enumerate(raw.get("steps") or [])]
    if problems:
        raise ScenarioError(f"{source}: " + "; ".join(problems))
    return Scenario(
        name=str(raw.get("name") or Path(source).stem),
        call=raw["call"],
        steps=[s for s in steps if s is not None],
        expect=expect,
        description=str(raw.get("description", "")),
        source=source,
    )


def _step(index: int, raw: Any, problems: list[str]) -> Step | None:
    where = f"steps[{index}]"
    if not isinstance(raw, dict):
        problems.append(f"{where}: must be an object")
        return None
    action = raw.get("action")
    if action not in REQUIRED:
        problems.append(f"{where}.action: {action!r} is not one of {', '.join(REQUIRED)}")
        return None
    missing = [f"{where}.{key}" for key in REQUIRED[action] if key not in raw]
    problems.extend(f"{m}: missing for {action}" for m in missing)
    at = _instant(raw.get("at"))
    if at is None:
        problems.append(f"{where}.at: an ISO-8601 instant with its offset is required")
    return Step(index, at, action, raw) if at is not None and not missing else None


def _instant(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        instant = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return instant if instant.tzinfo is not None else None
