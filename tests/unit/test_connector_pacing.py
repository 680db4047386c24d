"""The connector's pacing and write-back plan, pure."""

from __future__ import annotations

from aap_contract.config import load_call
from aap_contract.events import EligibilityAssessed, ProjectSelected, ReviewRecorded, RuleFailure, Scores
from services.connector import writeback
from services.connector.client import Pacer

CALL = load_call("hdf-itn7-axe3-2021")
LINK = CALL.connector.demarches["standard"]


def test_the_pacer_never_lets_a_minute_hold_more_than_the_limit():
    now = [0.0]
    pacer = Pacer(400, clock=lambda: now[0])
    sent = []
    while now[0] < 180:
        wait = pacer.delay()
        if wait == 0:
            sent.append(now[0])
        else:
            now[0] += wait
    for start in range(0, 120):
        assert sum(1 for t in sent if start <= t < start + 60) <= 400
    assert len([t for t in sent if t < 60]) >= 390  # and it does use the budget


def test_an_ineligible_dossier_is_put_in_instruction_annotated_then_refused_with_the_reasons():
    a = EligibilityAssessed("d1", "v1", False, [RuleFailure("COST_RANGE", "Le coût global est trop élevé.")])
    plan = writeback.for_assessment(a, "RG9zc2llci0x", LINK, CALL.connector)
    assert [(w.key, w.mutation) for w in plan] == [
        ("instruction", "dossierPasserEnInstruction"),
        ("annotation.eligibility.v1", "dossierModifierAnnotations"),
        ("decision", "dossierRefuser"),
    ]
    assert plan[0].input["disableNotification"] is True  # notifications = "aap"
    assert "Le coût global est trop élevé." in plan[2].input["motivation"]
    assert plan[1].input["annotations"][0]["value"]["textarea"].startswith("Inéligible")


def test_a_laureate_is_accepted_with_the_amount_and_its_mean_score_annotated():
    reviews = [ReviewRecorded(1, "d1", "m1", Scores(3, 2, 3, None)), ReviewRecorded(1, "d1", "m2", Scores(2, 2, 2, 1))]
    plan = writeback.for_decision(
        1, True, "RG9zc2llci0x", LINK, CALL.connector, ProjectSelected(1, "d1", 4_500_000), None, reviews
    )
    assert [w.mutation for w in plan] == ["dossierModifierAnnotations", "dossierAccepter"]
    assert plan[0].input["annotations"][0]["value"] == {"decimalNumber": 2.14}
    assert "45\u00a0000,00\u00a0€" in plan[1].input["motivation"]
