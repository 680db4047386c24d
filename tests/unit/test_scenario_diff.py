from aap.scenario.diff import compare, report, same

OUTCOME = {
    "steps": [{"index": 0, "ok": True}, {"index": 1, "ok": False, "error": "LOCKED", "message": "Verrouillé."}],
    "dossiers": {
        "A": {
            "status": "eligible",
            "session": 1,
            "eligible": True,
            "reasons": [],
            "granted_cents": None,
            "committed_cents": None,
        }
    },
    "budget": {"envelope_cents": 100, "reserved_cents": 0, "committed_cents": 0, "available_cents": 100},
    "notifications": {"individual": [], "collective": {}},
    "laureates": {},
}


def expected(**changes):
    return {**{k: v for k, v in OUTCOME.items()}, **changes}


def test_identical_outcomes_have_no_difference_and_step_messages_are_ignored():
    steps = [{"index": 0, "ok": True}, {"index": 1, "ok": False, "error": "LOCKED"}]
    assert compare(expected(steps=steps), OUTCOME) == []


def test_a_different_refusal_code_is_reported_with_its_path():
    steps = [{"index": 0, "ok": True}, {"index": 1, "ok": False, "error": "WINDOW"}]
    assert compare(expected(steps=steps), OUTCOME) == ['steps[1].error: expected "WINDOW", got "LOCKED"']


def test_missing_and_extra_dossiers_and_fields_are_reported():
    dossiers = {"B": {"status": "eligible"}}
    diffs = compare(expected(dossiers=dossiers), OUTCOME)
    assert 'dossiers.B: expected {"status": "eligible"}, got (missing)' in diffs
    assert any(d.startswith("dossiers.A: expected (missing), got {") for d in diffs)


def test_a_missing_step_is_a_difference():
    diffs = compare(expected(steps=OUTCOME["steps"] + [{"index": 2, "ok": True}]), OUTCOME)
    assert diffs == ['steps[2]: expected {"index": 2, "ok": true}, got (missing)']


def test_lists_of_refs_compare_as_a_whole_and_order_matters():
    got = expected(laureates={"1": ["A", "B"]})
    assert compare(expected(laureates={"1": ["B", "A"]}), got) == ['laureates.1: expected ["B", "A"], got ["A", "B"]']


def test_true_is_not_one_and_null_is_not_zero():
    assert not same(True, 1) and not same(None, 0) and same(4500000, 4500000.0)
    budget = {**OUTCOME["budget"], "reserved_cents": None}
    assert compare(expected(budget=budget), OUTCOME) == ["budget.reserved_cents: expected null, got 0"]


def test_only_the_sections_the_expectation_names_are_compared_and_unknown_ones_are_flagged():
    assert compare({"budget": OUTCOME["budget"]}, OUTCOME) == []
    assert compare({"budgets": {}}, OUTCOME) == [
        "budgets: not a section of the outcome (one of steps, dossiers, budget, notifications, laureates)"
    ]


def test_report_counts_the_differences():
    text = report(["a: expected 1, got 2"], "01-x")
    assert text.splitlines() == [
        "scenario 01-x: 1 difference(s) between expected and obtained outcome:",
        "  a: expected 1, got 2",
    ]
