"""What the views that keep a summary decode of a submitted or amended dossier: the fields their
summaries read, nothing else (msgspec skips the rest of the dossier without building it).

The classes read the same names as `shared.dossier.Dossier`, so `shared.entry.summary` and
`summary_with_applicants` give the same summary from either; a dossier decoded in full (an
older version, an audit's own decode) still works. `decode` is the codec to hand such a view's
`Projection`.
"""
from __future__ import annotations

import msgspec

from shared.codec import decoder_with


class ContactDigest(msgspec.Struct, frozen=True, gc=False):
    email: str


class ApplicantDigest(msgspec.Struct, frozen=True, gc=False):
    name: str
    siren: str
    departement: str
    operational_contact: bool
    contact: ContactDigest
    siret: str | None = None


class FinancingDigest(msgspec.Struct, frozen=True, gc=False):
    global_cost_cents: int
    requested_cents: int


class DossierDigest(msgspec.Struct, frozen=True, gc=False):
    title: str
    theme: str
    applicants: list[ApplicantDigest]
    financing: FinancingDigest

    @property
    def sirens(self) -> list[str]:
        return [a.siren for a in self.applicants]


class SubmittedDigest(msgspec.Struct, frozen=True):
    """A `DossierSubmitted` as the summary views read it."""
    dossier_id: str
    dossier: DossierDigest
    session: int


class AmendedDigest(msgspec.Struct, frozen=True):
    """A `DossierAmended` as the summary views read it."""
    dossier_id: str
    dossier: DossierDigest
    session: int


DIGESTS = {"DossierSubmitted": SubmittedDigest, "DossierAmended": AmendedDigest}
decode = decoder_with(DIGESTS)
