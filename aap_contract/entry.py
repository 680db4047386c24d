"""What a view keeps of each dossier (SPEC §9): its entry — status, dates, decision — and its
content, whole or summarised. `aap_contract.lifecycle` evolves the entries; intake, committee, budget and
the notifier read them through the same properties, whatever the entry keeps.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from sys import intern

import msgspec

from aap_contract.dossier import Applicant, Dossier
from aap_contract.events import RuleFailure


class ApplicantSummary(msgspec.Struct, frozen=True, gc=False):
    """What the notifier's e-mails and open-data list need of one applicant."""

    name: str
    siren: str
    siret: str | None
    contact_email: str
    operational_contact: bool
    rna: str | None = None
    share_percent: int | None = None


class DossierSummary(msgspec.Struct, frozen=True, gc=False):
    """What a view reports of a dossier's content, without the content itself (a few hundred
    bytes instead of the dossier's ~2 KB). Either `sirens`, or `applicants` (each with its
    SIREN) when the view asks for them: read both through `DossierEntry`."""

    title: str
    theme: str
    departement: str  # the operational contact's (else the first applicant's)
    global_cost_cents: int
    requested_cents: int
    sirens: tuple[str, ...] = ()
    applicants: tuple[ApplicantSummary, ...] = ()


def _lead(dossier: Dossier) -> Applicant:
    for a in dossier.applicants:
        if a.operational_contact:
            return a
    return dossier.applicants[0]


def _applicants(dossier: Dossier) -> tuple[ApplicantSummary, ...]:
    return tuple(
        [
            ApplicantSummary(
                a.name, intern(a.siren), a.siret, a.contact.email, a.operational_contact, a.rna, a.share_percent
            )
            for a in dossier.applicants
        ]
    )


# Few distinct themes, départements and SIRENs: interned, one string object each for all dossiers.


def _summarize(dossier: Dossier, with_applicants: bool) -> DossierSummary:
    f = dossier.financing
    return DossierSummary(
        dossier.title,
        intern(dossier.theme),
        intern(_lead(dossier).departement),
        f.global_cost_cents,
        f.requested_cents,
        () if with_applicants else tuple([intern(a.siren) for a in dossier.applicants]),
        _applicants(dossier) if with_applicants else (),
    )


def summary(dossier: Dossier) -> DossierSummary:
    """The slim summary: title, theme, département, amounts, SIRENs."""
    return _summarize(dossier, False)


def summary_with_applicants(dossier: Dossier) -> DossierSummary:
    """The summary with each applicant's name, SIREN/SIRET, contact e-mail and role (the notifier's need)."""
    return _summarize(dossier, True)


Content = Dossier | DossierSummary
Summarize = Callable[[Dossier], Content]


class DossierEntry(msgspec.Struct, frozen=True, gc=False):
    dossier_id: str
    dossier: Content  # the whole dossier, or its summary (see `DossierIndex`)
    session: int  # the relevé that collected it
    agenda_session: int  # the session whose agenda it is on (after deferrals)
    status: str
    submitted_at: datetime
    updated_at: datetime
    content_event_id: str  # the submission or amendment last assessed against
    eligible: bool | None = None
    failures: tuple[RuleFailure, ...] = ()
    decision_session: int | None = None
    granted_cents: int | None = None
    committed_cents: int | None = None
    legal_reference: str | None = None
    motivation: str | None = None
    document_sha256: str | None = None

    @property
    def reasons(self) -> list[str]:
        return sorted(f.code for f in self.failures)

    # The content as every view reads it, whether the entry keeps the dossier or its summary.
    @property
    def title(self) -> str:
        return self.dossier.title

    @property
    def theme(self) -> str:
        return self.dossier.theme

    @property
    def departement(self) -> str:
        c = self.dossier
        return c.departement if isinstance(c, DossierSummary) else _lead(c).departement

    @property
    def global_cost_cents(self) -> int:
        c = self.dossier
        return c.global_cost_cents if isinstance(c, DossierSummary) else c.financing.global_cost_cents

    @property
    def requested_cents(self) -> int:
        c = self.dossier
        return c.requested_cents if isinstance(c, DossierSummary) else c.financing.requested_cents

    @property
    def sirens(self) -> list[str]:
        c = self.dossier
        if isinstance(c, DossierSummary) and c.applicants:
            return [a.siren for a in c.applicants]
        return list(c.sirens)

    @property
    def applicants(self) -> tuple[ApplicantSummary, ...]:
        """Empty if the entry keeps a summary without applicants."""
        c = self.dossier
        return c.applicants if isinstance(c, DossierSummary) else _applicants(c)


def keep(dossier: Dossier) -> Content:
    """The whole dossier: what intake's entries keep (it serves it)."""
    return dossier
