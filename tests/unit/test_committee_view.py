"""The committee's read side: ranking means, agenda and the budget as the committee sees it."""

from __future__ import annotations

from aap_contract.events import CreditsCommitted, Lapse, ReservationsLapsed, Scores
from services.committee.domain import Decide, RecordReview
from services.committee.present import detail, summary
from services.committee.ranking import ranking
from tests.unit.committee_given import CALL, OPEN1, Given, at


def test_ranking_means_per_criterion_and_overall_sorted_best_first():
    g = Given()
    for ref in ("ETAT-CIVIL", "PORTAIL", "FORMATION"):
        g.dossier(ref)
    g.decided(RecordReview(1, "ETAT-CIVIL", "referent-62", Scores(0, 0, 0, 0)))
    g.decided(RecordReview(1, "ETAT-CIVIL", "referent-62", Scores(3, 2, 3, 3)))  # revised: last counts
    g.decided(RecordReview(1, "ETAT-CIVIL", "referent-59", Scores(2, 2, 2, None)))  # free software n/a
    g.decided(RecordReview(1, "PORTAIL", "referent-regional-1", Scores(1, 1, 1, None)))
    rows = ranking(g.view().session(1), g.view().index.entries, CALL.committee.criteria)

    assert [r.dossier_id for r in rows] == ["ETAT-CIVIL", "PORTAIL", "FORMATION"]
    assert [r.rank for r in rows] == [1, 2, 3]
    etat = rows[0]
    assert etat.reviews == 2
    assert etat.means == {"diagnosis": 2.5, "co_construction": 2.0, "roadmap": 2.5, "free_software": 3.0}
    assert etat.overall == 2.5
    assert rows[1].means["free_software"] is None and rows[1].overall == 1.0  # n/a left out
    assert rows[2].reviews == 0 and rows[2].overall is None  # unreviewed last


def test_session_read_shows_agenda_decisions_and_funding():
    g = Given()
    for ref in ("ETAT-CIVIL", "PORTAIL"):
        g.dossier(ref)
    g.dossier("RETIRE", withdrawn=True)
    etat = g.decided(Decide(1, "ETAT-CIVIL", "select", granted_cents=4_500_000))
    view = g.view()
    shown = detail(view, CALL.session(1), OPEN1)
    rows = {r["dossier_id"]: r for r in shown["agenda"]}
    assert set(rows) == {"ETAT-CIVIL", "PORTAIL"}
    assert rows["ETAT-CIVIL"]["decision"] == "select" and rows["ETAT-CIVIL"]["funding"] == "pending"
    assert rows["PORTAIL"]["decision"] is None
    assert (shown["status"], shown["agenda_size"], shown["decided"]) == ("open", 2, 1)
    assert summary(view, CALL.session(2), OPEN1)["status"] == "upcoming"

    g.refused(etat)
    rows = {r["dossier_id"]: r for r in detail(g.view(), CALL.session(1), OPEN1)["agenda"]}
    assert rows["ETAT-CIVIL"]["status"] == "selection_unfunded"
    assert rows["ETAT-CIVIL"]["decision"] is None and rows["ETAT-CIVIL"]["funding"] == "refused"


def test_available_is_envelope_minus_reserved_committed_and_unanswered_selections():
    g = Given()
    g.dossier("ETAT-CIVIL")
    g.dossier("SVI")
    envelope = CALL.budget.envelope_cents
    etat = g.decided(Decide(1, "ETAT-CIVIL", "select", granted_cents=4_500_000))
    svi = g.decided(Decide(1, "SVI", "select", granted_cents=5_000_000))
    assert g.view().budget.available_cents == envelope - 9_500_000
    g.reserved(etat)
    g.refused(svi)
    assert g.view().budget.available_cents == envelope - 4_500_000
    g.add(CreditsCommitted(dossier_id="ETAT-CIVIL", amount_cents=4_500_000, legal_reference="EJ-1"))
    assert g.view().budget.available_cents == envelope - 4_500_000
    g.reserved(g.decided(Decide(1, "SVI", "select", granted_cents=3_500_000)))
    g.add(ReservationsLapsed(deadline=at("2021-12-31T23:59:59+01:00"), lapses=[Lapse("SVI", 3_500_000)]))
    assert g.view().budget.available_cents == envelope - 4_500_000
