"""Request bodies of the committee's API and the checks msgspec cannot express; every faulty
field is named (HTTP 422, aap_platform.validation)."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from aap_contract.config import CallConfig
from aap_contract.conformity import ID_PATTERN
from aap_contract.dossier import Cents
from aap_platform.validation import FieldErrors

Score = Annotated[int, msgspec.Meta(ge=0, le=3, description="0 to 3")]
Id = Annotated[str, msgspec.Meta(pattern=r"\A" + ID_PATTERN + r"\Z", description="letters, digits, - and _")]
Motivation = Annotated[str, msgspec.Meta(max_length=5000)]


class ScoresBody(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    diagnosis: Score
    co_construction: Score
    roadmap: Score
    free_software: Score | None = None  # null: no software involved, not applicable


class ReviewBody(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    dossier_id: Id
    member_id: Id
    scores: ScoresBody


class DecisionBody(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    dossier_id: Id
    decision: Literal["select", "reject", "defer"]
    granted_cents: Cents | None = None
    motivation: Motivation | None = None


def review_errors(call: CallConfig):
    def check(body: ReviewBody) -> FieldErrors:
        if call.member(body.member_id) is None:
            return [{"field": "member_id", "message": "membre du comité inconnu pour cet appel"}]
        return []

    return check


def decision_errors(body: DecisionBody) -> FieldErrors:
    if body.decision == "select" and body.granted_cents is None:
        return [{"field": "granted_cents", "message": "montant accordé obligatoire pour une sélection"}]
    if body.decision == "reject" and not (body.motivation or "").strip():
        return [{"field": "motivation", "message": "motivation obligatoire pour un rejet"}]
    return []


DraftId = Annotated[str, msgspec.Meta(pattern=r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\Z")]


class DraftLineBody(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    dossier_id: Id
    granted_cents: Cents


class DraftBody(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    lines: Annotated[list[DraftLineBody], msgspec.Meta(max_length=1000)] = []
    propose: bool = False  # built from the ranking (greedy by mean score) instead of `lines`
    departement_cap_cents: Cents | None = None  # with `propose`: at most this much per département


class LineBody(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    granted_cents: Cents


def draft_errors(body: DraftBody) -> FieldErrors:
    errors: FieldErrors = []
    if not body.name.strip():
        errors.append({"field": "name", "message": "ne doit pas être vide"})
    if body.propose and body.lines:
        errors.append({"field": "lines", "message": "un projet proposé d'après le classement ne prend pas de lignes"})
    ids = [line.dossier_id for line in body.lines]
    if len(set(ids)) != len(ids):
        errors.append({"field": "lines", "message": "un dossier ne peut figurer qu'une fois"})
    return errors
