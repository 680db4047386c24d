"""The draft decider and the draft's evaluation: Given (past events), When (a command), Then."""

from __future__ import annotations

from dataclasses import replace

import pytest

from aap_contract.events import DraftAdopted, DraftCreated, DraftLine, DraftLineChanged, DraftLineRemoved, LineOutcome
from aap_contract.refusal import Refusal
from services.committee import drafts
from tests.unit.committee_given import OPEN1, Given
from tests.unit.given import fold

CREATED = DraftCreated("d-1", 1, "Essai", "secretariat", [DraftLine("A", 100)])


def state(*events):
    return fold(drafts.evolve, drafts.initial_state(), events)


def refusal(command, s) -> str:
    with pytest.raises(Refusal) as caught:
        drafts.decide(command, s)
    assert caught.value.message
    return caught.value.code


def test_create_then_edit_then_remove_then_adopt():
    assert (
        drafts.decide(drafts.CreateDraft("d-1", 1, "Essai", "secretariat", (DraftLine("A", 100),)), state()) == CREATED
    )
    assert drafts.decide(drafts.CreateDraft("d-1", 1, "Essai", "secretariat"), state(CREATED)) is None  # retried
    assert drafts.decide(drafts.SetLine("d-1", "B", 200), state(CREATED)) == DraftLineChanged("d-1", "B", 200)
    assert drafts.decide(drafts.SetLine("d-1", "A", 100), state(CREATED)) is None  # unchanged
    assert drafts.decide(drafts.RemoveLine("d-1", "A"), state(CREATED)) == DraftLineRemoved("d-1", "A")
    assert drafts.decide(drafts.RemoveLine("d-1", "Z"), state(CREATED)) is None
    s = state(CREATED, DraftLineChanged("d-1", "B", 200), DraftLineChanged("d-1", "A", 150))
    assert s.lines == {"A": 150, "B": 200}
    outcomes = (LineOutcome("A", 150), LineOutcome("B", 200, "GRANT_RANGE", "trop"))
    assert drafts.decide(drafts.RecordAdoption("d-1", outcomes), s) == DraftAdopted("d-1", 1, list(outcomes))


def test_unknown_or_adopted_drafts_refuse_changes():
    assert refusal(drafts.SetLine("d-1", "A", 1), state()) == "UNKNOWN_DRAFT"
    adopted = state(CREATED, DraftAdopted("d-1", 1, []))
    assert refusal(drafts.SetLine("d-1", "A", 1), adopted) == "DRAFT_ADOPTED"
    assert refusal(drafts.RecordAdoption("d-1", ()), adopted) == "DRAFT_ADOPTED"


def test_each_line_is_judged_by_the_committee_decider_with_what_the_previous_lines_use():
    g = Given()
    a, b = g.dossier("ETAT-CIVIL"), g.dossier("SVI")
    session, facts = g.state(1), g.view().facts(OPEN1)
    # an envelope that holds the first line only: the second meets ENVELOPE_EXHAUSTED
    tight = replace(facts, available_cents=4_600_000)
    ev = drafts.evaluate([(a, 4_500_000), (b, 3_500_000), ("NOPE", 1)], session, tight)
    assert [(c.dossier_id, c.code) for c in ev.lines] == [
        (a, None),
        (b, "ENVELOPE_EXHAUSTED"),
        ("NOPE", "UNKNOWN_DOSSIER"),
    ]
    assert (ev.total_cents, ev.remaining_cents) == (4_500_000, 100_000)
