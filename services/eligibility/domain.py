"""The assessment aggregate (one per dossier, id = dossier id): decide and evolve, pure.

State: the dossier events (submission or amendment ids) already assessed. A command to
assess an event already assessed decides nothing, so a redelivered event records nothing.
The rules themselves are in `services.eligibility.rules`.
"""

from __future__ import annotations

from typing import Any

import msgspec

from aap_contract.config import CallConfig
from aap_contract.dossier import Dossier
from aap_contract.envelope import Event
from aap_contract.events import EligibilityAssessed
from services.eligibility.rules import assess

AGGREGATE = "assessment"


class AssessDossier(msgspec.Struct, frozen=True):
    dossier_id: str
    dossier_event_id: str  # the DossierSubmitted / DossierAmended whose content is judged
    dossier: Dossier


class AssessmentState(msgspec.Struct):
    """Not frozen: `evolve` updates it in place; start each fold from `initial_state()`."""

    assessed: set[str] = msgspec.field(default_factory=set)


def initial_state() -> AssessmentState:
    return AssessmentState()


def evolve(state: AssessmentState, event: Event[Any]) -> AssessmentState:
    if isinstance(event.data, EligibilityAssessed):
        state.assessed.add(event.data.dossier_event_id)
    return state


def decide(command: AssessDossier, state: AssessmentState, call: CallConfig) -> EligibilityAssessed | None:
    if command.dossier_event_id in state.assessed:
        return None
    failures = assess(command.dossier, call)
    return EligibilityAssessed(
        dossier_id=command.dossier_id,
        dossier_event_id=command.dossier_event_id,
        eligible=not failures,
        failures=failures,
    )
