"""The descriptive document: PDF upload to the JetStream object store, recorded by an event."""

from __future__ import annotations

import hashlib
import io

from pypdf import PdfWriter

from aap_contract.events import DocumentUploaded
from services.intake.documents import bucket_name
from tests.integration.test_intake_api import client, clock, last_seq, submit  # noqa: F401 (fixtures)


def _pdf() -> bytes:
    """A real one-page PDF: the upload is parsed, not only its first bytes read."""
    writer = PdfWriter()
    writer.add_blank_page(72, 72)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


PDF = _pdf()


async def test_pdf_is_stored_and_recorded_with_its_hash(client, auth, clock, last_seq, store):
    owner = auth("applicant", "mairie", sirens=["215903501"])
    await clock("2021-04-06T09:30:00+02:00")
    dossier_id = (await submit(client, owner)).json()["dossier_id"]
    response = await client.put(
        f"/dossiers/{dossier_id}/document", content=PDF, headers={**owner, "Content-Type": "application/pdf"}
    )
    assert response.status_code == 200, response.text
    digest = hashlib.sha256(PDF).hexdigest()
    assert response.json()["sha256"] == digest and response.json()["size"] == len(PDF)

    events = (await store.load("dossier", dossier_id)).events
    assert [type(e.data) for e in events][-1] is DocumentUploaded
    uploaded = events[-1].data
    assert (uploaded.sha256, uploaded.size, uploaded.filename) == (digest, len(PDF), "projet.pdf")
    stored = await (await store.js.object_store(bucket_name(store.call_id))).get(uploaded.object_name)
    assert stored.data == PDF
    one = (await client.get(f"/dossiers/{dossier_id}", headers=owner)).json()
    assert one["document_sha256"] == digest
    read = await client.get(f"/dossiers/{dossier_id}/document", headers=auth("committee_member", "m"))
    assert read.status_code == 200 and read.content == PDF
    assert read.headers["content-type"] == "application/pdf"
    stranger = auth("applicant", "voisine", sirens=["217600212"])
    assert (await client.get(f"/dossiers/{dossier_id}/document", headers=stranger)).status_code == 404


async def test_wrong_type_not_a_pdf_or_too_large_is_refused_and_records_nothing(client, auth, clock, last_seq):
    agent = auth()
    await clock("2021-04-06T09:30:00+02:00")
    dossier_id = (await submit(client, agent)).json()["dossier_id"]
    url = f"/dossiers/{dossier_id}/document"
    as_text = await client.put(url, content=PDF, headers={**agent, "Content-Type": "text/plain"})
    fake = await client.put(
        url, content=b"<html>pas un pdf</html>", headers={**agent, "Content-Type": "application/pdf"}
    )
    large = await client.put(url, content=PDF + b"0" * 5000, headers={**agent, "Content-Type": "application/pdf"})
    assert as_text.status_code == 415 and "application/pdf" in as_text.json()["detail"]
    assert fake.status_code == 422 and fake.json()["extra"][0]["field"] == "body"
    assert large.status_code == 413  # the test app allows 4096 bytes
    assert await last_seq() == 1


async def test_document_of_unknown_foreign_or_locked_dossier_is_refused(client, auth, clock, last_seq):
    owner = auth("applicant", "mairie", sirens=["215903501"])
    stranger = auth("applicant", "voisine", sirens=["217600212"])
    pdf = {"Content-Type": "application/pdf"}
    await clock("2021-04-06T09:30:00+02:00")
    dossier_id = (await submit(client, owner)).json()["dossier_id"]
    unknown = await client.put("/dossiers/nope/document", content=PDF, headers={**owner, **pdf})
    foreign = await client.put(f"/dossiers/{dossier_id}/document", content=PDF, headers={**stranger, **pdf})
    assert unknown.json()["code"] == foreign.json()["code"] == "UNKNOWN_DOSSIER"
    await clock("2021-05-15T00:00:00+02:00")
    locked = await client.put(f"/dossiers/{dossier_id}/document", content=PDF, headers={**owner, **pdf})
    assert (locked.status_code, locked.json()["code"]) == (409, "LOCKED")
    assert await last_seq() == 1
