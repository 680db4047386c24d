from aap.cli import build_parser, main
from aap_platform.auth import Verifier


def test_token_issue_prints_a_token_that_the_services_verify(tmp_path, capsys):
    code = main(
        [
            "token",
            "issue",
            "--role",
            "applicant",
            "--subject",
            "mairie",
            "--siren",
            "215903501",
            "--siren",
            "200041697",
            "--ttl",
            "600",
            "--data-dir",
            str(tmp_path),
        ]
    )
    token = capsys.readouterr().out.strip()
    assert code == 0
    who = Verifier.from_file(tmp_path / "keys" / "jwks.json").verify(token)
    assert (who.role, who.subject, who.sirens) == ("applicant", "mairie", ("215903501", "200041697"))


def test_token_for_a_committee_member_carries_its_member_id_and_reuses_the_key(tmp_path, capsys):
    main(["token", "issue", "--role", "admin", "--subject", "a", "--data-dir", str(tmp_path)])
    key = (tmp_path / "keys" / "jwt-private.pem").read_bytes()
    main(
        [
            "token",
            "issue",
            "--role",
            "committee_member",
            "--subject",
            "r62",
            "--member",
            "referent-62",
            "--data-dir",
            str(tmp_path),
        ]
    )
    token = capsys.readouterr().out.split()[-1]
    assert (tmp_path / "keys" / "jwt-private.pem").read_bytes() == key
    assert Verifier.from_file(tmp_path / "keys" / "jwks.json").verify(token).member_id == "referent-62"


def test_unknown_role_is_refused_by_the_parser(capsys):
    try:
        main(["token", "issue", "--role", "king", "--subject", "x"])
    except SystemExit as exc:
        assert exc.code == 2
    assert "choix invalide" in capsys.readouterr().err


def test_every_command_is_registered(capsys):
    usage = build_parser().format_help()
    for command in ("up", "serve", "token", "clock", "scenario", "demo", "audit", "privacy"):
        assert command in usage


def test_without_data_dir_the_running_aap_up_s_key_signs(tmp_path, capsys, monkeypatch):
    import json
    import os

    state = tmp_path / "up.json"
    monkeypatch.setenv("AAP_UP_STATE", str(state))
    monkeypatch.delenv("AAP_DATA_DIR", raising=False)
    system = tmp_path / "system"
    state.write_text(json.dumps({"pid": os.getpid(), "data_dir": str(system), "nats_url": None, "urls": {}}))
    assert main(["token", "issue", "--role", "admin", "--subject", "moi"]) == 0
    token = capsys.readouterr().out.strip()
    assert Verifier.from_file(system / "keys" / "jwks.json").verify(token).role == "admin"


def test_a_token_signed_by_another_key_is_refused_with_a_message_that_says_so(tmp_path, capsys):
    import pytest
    from litestar.exceptions import NotAuthorizedException

    main(["token", "issue", "--role", "admin", "--subject", "a", "--data-dir", str(tmp_path / "one")])
    token = capsys.readouterr().out.strip()
    main(["token", "issue", "--role", "admin", "--subject", "a", "--data-dir", str(tmp_path / "two")])
    with pytest.raises(NotAuthorizedException) as refused:
        Verifier.from_file(tmp_path / "two" / "keys" / "jwks.json").verify(token)
    assert "clé que ce système ne connaît pas" in refused.value.detail and "--data-dir" in refused.value.detail
