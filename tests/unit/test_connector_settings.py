"""The connector's settings: DN's token from the environment or a file, never shown."""

from __future__ import annotations

from pathlib import Path

from aap_contract.config import load_call
from services.connector.client import DnClient
from services.connector.settings import ConnectorSettings

CONNECTOR = load_call("hdf-itn7-axe3-2021").connector


def test_the_token_comes_from_a_file_and_the_url_can_be_overridden(tmp_path):
    (tmp_path / "dn.token").write_text("secret-from-file\n", encoding="utf-8")
    own = ConnectorSettings.from_env(
        CONNECTOR, Path(".aap"), {"AAP_DN_TOKEN_FILE": str(tmp_path / "dn.token"), "AAP_DN_URL": "http://dn.test/gql"}
    )
    assert (own.dn_token, own.dn_url) == ("secret-from-file", "http://dn.test/gql")
    default = ConnectorSettings.from_env(CONNECTOR, Path(".aap"), {"AAP_DN_TOKEN": "secret"})
    assert default.dn_url == "https://demarche.numerique.gouv.fr/api/v2/graphql" and default.dn_token == "secret"
    assert ConnectorSettings.from_env(CONNECTOR, Path(".aap"), {}).dn_token is None


def test_the_token_is_never_in_a_repr():
    own = ConnectorSettings.from_env(CONNECTOR, Path(".aap"), {"AAP_DN_TOKEN": "secret"})
    assert "secret" not in repr(own)
    assert "secret" not in repr(DnClient("http://dn.test/gql", "secret"))
