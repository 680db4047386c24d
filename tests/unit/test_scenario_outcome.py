import httpx
import pytest

from aap.scenario.loader import ScenarioError, parse
from aap.scenario.outcome import StepResult, build
from aap.scenario.player import answer, sirens_of

REFS = {"A": "id-a", "B": "id-b", "C": "id-c"}


def item(dossier_id, **fields):
    base = {
        "dossier_id": dossier_id,
        "status": "eligible",
        "session": 1,
        "agenda_session": 1,
        "eligible": True,
        "reasons": [],
        "failures": [],
        "granted_cents": None,
        "committed_cents": None,
        "title": "t",
    }
    return {**base, **fields}


def test_outcome_maps_system_ids_back_to_refs_from_the_services_answers():
    out = build(
        [StepResult(0, True), StepResult(1, False, "WINDOW", "Hors fenêtre.")],
        REFS,
        [
            item("id-b", status="ineligible", eligible=False, reasons=["THEME", "COST_RANGE"]),
            item("id-a", status="committed", granted_cents=4500000, committed_cents=4500000),
            item("id-other"),
        ],
        {"envelope_cents": 10, "reserved_cents": 1, "committed_cents": 2, "available_cents": 7, "by_session": {}},
        {
            "items": [
                {"kind": "individual", "session": 1, "dossier_ids": ["id-a"]},
                {"kind": "collective", "session": 2, "dossier_ids": ["id-c", "id-b"]},
                {"kind": "collective", "session": 1, "dossier_ids": ["id-b"]},
            ],
            "pending": 0,
            "overdue": 0,
        },
        {"sessions": {"2": [], "1": [{"dossier_id": "id-c"}, {"dossier_id": "id-a"}]}},
    )
    assert out["steps"] == [
        {"index": 0, "ok": True},
        {"index": 1, "ok": False, "error": "WINDOW", "message": "Hors fenêtre."},
    ]
    assert list(out["dossiers"]) == ["A", "B"]  # C is not listed by intake: it does not exist
    assert out["dossiers"]["A"] == {
        "status": "committed",
        "session": 1,
        "eligible": True,
        "reasons": [],
        "granted_cents": 4500000,
        "committed_cents": 4500000,
    }
    assert out["dossiers"]["B"]["reasons"] == ["COST_RANGE", "THEME"]
    assert out["budget"] == {"envelope_cents": 10, "reserved_cents": 1, "committed_cents": 2, "available_cents": 7}
    assert out["notifications"] == {"individual": ["A"], "collective": {"1": ["B"], "2": ["B", "C"]}}
    assert out["laureates"] == {"1": ["A", "C"], "2": []}
    assert list(out["laureates"]) == ["1", "2"]


def test_nothing_notified_gives_empty_sections():
    out = build([], {}, [], {}, {"items": []}, {"sessions": {}})
    assert out["notifications"] == {"individual": [], "collective": {}}
    assert out["laureates"] == {} and out["dossiers"] == {}


def response(status, body):
    return httpx.Response(status, json=body)


@pytest.mark.parametrize(
    "status,body,error",
    [
        (201, {"dossier_id": "x"}, None),
        (409, {"code": "LOCKED", "message": "Verrouillé."}, "LOCKED"),
        (404, {"code": "UNKNOWN_DOSSIER", "message": "Inconnu."}, "UNKNOWN_DOSSIER"),
        (422, {"status_code": 422, "detail": "x", "extra": [{"field": "siren", "message": "invalide"}]}, "VALIDATION"),
        (403, {"status_code": 403, "detail": "rôle"}, "HTTP_403"),
        (404, {"status_code": 404, "detail": "Not Found"}, "HTTP_404"),
    ],
)
def test_an_answer_becomes_ok_or_the_refusal_code(status, body, error):
    result = answer(3, response(status, body))
    assert result.index == 3 and result.ok is (error is None) and result.error == error


def test_validation_message_names_the_fields():
    result = answer(0, response(422, {"extra": [{"field": "applicants[0].siren", "message": "invalide"}]}))
    assert "applicants[0].siren" in result.message


def test_sirens_are_read_even_from_malformed_dossiers():
    assert sirens_of({"applicants": [{"siren": "1"}, {"siren": 2}, "x", {"siren": "3"}]}) == ["1", "3"]
    assert sirens_of({"applicants": "nope"}) == [] and sirens_of(None) == []


def test_loader_names_every_problem():
    with pytest.raises(ScenarioError) as exc:
        parse(
            {
                "call": "c",
                "steps": [
                    {"action": "submit", "at": "2021-04-01T10:00:00"},
                    {"action": "fly", "at": "2021-04-01T10:00:00Z"},
                ],
            },
            "s.json",
        )
    text = str(exc.value)
    assert "steps[0].ref: missing" in text and "steps[0].dossier: missing" in text
    assert "steps[0].at" in text and "steps[1].action: 'fly'" in text


def test_loader_reads_instants_with_z_and_keeps_the_raw_step():
    scenario = parse({"name": "n", "call": "c", "steps": [{"action": "advance", "at": "2021-04-01T10:00:00Z"}]})
    step = scenario.steps[0]
    assert step.at.utcoffset().total_seconds() == 0 and step.action == "advance" and scenario.expect is None
