"""Intake's request and response bodies: validation naming every faulty field, list items."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import msgspec
from litestar.exceptions import ValidationException

from aap_contract.config import CallConfig
from aap_contract.dossier import Dossier, siren_is_valid, siret_is_valid
from aap_contract.entry import DossierEntry
from aap_contract.lifecycle import STATUSES
from aap_platform.validation import FieldErrors, parse
from services.intake.view import Filters


class WithdrawBody(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    reason: Annotated[str, msgspec.Meta(max_length=5000)] = ""


def call_checks(data: Any, call: CallConfig) -> FieldErrors:
    """What the dossier's type cannot say: SIREN checksums, and a track the call knows.
    Works on the raw JSON so that these faults are named beside the structural ones."""
    out: FieldErrors = []
    if not isinstance(data, dict):
        return out
    track = data.get("track")
    if isinstance(track, str) and track not in call.tracks:
        out.append({"field": "track", "message": "démarche inconnue ; attendu : " + ", ".join(sorted(call.tracks))})
    applicants = data.get("applicants")
    for i, applicant in enumerate(applicants if isinstance(applicants, list) else []):
        siren = applicant.get("siren") if isinstance(applicant, dict) else None
        if isinstance(siren, str) and len(siren) == 9 and siren.isdigit() and not siren_is_valid(siren):
            out.append({"field": f"applicants[{i}].siren", "message": "numéro SIREN invalide (clé de contrôle)"})
        siret = applicant.get("siret") if isinstance(applicant, dict) else None
        if isinstance(siret, str) and len(siret) == 14 and siret.isdigit():
            if not siret_is_valid(siret):
                out.append({"field": f"applicants[{i}].siret", "message": "numéro SIRET invalide (clé de contrôle)"})
            elif isinstance(siren, str) and not siret.startswith(siren):
                message = "le SIRET d'un établissement commence par le SIREN de sa structure"
                out.append({"field": f"applicants[{i}].siret", "message": message})
    out += _share_checks(applicants if isinstance(applicants, list) else [])
    return out


def _share_checks(applicants: list) -> FieldErrors:
    """Shares of the grant are stated for every structure or for none, and make 100 %."""
    shares = [a.get("share_percent") if isinstance(a, dict) else None for a in applicants]
    stated = [s for s in shares if isinstance(s, int) and not isinstance(s, bool)]
    if not stated:
        return []
    if len(stated) != len(applicants):
        return [
            {
                "field": "applicants",
                "message": "la part de la subvention (share_percent) se donne pour chaque structure ou pour aucune",
            }
        ]
    if sum(stated) != 100:
        return [{"field": "applicants", "message": f"les parts de la subvention font {sum(stated)} %, pas 100 %"}]
    return []


def parse_dossier(raw: bytes, call: CallConfig) -> Dossier:
    """The dossier in a request body, or a 422 naming every faulty field at once."""
    try:
        data = msgspec.json.decode(raw) if raw else None
    except (msgspec.DecodeError, RecursionError):
        data = raw  # parse() reports the unreadable JSON (nested too deep included)
    extra = call_checks(data, call)
    try:
        return parse(data if data is not None else b"", Dossier, extra=lambda _: extra)
    except ValidationException as exc:
        errors = list(exc.extra or [])
        seen = {e["field"] for e in errors}
        errors += [e for e in extra if e["field"] not in seen]
        raise ValidationException(
            "données invalides : " + ", ".join(e["field"] for e in errors), extra=errors, status_code=422
        ) from None


class ImportBody(msgspec.Struct, frozen=True):
    submitted_at: datetime
    dossier: Dossier


def parse_import(raw: bytes, call: CallConfig) -> ImportBody:
    """`{"submitted_at": <tz-aware instant>, "dossier": <Dossier>}`, or a 422 naming the faults."""
    try:
        data = msgspec.json.decode(raw) if raw else None
    except (msgspec.DecodeError, RecursionError):  # nested too deep is unreadable too
        data = None
    if not isinstance(data, dict):
        raise ValidationException(
            "données invalides : body", status_code=422, extra=[{"field": "body", "message": "objet JSON attendu"}]
        )
    at = data.get("submitted_at")
    try:
        submitted_at = datetime.fromisoformat(at) if isinstance(at, str) else None
    except ValueError:
        submitted_at = None
    if submitted_at is None or submitted_at.tzinfo is None:
        raise ValidationException(
            "données invalides : submitted_at",
            status_code=422,
            extra=[{"field": "submitted_at", "message": "instant ISO 8601 avec fuseau attendu"}],
        )
    return ImportBody(submitted_at, parse_dossier(msgspec.json.encode(data.get("dossier")), call))


def parse_withdraw(raw: bytes) -> WithdrawBody:
    return parse(raw, WithdrawBody) if raw.strip() else WithdrawBody()


def item(entry: DossierEntry, *, full: bool = False) -> dict:
    """A dossier as the API shows it (ARCHITECTURE.md, Intake)."""
    out = {
        "dossier_id": entry.dossier_id,
        "status": entry.status,
        "session": entry.session,
        "agenda_session": entry.agenda_session,
        "eligible": entry.eligible,
        "reasons": entry.reasons,
        "failures": [{"code": f.code, "message": f.message} for f in entry.failures],
        "granted_cents": entry.granted_cents,
        "committed_cents": entry.committed_cents,
        "title": entry.dossier.title,
        "theme": entry.dossier.theme,
        "departement": entry.departement,
        "submitted_at": entry.submitted_at.isoformat(),
        "updated_at": entry.updated_at.isoformat(),
        "document_sha256": entry.document_sha256,
    }
    if full:
        out["dossier"] = msgspec.to_builtins(entry.dossier)
    return out


MAX_PAGE_SIZE = 200


def parse_query(params: dict[str, str]) -> tuple[Filters, int, int]:
    """The list's filters and page, or a 422 naming every faulty parameter."""
    errors: FieldErrors = []

    def number(name: str, default: int | None, low: int, high: int) -> int | None:
        raw = params.get(name)
        if raw in (None, ""):
            return default
        if not (raw.isascii() and raw.isdigit()) or not low <= int(raw) <= high:
            errors.append({"field": name, "message": f"entier attendu entre {low} et {high}"})
            return default
        return int(raw)

    status = params.get("status") or None
    if status is not None and status not in STATUSES:
        errors.append({"field": "status", "message": "statut inconnu ; attendu : " + ", ".join(STATUSES)})
    session = number("session", None, 1, 10**6)
    page = number("page", 1, 1, 10**9)
    page_size = number("page_size", 50, 1, MAX_PAGE_SIZE)
    if errors:
        raise ValidationException(
            "paramètres invalides : " + ", ".join(e["field"] for e in errors), extra=errors, status_code=422
        )
    filters = Filters(
        status=status, session=session, departement=params.get("departement") or None, theme=params.get("theme") or None
    )
    assert page is not None and page_size is not None  # both have a default
    return filters, page, page_size
