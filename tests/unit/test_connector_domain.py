"""The connector's dndossier decider: Given past facts, When a command, Then one fact or nothing."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from aap_contract.envelope import Event
from aap_contract.events import DnDossierDeleted, DnDossierImported, DnImportFailed, DnWriteBackDone
from aap_contract.refusal import Refusal
from services.connector.domain import (
    RecordDeletion,
    RecordFailure,
    RecordImport,
    RecordWriteBack,
    decide,
    evolve,
    initial_state,
    needs_import,
)

AT = datetime(2021, 4, 6, 10, 14, 22, tzinfo=UTC)
IMPORT = RecordImport("d1", 41027, 4381211, "RG9zc2llci00MzgxMjEx", "submitted", "f1", AT, "md5")


def given(*facts):
    state = initial_state()
    for i, data in enumerate(facts, start=1):
        state = evolve(
            state, Event("e", type(data).__name__, 1, "dndossier", "d1", i, AT, "connector", "c", None, "0" * 64, data)
        )
    return state


def imported(fingerprint="f1", checksum="md5"):
    return DnDossierImported("d1", 41027, 4381211, "RG9zc2llci00MzgxMjEx", "submitted", fingerprint, AT, checksum)


def test_a_first_import_is_recorded_and_the_same_content_again_records_nothing():
    assert decide(IMPORT, given()) == imported()
    assert decide(IMPORT, given(imported())) is None
    assert not needs_import(given(imported()), "f1") and needs_import(given(imported()), "f2")


def test_a_failure_is_listed_once_and_tried_again_only_when_the_dossier_changes():
    failure = RecordFailure("d1", 41027, 4381211, "unmappable", ["thème inconnu"], "f1", AT)
    fact = decide(failure, given())
    assert isinstance(fact, DnImportFailed)
    assert decide(failure, given(fact)) is None
    assert not needs_import(given(fact), "f1") and needs_import(given(fact), "f2")
    document = DnImportFailed("d1", 41027, 4381211, "document", ["lien expiré"], "f1", AT)
    assert needs_import(given(document), "f1")  # a file is tried again at every pass


def test_a_deletion_is_recorded_once_and_a_deleted_dossier_is_never_imported_again():
    deletion = RecordDeletion("d1", 41027, 4381211, "user_request", AT)
    fact = decide(deletion, given(imported()))
    assert isinstance(fact, DnDossierDeleted)
    assert decide(deletion, given(imported(), fact)) is None
    assert not needs_import(given(imported(), fact), "f9")


def test_a_write_back_is_recorded_once_per_key():
    command = RecordWriteBack("d1", "dossierPasserEnInstruction", "instruction")
    fact = decide(command, given(imported()))
    assert fact == DnWriteBackDone("d1", 4381211, "dossierPasserEnInstruction", "instruction")
    assert decide(command, given(imported(), fact)) is None
    with pytest.raises(Refusal) as refused:
        decide(command, given())
    assert refused.value.code == "UNKNOWN_DOSSIER"


def test_the_dn_id_is_known_even_when_only_the_document_failed():
    state = given(DnImportFailed("d1", 41027, 4381211, "document", ["lien expiré"], "f1", AT))
    assert state.in_aap and not state.known and state.dn_dossier_id == "RG9zc2llci00MzgxMjEx"
