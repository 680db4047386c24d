"""Where the `aap up` running on this machine keeps its data: written when it is ready, removed
when it stops, so that `aap token issue` signs with that system's key without being told."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

STATE_ENV = "AAP_UP_STATE"


def state_file() -> Path:
    default = Path(tempfile.gettempdir()) / f"aap-up-{os.getuid() if hasattr(os, 'getuid') else 'user'}.json"
    return Path(os.environ.get(STATE_ENV) or default)


def record(data_dir: Path, nats_url: str | None, urls: dict[str, str]) -> None:
    info = {"pid": os.getpid(), "data_dir": str(Path(data_dir).resolve()), "nats_url": nats_url, "urls": urls}
    state_file().write_text(json.dumps(info), encoding="utf-8")


def forget() -> None:
    path = state_file()
    try:
        if json.loads(path.read_text(encoding="utf-8")).get("pid") == os.getpid():
            path.unlink()
    except (OSError, ValueError):
        pass


def running() -> dict | None:
    """The `aap up` still running, or None."""
    try:
        info = json.loads(state_file().read_text(encoding="utf-8"))
        os.kill(int(info["pid"]), 0)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return info


def data_dir(explicit: Path | None) -> Path:
    """--data-dir if given, else $AAP_DATA_DIR, else the running `aap up`'s, else .aap."""
    if explicit is not None:
        return explicit
    if os.environ.get("AAP_DATA_DIR"):
        return Path(os.environ["AAP_DATA_DIR"])
    up = running()
    return Path(up["data_dir"]) if up else Path(".aap")
