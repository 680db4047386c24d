"""The lifecycle index keeping a summary of each dossier: the same lifecycle as with the whole
dossier, the summary a pure function of the last submitted or amended content, and views built
on it (committee, budget, notifier) keep no dossier content."""

from __future__ import annotations

import msgspec

from aap_contract.dossier import Dossier
from aap_contract.entry import (
    ApplicantSummary,
    DossierSummary,
    summary,
    summary_with_applicants,
)
from aap_contract.events import DossierAmended, DossierSubmitted
from aap_contract.lifecycle import DossierIndex, evolve_index
from aap_platform.audit import digest
from aap_platform.codec import decode
from bench.history import History
from bench.views import view


def history(n: int = 300):
    return [decode(payload) for _, payload, _ in History().messages(n)]


def _without_content(entry):
    return msgspec.structs.replace(entry, dossier=None, document_sha256=None)


def test_summary_index_has_the_same_lifecycle_and_summarises_the_last_content():
    events = history()
    full, slim, rich = DossierIndex(), DossierIndex(summary), DossierIndex(summary_with_applicants)
    for event in events:
        evolve_index(full, event), evolve_index(slim, event), evolve_index(rich, event)
    assert full.entries.keys() == slim.entries.keys() == rich.entries.keys() and full.entries
    statuses = set()
    for dossier_id, entry in full.entries.items():
        s, r = slim.entries[dossier_id], rich.entries[dossier_id]
        assert _without_content(s) == _without_content(entry) == _without_content(r)
        assert isinstance(entry.dossier, Dossier)
        assert s.dossier == summary(entry.dossier) and r.dossier == summary_with_applicants(entry.dossier)
        for e in (entry, s, r):  # the entry reads the same whatever it keeps
            assert (e.title, e.theme, e.departement, e.global_cost_cents, e.requested_cents, e.sirens) == (
                entry.dossier.title,
                entry.dossier.theme,
                entry.departement,
                entry.dossier.financing.global_cost_cents,
                entry.dossier.financing.requested_cents,
                entry.dossier.sirens,
            )
        assert s.document_sha256 is None and r.document_sha256 is None  # the document's hash is content
        assert s.applicants == () and r.dossier.sirens == ()
        assert (
            r.applicants
            == entry.applicants
            == tuple(
                ApplicantSummary(a.name, a.siren, a.siret, a.contact.email, a.operational_contact)
                for a in entry.dossier.applicants
            )
        )
        statuses.add(entry.status)
    assert {"ineligible", "rejected", "withdrawn", "committed", "selection_unfunded"} <= statuses
    assert any(e.document_sha256 for e in full.entries.values())  # the full index keeps it
    assert any(isinstance(e.data, DossierAmended) for e in events)


def test_amendment_replaces_the_summary():
    events = history(50)
    submitted = next(e for e in events if isinstance(e.data, DossierSubmitted))
    index = DossierIndex(summary_with_applicants)
    evolve_index(index, submitted)
    dossier = submitted.data.dossier
    lead = msgspec.structs.replace(
        dossier.applicants[0],
        operational_contact=True,
        departement="62",
        contact=msgspec.structs.replace(dossier.applicants[0].contact, email="new@ex.fr"),
    )
    amended = msgspec.structs.replace(dossier, title="Nouveau titre", applicants=[lead])
    evolve_index(
        index,
        msgspec.structs.replace(
            submitted,
            event_id="amend-1",
            type="DossierAmended",
            data=DossierAmended(submitted.data.dossier_id, amended, 1),
        ),
    )
    entry = index.entries[submitted.data.dossier_id]
    assert isinstance(entry.dossier, DossierSummary)
    assert (entry.title, entry.departement, entry.status, entry.content_event_id) == (
        "Nouveau titre",
        "62",
        "submitted",
        "amend-1",
    )
    assert entry.applicants == (ApplicantSummary(lead.name, lead.siren, lead.siret, "new@ex.fr", True),)
    assert entry.sirens == [lead.siren]


def test_committee_budget_and_notifier_views_keep_no_dossier_content_and_rebuild_to_the_same_digest():
    events = history(100)
    for name in ("committee", "budget", "notifier"):
        initial, evolve, types, _ = view(name)
        live, rebuilt = initial(), initial()
        for event in events:
            if event.type in types:
                live = evolve(live, event)
        for event in events:
            if event.type in types:
                rebuilt = evolve(rebuilt, event)
        index = {"committee": lambda v: v.index, "budget": lambda v: v.dossiers, "notifier": lambda v: v.dossiers}[
            name
        ](live)
        assert index.entries and all(isinstance(e.dossier, DossierSummary) for e in index.entries.values())
        assert all(bool(e.applicants) == (name == "notifier") for e in index.entries.values())
        assert digest(live) == digest(rebuilt)
