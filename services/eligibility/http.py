"""Eligibility HTTP API: read the latest assessment of dossiers (the view; no command here).
Routes translate a request to a read of the view and its result to a response."""

from __future__ import annotations

import msgspec
from litestar import Request, get
from litestar.exceptions import ValidationException
from litestar.params import FromPath, FromQuery

from aap_contract.refusal import Refusal
from aap_platform.auth import ROLES, principal, require
from aap_platform.openapi import documented
from services.eligibility.handlers import EligibilityHandlers
from services.eligibility.view import Assessment, AssessmentView, Entry

READERS = ROLES
BOOLEANS = {"true": True, "false": False}


class AssessmentList(msgspec.Struct, frozen=True):
    items: list[Assessment]


def _view(request: Request) -> AssessmentView:
    handlers: EligibilityHandlers = request.app.state.handlers
    return handlers.view.state


def _visible(request: Request, entry: Entry | None) -> bool:
    return entry is not None and entry.assessment is not None and principal(request).acts_for(entry.sirens)


@get(
    "/assessments/{dossier_id:str}",
    guards=[require(*READERS)],
    sync_to_thread=False,
    summary="La dernière évaluation d'éligibilité d'un dossier",
    **documented(not_found=("UNKNOWN_DOSSIER",)),
)
def get_assessment(request: Request, dossier_id: FromPath[str]) -> Assessment:
    entry = _view(request).get(dossier_id)
    if entry is None or entry.assessment is None or not _visible(request, entry):
        raise Refusal("UNKNOWN_DOSSIER", f"Aucune évaluation d'éligibilité pour le dossier « {dossier_id} ».")
    return entry.assessment


@get(
    "/assessments",
    guards=[require(*READERS)],
    sync_to_thread=False,
    summary="Les dernières évaluations, filtrables par verdict (eligible=true|false)",
    **documented(statuses={422: "eligible is neither true nor false"}),
)
def list_assessments(request: Request, eligible: FromQuery[str | None] = None) -> AssessmentList:
    if eligible is not None and eligible.lower() not in BOOLEANS:
        raise ValidationException(
            "données invalides : eligible",
            status_code=422,
            extra=[{"field": "eligible", "message": "attendu : true ou false"}],
        )
    verdict = None if eligible is None else BOOLEANS[eligible.lower()]
    entries = [e for e in _view(request).assessed(verdict) if _visible(request, e)]
    return AssessmentList(items=[e.assessment for e in entries if e.assessment is not None])


ROUTES = [get_assessment, list_assessments]
