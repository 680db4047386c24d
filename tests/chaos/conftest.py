"""The fault suite's figures: each test adds its own to tests/chaos/results.json (emptied at the
start of a run); the table of them is printed at the end of `make chaos`."""

from __future__ import annotations

import json

import pytest

from tests.chaos.harness import RESULTS

pytestmark = pytest.mark.chaos


def pytest_configure(config) -> None:
    RESULTS.unlink(missing_ok=True)


def pytest_terminal_summary(terminalreporter) -> None:
    try:
        results = json.loads(RESULTS.read_text())
    except (OSError, ValueError):
        return
    terminalreporter.section("chaos: figures")
    for test, figures in results.items():
        terminalreporter.write_line(test)
        for key, value in figures.items():
            terminalreporter.write_line(f"    {key:<34} {value}")
    terminalreporter.write_line(f"(also in {RESULTS})")
