"""The eligibility reactor: every submission or amendment is assessed, exactly once.

A withdrawn dossier is still assessed on what was submitted (the lifecycle view keeps it
withdrawn). The derived event's id is stable, so a redelivery appends nothing new; a
failure raises and the shared reactor retries, then parks.
"""
from __future__ import annotations

from aap_contract.envelope import Event
from aap_contract.events import DossierAmended, DossierSubmitted
from aap_platform.execute import execute
from aap_platform.ids import stable_id
from aap_platform.runtime import Runtime
from services.eligibility.domain import AGGREGATE, AssessDossier, decide, state_of

ACTOR = "eligibility"


def make_handler(runtime: Runtime):
    async def on_event(event: Event, seq: int) -> None:
        data = event.data
        if not isinstance(data, (DossierSubmitted, DossierAmended)):
            return
        command = AssessDossier(data.dossier_id, event.event_id, data.dossier)
        await execute(runtime.store, AGGREGATE, data.dossier_id,
                      lambda loaded: decide(command, state_of(loaded.events), runtime.call),
                      actor=ACTOR, now=runtime.now, causation=event,
                      event_id=stable_id(AGGREGATE, event.event_id),
                      fresh=isinstance(data, DossierSubmitted))   # a first assessment, as a rule
    return on_event
