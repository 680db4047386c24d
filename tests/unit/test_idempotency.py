"""The one rule of idempotency keys (aap_platform.idempotency) and what a bus failure is
answered (aap_platform.edge): which recorded fact answers a retried command, which errors are
the bus's (503) and which are bugs (500)."""

from __future__ import annotations

from datetime import UTC, datetime

import nats.errors
import pytest
from nats.js.errors import APIError, NotFoundError, ServiceUnavailableError

from aap_contract.events import CreditsCommitted, ProjectRejected, ProjectSelected, ReviewRecorded, Scores
from aap_platform.edge import is_bus_failure
from aap_platform.idempotency import KeyReused, event_id, prior
from aap_platform.store import ConcurrencyError, Loaded
from services.budget import domain as budget
from services.committee import domain as committee


def test_a_decision_is_answered_by_the_same_fact_only():
    select = committee.Decide(1, "A", "select", granted_cents=100)
    assert committee.answers(select, ProjectSelected(1, "A", 100))
    assert not committee.answers(select, ProjectSelected(1, "A", 99))
    assert not committee.answers(select, ProjectSelected(2, "A", 100))
    assert not committee.answers(select, ProjectRejected(1, "A", "non"))
    reject = committee.Decide(1, "A", "reject", motivation="non")
    assert committee.answers(reject, ProjectRejected(1, "A", "non"))
    assert not committee.answers(reject, ProjectRejected(1, "A", "autre"))
    scores = Scores(1, 2, 3, 4)
    review = committee.RecordReview(1, "A", "m", scores)
    assert committee.answers(review, ReviewRecorded(1, "A", "m", scores))
    assert not committee.answers(review, ReviewRecorded(1, "A", "m", Scores(1, 2, 3, 3)))


def test_a_commitment_is_answered_by_the_same_reference_only():
    command = budget.Commit("A", "EJ-1")
    assert budget.answers(command, CreditsCommitted("A", 10, "EJ-1"))
    assert not budget.answers(command, CreditsCommitted("A", 10, "EJ-2"))
    assert not budget.answers(command, CreditsCommitted("B", 10, "EJ-1"))


def test_the_key_names_one_event_per_actor_and_a_reused_key_is_refused():
    assert event_id("committee", "alice", "k") == event_id("committee", "alice", "k")
    assert event_id("committee", "alice", "k") != event_id("committee", "bob", "k")
    loaded = Loaded("envelope", "c", [])
    first = loaded.next(
        CreditsCommitted("A", 10, "EJ-1"), actor="alice", at=datetime.now(UTC), event_id=event_id("c", "alice", "k")
    )
    loaded.events.append(first)
    same = lambda e: budget.answers(budget.Commit("A", "EJ-1"), e.data)  # noqa: E731
    other = lambda e: budget.answers(budget.Commit("A", "EJ-2"), e.data)  # noqa: E731
    assert prior(loaded, event_id("c", "alice", "k"), same) is first
    assert prior(loaded, event_id("c", "alice", "k2"), other) is None  # another key: a new command
    assert prior(loaded, None, other) is None  # no key
    with pytest.raises(KeyReused):
        prior(loaded, event_id("c", "alice", "k"), other)


@pytest.mark.parametrize(
    "exc",
    [
        nats.errors.OutboundBufferLimitError(),
        nats.errors.TimeoutError(),
        nats.errors.NoRespondersError(),
        nats.errors.ConnectionClosedError(),
        ServiceUnavailableError(),
        TimeoutError(),
        ConcurrencyError("too much contention"),
    ],
)
def test_a_failure_of_the_bus_is_a_503(exc):
    assert is_bus_failure(exc)


@pytest.mark.parametrize("exc", [NotFoundError(), APIError(), ValueError(), KeyError("x")])
def test_a_bug_is_not_a_503(exc):
    assert not is_bus_failure(exc)
