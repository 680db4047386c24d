"""The console's own rules: who may sign in (the call's agent table), what each role may open, the
agent table's validation in the call file, and the amount a person types."""

from __future__ import annotations

import pytest

from aap_contract.config import ConfigError, load_call, parse_call
from aap_contract.refusal import Refusal
from services.console.domain import PAGES, SignIn, decide, evolve, initial_state
from services.console.http import parse_euros

CALL_FILE = "config/calls/hdf-itn7-axe3-2021.toml"


def test_an_agent_signs_in_by_e_mail_whatever_its_case():
    call = load_call()
    agent = decide(SignIn(email="  Marc.Lefebvre@Hauts-de-France.gouv.example "), initial_state(), call.console)
    assert (agent.role, agent.member_id) == ("committee_member", "referent-regional-1")
    assert agent.may_see("sessions") and not agent.may_see("audit") and not agent.may_see("notifications")


def test_someone_outside_the_table_is_refused_in_french():
    with pytest.raises(Refusal) as refused:
        decide(SignIn(email="personne@example.org"), initial_state(), load_call().console)
    assert refused.value.code == "UNKNOWN_AGENT" and "liste des agents" in refused.value.message
    with pytest.raises(Refusal):
        decide(SignIn(email=""), initial_state(), load_call().console)


def test_the_console_state_never_changes():
    assert evolve(initial_state(), None) == initial_state()  # type: ignore[arg-type]


def test_only_auditors_and_admins_open_the_audit_page():
    assert set(PAGES["audit"]) == {"auditor", "admin"}


def _with_users(block: str) -> str:
    return open(CALL_FILE, encoding="utf-8").read().split("[[console.users]]")[0] + block


@pytest.mark.parametrize(
    "block, problem",
    [
        ('[[console.users]]\nemail = "x@example.org"\nname = "X"\nrole = "wizard"\n', "rôle inconnu"),
        (
            '[[console.users]]\nemail = "x@example.org"\nname = "X"\nrole = "committee_member"\n',
            "sans member_id connu",
        ),
        (
            '[[console.users]]\nemail = "x@example.org"\nname = "X"\nrole = "committee_member"\nmember_id = "nobody"\n',
            "sans member_id connu",
        ),
        (
            '[[console.users]]\nemail = "x@example.org"\nname = "X"\nrole = "auditor"\nmember_id = "referent-59"\n',
            "sans être membre du comité",
        ),
        (
            '[[console.users]]\nemail = "not-an-address"\nname = "X"\nrole = "auditor"\n',
            "pas d'adresse électronique valide",
        ),
        (
            (
                '[[console.users]]\nemail = "x@example.org"\nname = "X"\nrole = "auditor"\n'
                '[[console.users]]\nemail = "X@example.org"\nname = "Y"\nrole = "admin"\n'
            ),
            "doivent être uniques",
        ),
    ],
)
def test_the_agent_table_is_checked_when_the_call_loads(block, problem):
    with pytest.raises(ConfigError) as exc:
        parse_call(_with_users(block), "test.toml")
    assert problem in str(exc.value)


def test_a_call_without_console_table_still_loads():
    assert parse_call(_with_users(""), "test.toml").console.users == []


@pytest.mark.parametrize(
    "raw, cents",
    [
        ("30000", 3_000_000),
        ("30 000", 3_000_000),
        ("30\u202f000,50", 3_000_050),
        ("30000.5", 3_000_050),
        ("1 000 €", 100_000),
        ("", None),
        ("-5", None),
        ("12,345", None),
        ("abc", None),
        ("1e5", None),
    ],
)
def test_an_amount_typed_in_euros(raw, cents):
    assert parse_euros(raw) == cents


def test_every_status_and_rule_has_a_french_label():
    from aap_contract.lifecycle import STATUSES
    from services.console import labels

    assert set(labels.STATUS_LABELS) == set(STATUSES)
    assert set(labels.CRITERIA) == set(load_call().committee.criteria)
    assert set(labels.TRACKS) == set(load_call().tracks)


def test_only_auditors_and_admins_read_who_acted_and_a_withdrawal_reason_is_not_for_the_committee():
    from services.console.domain import Agent

    def agent(role: str) -> Agent:
        return Agent(email="a@b.fr", name="A", role=role)

    assert [
        r for r in ("instructor", "committee_member", "budget_officer", "auditor", "admin") if agent(r).reads_actors
    ] == ["auditor", "admin"]
    assert not agent("committee_member").reads_withdrawal_reasons and agent("instructor").reads_withdrawal_reasons
