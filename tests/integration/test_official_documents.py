"""The official documents of each decision (arrêté attributif, lettre de notification, lettre de
non-sélection): generated once when the session's notifications go out, PDF/A with embedded
fonts, read back as text; the arrêté travels with the lauréat's e-mail; an auditor's
regeneration gives the recorded hash. One page of each kind is written as PNG under
tests/artifacts/ for a person to look at."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from litestar.testing import AsyncTestClient

from aap_contract.events import OfficialDocumentIssued
from services.notifier.app import create_app
from tests.integration.test_notifier_delivery import history, settle, smtp  # noqa: F401 (fixtures)
from tests.unit.test_notifier_history import CALL, FAILURE, MOTIVATION

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
POPPLER = shutil.which("pdftotext") and shutil.which("pdftoppm") and shutil.which("pdffonts")
needs_poppler = pytest.mark.skipif(not POPPLER, reason="poppler-utils (pdftotext, pdftoppm) not installed")


def text_of(pdf: bytes, tmp_path: Path, name: str) -> str:
    path = tmp_path / f"{name}.pdf"
    path.write_bytes(pdf)
    fonts = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True).stdout
    assert all(line.split()[-5] == "yes" for line in fonts.splitlines()[2:]), f"a font is not embedded:\n{fonts}"
    return " ".join(
        subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout.split()
    )


def picture(pdf: bytes, tmp_path: Path, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    path = tmp_path / f"{name}.pdf"
    path.write_bytes(pdf)
    subprocess.run(
        [
            "pdftoppm",
            "-png",
            "-r",
            "60",
            "-f",
            "1",
            "-l",
            "1",
            "-singlefile",
            str(path),
            str(ARTIFACTS / f"official-{name}"),
        ],
        check=True,
    )


async def issued(store, document_id: str) -> list[OfficialDocumentIssued]:
    loaded = await store.load("official", document_id)
    return [e.data for e in loaded.events if isinstance(e.data, OfficialDocumentIssued)]


@needs_poppler
async def test_each_decision_has_its_documents_generated_once_and_verifiable(
    smtp,
    settings,
    store,
    history,
    auth,
    tmp_path,  # noqa: F811
):
    inbox, start, _ = smtp
    start()
    async with AsyncTestClient(create_app(settings)) as client:
        await settle(client, store)
        auditor, agent = auth("auditor"), auth("instructor")

        # the lauréat's e-mail carries its arrêté and its letter
        _, mail = inbox.by_notification()["s1-individual-d-civil"][0]
        attached = {part.get_filename(): part.get_content() for part in mail.iter_attachments()}
        reference = f"{CALL.upper()}-S1-AS001"
        assert set(attached) == {f"arrete-attributif-{reference}.pdf", f"lettre-de-notification-{reference}.pdf"}

        arrete = text_of(attached[f"arrete-attributif-{reference}.pdf"], tmp_path, "arrete")
        for words in (
            "Arrêté attributif de subvention",
            f"n° {reference}",
            "Commune de Valmont",
            "SIREN 215903501",
            "45 000,00 €",
            "75,00 %",
            "60 000,00 €",
            "Article 1 — Bénéficiaire",
            "Article 4 — Dépenses",
            "Article 5 — Délai de commencement",
            "12 mois",
            "Article 7 — Caducité",
            "Article 8 — Voies et délais de recours",
            "tribunal administratif de Lille",
            "Vu le décret n° 2018-514",
            "Dématérialisation de l'état civil",
            "20 mai 2021",
        ):
            assert words.replace(" ", "\u00a0") in arrete or words in arrete, words
        letter = text_of(attached[f"lettre-de-notification-{reference}.pdf"], tmp_path, "lettre")
        assert "a retenu votre projet" in letter and "Voies et délais de recours" in letter

        # the non-retained: a letter each, with the committee's motivation or the rules' reasons
        rejected = (await client.get("/dossiers/d-rejected/official", headers=agent)).json()["items"]
        assert [(d["kind"], d["reference"]) for d in rejected] == [("non_selection", f"{CALL.upper()}-S1-NS002")]
        pdf = (await client.get(f"/official/{rejected[0]['document_id']}", headers=agent)).content
        refusal = text_of(pdf, tmp_path, "non-selection")
        assert MOTIVATION.split(",")[0] in refusal and "Voies et délais de recours" in refusal
        ineligible = (await client.get("/dossiers/d-ineligible/official", headers=agent)).json()["items"]
        pdf_ineligible = (await client.get(f"/official/{ineligible[0]['document_id']}", headers=agent)).content
        assert "strictement supérieur" in text_of(pdf_ineligible, tmp_path, "ineligible") and FAILURE
        assert (await client.get("/dossiers/d-deferred/official", headers=agent)).json()["items"] == []

        # recorded once, and an auditor's regeneration from the log gives the same hash
        for document_id in (
            "s1-arrete-d-civil",
            "s1-notification-d-civil",
            "s1-arrete-d-joint",
            "s1-non_selection-d-rejected",
            "s1-non_selection-d-ineligible",
        ):
            assert len(await issued(store, document_id)) == 1, document_id
            check = (await client.get(f"/official/{document_id}/verify", headers=auditor)).json()
            assert check["identical"] is True and check["recorded_sha256"] == check["regenerated_sha256"]

        # ids are checked before use; an applicant sees only its own structures' documents
        assert (await client.get("/official/..%2F..%2Fetc", headers=agent)).status_code == 404
        assert (
            await client.get("/official/s1-arrete-d-civil", headers=auth("applicant", "x", sirens=["215902545"]))
        ).status_code == 404
        own = await client.get("/official/s1-arrete-d-civil", headers=auth("applicant", "v", sirens=["215903501"]))
        assert own.status_code == 200 and own.headers["content-type"] == "application/pdf"

        picture(attached[f"arrete-attributif-{reference}.pdf"], tmp_path, "arrete")
        picture(attached[f"lettre-de-notification-{reference}.pdf"], tmp_path, "lettre-de-notification")
        picture(pdf, tmp_path, "lettre-de-non-selection")

    # a restarted notifier neither sends nor issues anything again
    async with AsyncTestClient(create_app(settings)) as client:
        await settle(client, store)
    assert len(await issued(store, "s1-arrete-d-civil")) == 1
    assert len(inbox.by_notification()["s1-individual-d-civil"]) == 1
