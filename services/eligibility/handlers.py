"""Eligibility's one command: assess a submitted or amended dossier, exactly once.

The derived event's id is stable, so a redelivery appends nothing new; a failure raises and
the reactor retries, then parks.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import reduce

from aap_contract.envelope import Event
from aap_contract.events import DossierAmended, DossierSubmitted
from aap_platform.execute import execute
from aap_platform.ids import stable_id
from aap_platform.projection import Projection
from aap_platform.runtime import Runtime
from aap_platform.store import Loaded
from services.eligibility import domain
from services.eligibility.view import AssessmentView

ACTOR = "eligibility"


@dataclass
class EligibilityHandlers:
    runtime: Runtime
    view: Projection[AssessmentView]

    async def assess(self, content: Event) -> Event | None:
        """Assess the dossier a DossierSubmitted or DossierAmended carries. A withdrawn dossier
        is still assessed on what was submitted (the lifecycle keeps it withdrawn)."""
        data = content.data
        assert isinstance(data, (DossierSubmitted, DossierAmended))
        command = domain.AssessDossier(data.dossier_id, content.event_id, data.dossier)

        def decide(loaded: Loaded):
            state = reduce(domain.evolve, loaded.events, domain.initial_state())
            return domain.decide(command, state, self.runtime.call)

        return await execute(
            self.runtime.store,
            domain.AGGREGATE,
            data.dossier_id,
            decide,
            actor=ACTOR,
            now=self.runtime.now,
            causation=content,
            event_id=stable_id(domain.AGGREGATE, content.event_id),
            fresh=isinstance(data, DossierSubmitted),
        )  # a first assessment, as a rule
