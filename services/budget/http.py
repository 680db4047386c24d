"""The budget's HTTP API: read the envelope and reservations, record legal commitments.
Routes translate a request to a handler call and its result to a response, nothing more."""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import Request, Response, get, post, put
from litestar.exceptions import ValidationException
from litestar.params import FromPath

from aap_contract.conformity import ID_PATTERN
from aap_contract.dossier import siren_is_valid, siret_is_valid
from aap_platform import idempotency
from aap_platform.auth import principal, require
from aap_platform.openapi import documented
from aap_platform.validation import FieldErrors, parse
from services.budget.domain import Identify
from services.budget.handlers import BudgetHandlers
from services.budget.view import figures

READ = require("budget_officer", "instructor", "auditor", "admin", "committee_member")
COMMIT = require("budget_officer", "admin")


class CommitmentIn(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    dossier_id: Annotated[str, msgspec.Meta(pattern=r"\A" + ID_PATTERN + r"\Z")]
    legal_reference: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]


class CommitmentOut(msgspec.Struct, frozen=True):
    dossier_id: str
    committed_cents: int
    legal_reference: str


class BeneficiaryIn(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    siret: Annotated[str, msgspec.Meta(pattern=r"^[0-9]{14}$")] | None = None
    rna: Annotated[str, msgspec.Meta(pattern=r"^W[0-9]{9}$")] | None = None


def _beneficiary_checks(siren: str):
    def check(body: BeneficiaryIn) -> FieldErrors:
        errors: FieldErrors = []
        if body.siret is None and body.rna is None:
            errors.append({"field": "siret", "message": "un SIRET ou un numéro RNA est attendu"})
        if body.siret is not None and not siret_is_valid(body.siret):
            errors.append({"field": "siret", "message": "numéro SIRET invalide (clé de contrôle)"})
        elif body.siret is not None and not body.siret.startswith(siren):
            errors.append(
                {"field": "siret", "message": f"le SIRET d'un établissement commence par son SIREN ({siren})"}
            )
        return errors

    return check


def _blank_fields(body: CommitmentIn) -> FieldErrors:
    return [
        {"field": f, "message": "ne doit pas être vide"}
        for f in ("dossier_id", "legal_reference")
        if not getattr(body, f).strip()
    ]


def _handlers(request: Request) -> BudgetHandlers:
    return request.app.state.handlers


@get(
    "/budget",
    guards=[READ],
    summary="L'enveloppe : réservé, engagé, disponible, par session, département et thème",
    **documented(),
)
async def budget(request: Request) -> dict:
    h = _handlers(request)
    call = h.runtime.call
    return figures(
        h.view.state,
        sessions=[str(s.number) for s in call.sessions],
        departements=list(call.departements),
        themes=[code for code in call.themes if "." in code],
    )


@get(
    "/reservations",
    guards=[READ],
    summary="Les réservations et engagements, dossier par dossier",
    **documented(),
)
async def reservations(request: Request) -> dict:
    records = sorted(_handlers(request).view.state.records.values(), key=lambda r: r.dossier_id)
    return {"items": [msgspec.to_builtins(r) for r in records]}


@post(
    "/commitments",
    guards=[COMMIT],
    status_code=201,
    summary="Enregistrer un engagement juridique",
    **documented(
        body=CommitmentIn,
        refusals=("COMMITMENT_DEADLINE", "NOT_SELECTED"),
        not_found=("UNKNOWN_DOSSIER",),
        idempotency_key="optional",
    ),
)
async def commit(request: Request) -> Response:
    body = parse(await request.body(), CommitmentIn, extra=_blank_fields)
    dossier_id, reference = body.dossier_id.strip(), body.legal_reference.strip()
    key, _ = idempotency.key(request)
    done, replayed = await _handlers(request).commit(dossier_id, reference, principal(request).subject, key)
    out = CommitmentOut(dossier_id=dossier_id, committed_cents=done.amount_cents, legal_reference=reference)
    return Response(msgspec.to_builtins(out), status_code=201, headers=idempotency.replayed_headers(key, replayed))


@put(
    "/commitments/{dossier_id:str}/beneficiaries/{siren:str}",
    guards=[COMMIT],
    summary="Compléter le SIRET (ou le numéro RNA) d'une structure bénéficiaire d'une subvention engagée",
    **documented(body=BeneficiaryIn, refusals=("NOT_COMMITTED", "NOT_A_BENEFICIARY"), not_found=("UNKNOWN_DOSSIER",)),
)
async def identify(request: Request, dossier_id: FromPath[str], siren: FromPath[str]) -> dict:
    if not siren_is_valid(siren):
        raise ValidationException(
            "données invalides : siren", extra=[{"field": "siren", "message": "numéro SIREN invalide"}], status_code=422
        )
    body = parse(await request.body(), BeneficiaryIn, extra=_beneficiary_checks(siren))
    done = await _handlers(request).identify(
        Identify(dossier_id, siren, body.siret, body.rna), principal(request).subject
    )
    return {"dossier_id": done.dossier_id, "siren": done.siren, "siret": done.siret, "rna": done.rna}


ROUTES = [budget, reservations, commit, identify]
