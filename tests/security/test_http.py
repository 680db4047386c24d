"""The HTTP edge: ids that would become subjects, sizes without bounds and the small holes of
issue 12, tried on intake (with a real, secured nats-server) — each refused with a 4xx, nothing
recorded that should not be, and the log still verifying afterwards."""

from __future__ import annotations

import asyncio
import copy
import io
import json
from datetime import datetime
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from litestar.testing import AsyncTestClient
from pypdf import PdfWriter

from aap.audit.log import read_stream
from aap.audit.verify import verify
from aap_contract.config import load_call
from aap_platform.clock import set_clock
from aap_platform.signing import KEYRING, Keyring, events_key_dir
from services.intake.app import create_app
from tests.conftest import CALL

SCENARIO = Path(__file__).resolve().parents[1] / "scenarios" / "02-full-call.json"
DOSSIER = next(s["dossier"] for s in json.loads(SCENARIO.read_text())["steps"] if s["action"] == "submit")
OPEN = "2021-04-06T09:30:00+02:00"


def pdf() -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(72, 72)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


@pytest.fixture
async def client(settings, store):
    app = create_app(settings)
    async with AsyncTestClient(app=app) as c:
        revision = await set_clock(store.js, CALL, datetime.fromisoformat(OPEN))
        for _ in range(500):
            if app.state.runtime.clock.revision >= revision:
                break
            await asyncio.sleep(0.01)
        yield c


@pytest.fixture
def agent(auth):
    return auth("instructor")


async def submitted(client, agent) -> str:
    answer = await client.post("/dossiers", json=DOSSIER, headers=agent)
    assert answer.status_code == 201, answer.text
    return answer.json()["dossier_id"]


async def still_verifies(store, data_dir) -> None:
    records = [r async for r in read_stream(store)]
    verdict = verify(records, Keyring.from_file(events_key_dir(data_dir) / KEYRING), call=load_call(CALL))
    assert verdict.ok, verdict.findings


@pytest.mark.parametrize("bad", [">", "*", "a.b", "a b", "%3E", "x" * 101, "..", "a%0Ab"])
async def test_an_id_never_becomes_a_subject(client, agent, auth, store, data_dir, bad):
    applicant = auth("applicant", "porteur", sirens=[a["siren"] for a in DOSSIER["applicants"]])
    before = await store.last_sequence()
    for method, url, kwargs in (
        ("PUT", f"/dossiers/{bad}", {"json": DOSSIER}),
        ("POST", f"/dossiers/{bad}/withdraw", {"json": {}}),
        ("PUT", f"/dossiers/{bad}/document", {"content": pdf(), "headers": {"Content-Type": "application/pdf"}}),
        ("GET", f"/dossiers/{bad}", {}),
    ):
        headers = {**applicant, **kwargs.pop("headers", {})}
        answer = await client.request(method, url, headers=headers, **kwargs)
        assert answer.status_code in (404, 405), (method, url, answer.status_code, answer.text)
    assert await store.last_sequence() == before
    info = await store.js.stream_info("OBJ_aap_documents_" + CALL.replace("-", "_"))
    assert info.state.messages == 0  # no orphan object either
    await still_verifies(store, data_dir)


def grown(**changes) -> dict:
    d = copy.deepcopy(DOSSIER)
    for path, value in changes.items():
        target = d
        *head, last = path.split("__")
        for part in head:
            target = target[int(part)] if part.isdigit() else target[part]
        target[last] = value
    return d


@pytest.mark.parametrize(
    "body, field",
    [
        (grown(applicants__0__contact__phone="0" * 1_100_000), "phone"),
        (grown(applicants__0__contact__phone="03 20\n00"), "phone"),
        (grown(expenses=[DOSSIER["expenses"][0]] * 10_000), "expenses"),
        (grown(applicants=[{**DOSSIER["applicants"][0], "name": "N" * 4900}] * 50), "name"),
        (grown(applicants__0__siren=DOSSIER["applicants"][0]["siren"] + "\n"), "siren"),
        (grown(applicants__0__contact__email="a;Bcc:evil@x.example"), "email"),
        (grown(applicants__0__contact__email="ok@example.fr\r\nBcc: evil@x.example"), "email"),
        (grown(title="T" * 301), "title"),
        (grown(theme="9" * 101), "theme"),
    ],
)
async def test_every_string_and_list_of_a_dossier_is_bounded(client, agent, store, body, field):
    before = await store.last_sequence()
    answer = await client.post("/dossiers", json=body, headers=agent)
    assert answer.status_code in (413, 422), answer.text[:300]
    if answer.status_code == 422:
        assert field in answer.text
    assert await store.last_sequence() == before


