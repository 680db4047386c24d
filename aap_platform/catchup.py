"""The cyclic garbage collector while views catch up with the log.

A replay builds millions of long-lived objects; at default thresholds the collector runs
every 700 allocations and keeps re-examining the growing view (a third of a replay's time).
While any view of the process is catching up, the thresholds are relaxed; when the last one
has caught up, the defaults come back and what the views hold is frozen out of the collector's
reach (`gc.freeze`: still freed by reference counting, never re-examined — no pauses that grow
with the view). Views hold no reference cycles, so nothing is kept that would have been freed.
"""

from __future__ import annotations

import gc

RELAXED = (1_000_000, 1000, 1000)  # collections rare, not off: a stray cycle is still found
_catching_up = 0
_saved: tuple[int, int, int] | None = None


def begin() -> None:
    global _catching_up, _saved
    if _catching_up == 0:
        _saved = gc.get_threshold()
        gc.set_threshold(*RELAXED)
    _catching_up += 1


def end() -> None:
    global _catching_up
    _catching_up -= 1
    if _catching_up == 0 and _saved is not None:
        gc.set_threshold(*_saved)
        gc.collect(1)  # the young cycles of the catch-up, if any
        gc.freeze()
