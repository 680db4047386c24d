"""Every GraphQL document the connector sends validates against DN's official schema (the project's
copy, dn_schema.graphql) and against the subset the fake DN serves; the subset is what
make_subset.py derives from the official schema and the documents (re-run it when they change)."""

from __future__ import annotations

from pathlib import Path

import graphql
import pytest

from services.connector.client import DOCUMENTS
from tests.connector.make_subset import subset

HERE = Path(__file__).resolve().parent
OFFICIAL = graphql.build_schema((HERE / "dn_schema.graphql").read_text(encoding="utf-8"))
SUBSET_TEXT = (HERE / "dn_schema_subset.graphql").read_text(encoding="utf-8")
NAMES = sorted(p.name for p in DOCUMENTS.glob("*.graphql"))


def test_the_connector_sends_these_documents():
    assert NAMES == [
        "accepter.graphql",
        "demarche.graphql",
        "dossier_files.graphql",
        "dossiers.graphql",
        "modifier_annotations.graphql",
        "passer_en_instruction.graphql",
        "refuser.graphql",
    ]


@pytest.mark.parametrize("name", NAMES)
def test_each_document_validates_against_dns_official_schema_and_the_subset(name):
    document = graphql.parse((DOCUMENTS / name).read_text(encoding="utf-8"))
    assert graphql.validate(OFFICIAL, document) == []
    assert graphql.validate(graphql.build_schema(SUBSET_TEXT), document) == []


def test_the_subset_is_up_to_date_with_the_documents():
    assert subset(OFFICIAL) == SUBSET_TEXT