async def test_json_nested_too_deep_and_odd_queries_are_4xx(client, agent):
    deep = await client.post("/dossiers", content=b"[" * 1000 + b"]" * 1000, headers=agent)
    assert deep.status_code == 422
    for query in ("page=³", "page=-1", "page_size=100000", "status=%00", "session=1e9"):
        assert (await client.get(f"/dossiers?{query}", headers=agent)).status_code == 422, query


async def test_tokens_that_used_to_answer_500_are_401(client, keys):
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    claims = {"sub": "x", "role": "admin", "aud": "aap", "exp": 4_000_000_000}
    rs256 = jwt.encode(claims, rsa_key, algorithm="RS256", headers={"kid": "aap-local"})
    private = keys[0].read_bytes()
    int_sirens = jwt.encode({**claims, "role": "applicant", "sirens": 123}, private, "ES256", {"kid": "aap-local"})
    no_sub = jwt.encode({k: v for k, v in claims.items() if k != "sub"}, private, "ES256", {"kid": "aap-local"})
    for token in (rs256, int_sirens, no_sub, "x" * 20_000, "a.b.c"):
        answer = await client.get("/dossiers", headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code in (401, 431), answer.text[:200]


async def test_headers_are_bounded(client, agent):
    huge = await client.get("/dossiers", headers={"Authorization": "Bearer " + "x" * 100_000})
    assert huge.status_code == 431
    many = await client.get("/dossiers", headers={**agent, **{f"x-h{i}": "1" for i in range(200)}})
    assert many.status_code == 431


async def test_every_response_carries_security_headers_and_a_request_id(client, agent):
    for answer in (
        await client.get("/dossiers", headers=agent),
        await client.get("/dossiers"),
        await client.get("/health/live"),
        await client.get("/nope"),
    ):
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert answer.headers["x-frame-options"] == "DENY"
        assert "default-src 'none'" in answer.headers["content-security-policy"]
        assert len(answer.headers["x-request-id"]) >= 8


async def test_metrics_are_not_public(client, auth):
    assert (await client.get("/metrics")).status_code == 401
    assert (await client.get("/metrics", headers=auth("applicant", sirens=["1"]))).status_code == 403
    assert (await client.get("/metrics", headers=auth("auditor"))).status_code == 200


async def test_uploads_are_parsed_named_safely_and_bounded(client, agent, store, data_dir):
    dossier_id = await submitted(client, agent)
    url = f"/dossiers/{dossier_id}/document"
    headers = {**agent, "Content-Type": "application/pdf"}
    fake = await client.put(url, content=b"%PDF-1.7\nnot really a pdf", headers=headers)
    assert fake.status_code == 422
    named = await client.put(
        url, params={"filename": "../../etc/\r\npasswd\x00" + "é" * 3000}, content=pdf(), headers=headers
    )
    assert named.status_code == 200, named.text
    name = named.json()["filename"]
    assert name.endswith(".pdf") and len(name) <= 100 and "/" not in name and "\r" not in name and "\x00" not in name
    again = await client.put(url, content=pdf(), headers=headers)  # the same bytes: nothing new
    assert again.status_code == 200
    for i in range(4):
        w = PdfWriter()
        w.add_blank_page(73 + i, 72)
        out = io.BytesIO()
        w.write(out)
        assert (await client.put(url, content=out.getvalue(), headers=headers)).status_code == 200
    over = PdfWriter()
    over.add_blank_page(200, 200)
    out = io.BytesIO()
    over.write(out)
    quota = await client.put(url, content=out.getvalue(), headers=headers)
    assert quota.status_code == 409 and quota.json()["code"] == "QUOTA"
    await still_verifies(store, data_dir)


async def test_an_internal_error_is_logged_with_its_request_id_and_answered_without_details():
    from unittest.mock import MagicMock

    from aap_platform.edge import internal_error_handler

    request = MagicMock()
    request.scope = {"state": {"request_id": "abc123"}}
    answer = internal_error_handler(request, RuntimeError("secret detail"))
    assert answer.status_code == 500
    assert answer.content == {"status_code": 500, "detail": "erreur interne", "request_id": "abc123"}
