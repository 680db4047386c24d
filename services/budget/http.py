"""The budget's HTTP API: read the envelope and reservations, record legal commitments."""
from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import Request, get, post

from aap_platform.auth import principal, require
from aap_platform.projection import Projection
from aap_platform.runtime import Runtime
from aap_platform.validation import FieldErrors, parse
from services.budget.consumers import run_command
from services.budget.domain import Commit, Envelope
from services.budget.view import BudgetView, figures

READ_ROLES = ("budget_officer", "instructor", "auditor", "admin", "committee_member")
COMMIT_ROLES = ("budget_officer", "admin")
CATCH_UP_SECONDS = 10.0


class CommitmentIn(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    dossier_id: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    legal_reference: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]


class CommitmentOut(msgspec.Struct, frozen=True):
    dossier_id: str
    committed_cents: int
    legal_reference: str


def _blank_fields(body: CommitmentIn) -> FieldErrors:
    return [{"field": f, "message": "ne doit pas être vide"}
            for f in ("dossier_id", "legal_reference") if not getattr(body, f).strip()]


def routes(runtime: Runtime, view: Projection[BudgetView], initial: Envelope) -> list:
    call = runtime.call
    sub_themes = [code for code in call.themes if "." in code]

    @get("/budget", guards=[require(*READ_ROLES)])
    async def budget() -> dict:
        return figures(view.state, sessions=[str(s.number) for s in call.sessions],
                       departements=list(call.departements), themes=sub_themes)

    @get("/reservations", guards=[require(*READ_ROLES)])
    async def reservations() -> dict:
        records = sorted(view.state.records.values(), key=lambda r: r.dossier_id)
        return {"items": [msgspec.to_builtins(r) for r in records]}

    @post("/commitments", guards=[require(*COMMIT_ROLES)], status_code=201)
    async def commit(request: Request) -> CommitmentOut:
        body = parse(await request.body(), CommitmentIn, extra=_blank_fields)
        # Decide on views that include everything already in the stream (the dossier may
        # have been submitted a moment ago).
        await view.wait_for(await runtime.store.last_sequence(), timeout=CATCH_UP_SECONDS)
        dossier_id, reference = body.dossier_id.strip(), body.legal_reference.strip()
        command = Commit(dossier_id=dossier_id, legal_reference=reference, now=runtime.now(),
                         dossier_known=dossier_id in view.state.dossiers.entries)
        event = await run_command(runtime.store, initial, command, now=runtime.now,
                                  actor=principal(request).subject)
        await view.wait_for(await runtime.store.last_sequence(), timeout=CATCH_UP_SECONDS)  # read your write
        return CommitmentOut(dossier_id=dossier_id, committed_cents=event.data.amount_cents,
                             legal_reference=reference)

    return [budget, reservations, commit]
