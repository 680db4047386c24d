"""The eligibility read model: the latest assessment of each dossier, updated in place.

It also follows the dossier events, for the applicants' SIRENs (an applicant may read only
its own dossiers) and for the order of the dossier's versions: the assessment of the latest
version wins, whatever order the assessments arrive in.
"""

from __future__ import annotations

from datetime import datetime

import msgspec

from aap_contract.config import CallConfig
from aap_contract.envelope import Event
from aap_contract.events import (
    DossierAmended,
    DossierSubmitted,
    EligibilityAssessed,
    RuleFailure,
)
from aap_contract.reading import SUMMARY_READING
from aap_platform.codec import decoder_with
from aap_platform.projection import Projection

# the event types the view acts on (the others are not decoded)
TYPES = frozenset(t.__name__ for t in (DossierSubmitted, DossierAmended, EligibilityAssessed))
DECODE = decoder_with(SUMMARY_READING)  # of a dossier, the view keeps its SIRENs
CONTENT = frozenset({"DossierSubmitted", "DossierAmended"})


class Assessment(msgspec.Struct, frozen=True):
    dossier_id: str
    eligible: bool
    reasons: list[str]
    failures: list[RuleFailure]
    assessed_at: datetime
    dossier_event_id: str


class Entry(msgspec.Struct, frozen=True):
    dossier_id: str
    sirens: tuple[str, ...] = ()
    versions: tuple[str, ...] = ()  # submission then amendment event ids, in order
    assessment: Assessment | None = None

    def rank(self, dossier_event_id: str) -> int:
        return self.versions.index(dossier_event_id) if dossier_event_id in self.versions else -1


class AssessmentView:
    """Entries by dossier id, updated in place by `evolve_view`."""

    def __init__(self) -> None:
        self.entries: dict[str, Entry] = {}

    def get(self, dossier_id: str) -> Entry | None:
        return self.entries.get(dossier_id)

    def assessed(self, eligible: bool | None = None) -> list[Entry]:
        found = [
            e
            for e in self.entries.values()
            if e.assessment is not None and (eligible is None or e.assessment.eligible == eligible)
        ]
        return sorted(found, key=lambda e: (e.assessment.assessed_at if e.assessment else None, e.dossier_id))

    def count(self, eligible: bool) -> int:
        return sum(1 for e in self.entries.values() if e.assessment is not None and e.assessment.eligible == eligible)


def initial_view() -> AssessmentView:
    return AssessmentView()


def evolve_view(view: AssessmentView, event: Event) -> AssessmentView:
    d, entries = event.data, view.entries
    if event.type in CONTENT:
        old = entries.get(d.dossier_id) or Entry(d.dossier_id)
        entries[d.dossier_id] = msgspec.structs.replace(
            old, sirens=tuple(d.dossier.sirens), versions=(*old.versions, event.event_id)
        )
    elif isinstance(d, EligibilityAssessed):
        old = entries.get(d.dossier_id) or Entry(d.dossier_id)
        current = old.assessment
        if current is None or old.rank(d.dossier_event_id) >= old.rank(current.dossier_event_id):
            assessment = Assessment(
                d.dossier_id,
                d.eligible,
                sorted(f.code for f in d.failures),
                list(d.failures),
                event.occurred_at,
                d.dossier_event_id,
            )
            entries[d.dossier_id] = msgspec.structs.replace(old, assessment=assessment)
    return view


def projection(call: CallConfig) -> Projection[AssessmentView]:
    """The view as the service runs it: fed by the call's stream, only the types it acts on."""
    return Projection("eligibility-assessments", initial_view, evolve_view, types=TYPES, decode=DECODE)
