"""Bearer tokens: signed, role-bearing, verified against a JWKS."""

from __future__ import annotations

import jwt
import pytest
from litestar.exceptions import NotAuthorizedException

from aap_platform.auth import Principal, Verifier, ensure_dev_keys, issue_token


def test_issued_token_verifies_with_its_claims(keys):
    private, jwks = keys
    token = issue_token(private, role="applicant", subject="mairie-valmont", sirens=["215903501"])
    who = Verifier.from_file(jwks).verify(token)
    assert who == Principal(subject="mairie-valmont", role="applicant", sirens=("215903501",))
    assert who.acts_for(["215903501", "200041580"])
    assert not who.acts_for(["200041580"])


def test_member_binding_and_unbound_roles(keys):
    who = Verifier.from_file(keys[1]).verify(
        issue_token(keys[0], role="committee_member", subject="x", member_id="referent-62")
    )
    assert who.member_id == "referent-62"
    assert who.acts_for(["anything"])


def test_a_token_signed_by_another_key_is_refused(keys, tmp_path):
    other_private, _ = ensure_dev_keys(tmp_path / "other")
    with pytest.raises(NotAuthorizedException):
        Verifier.from_file(keys[1]).verify(issue_token(other_private, role="admin", subject="x"))


def test_expired_or_roleless_tokens_are_refused(keys):
    verifier = Verifier.from_file(keys[1])
    with pytest.raises(NotAuthorizedException):
        verifier.verify(issue_token(keys[0], role="admin", subject="x", ttl=-10))
    roleless = jwt.encode(
        {"sub": "x", "aud": "aap", "exp": 2**31, "role": "king"},
        keys[0].read_bytes(),
        algorithm="ES256",
        headers={"kid": "aap-local"},
    )
    with pytest.raises(NotAuthorizedException):
        verifier.verify(roleless)


def test_unknown_role_cannot_be_issued(keys):
    with pytest.raises(ValueError):
        issue_token(keys[0], role="king", subject="x")
