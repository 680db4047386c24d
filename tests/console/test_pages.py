"""The console's pages without a browser, in local sign-in mode, with the other services absent:
security headers on every answer, CSRF on every form, ids checked, and a French page (never a bare
500) for whatever goes wrong."""

from __future__ import annotations

import re
import uuid

import pytest
from litestar.testing import AsyncTestClient

INSTRUCTOR = "claire.dumont@hauts-de-france.gouv.example"


@pytest.fixture
async def console(settings, keys):
    from services.console.app import create_app

    app = create_app(
        settings,
        env={
            "AAP_CONSOLE_SIGNING_KEY": str(keys[0]),
            "AAP_DATA_DIR": str(settings.data_dir),
            "AAP_BUDGET_URL": "http://127.0.0.1:9",
            "AAP_NOTIFIER_URL": "http://127.0.0.1:9",
            "AAP_COMMITTEE_URL": "http://127.0.0.1:9",
            "AAP_INTAKE_URL": "http://127.0.0.1:9",
        },
    )
    async with AsyncTestClient(app=app) as client:
        yield client


def _csrf(html: str) -> str:
    return re.search(r'name="_csrf_token" value="([^"]+)"', html).group(1)


async def _sign_in(console, email: str = INSTRUCTOR):
    login = await console.get("/login")
    return await console.post("/login", data={"_csrf_token": _csrf(login.text), "email": email}, follow_redirects=False)


async def test_every_page_carries_the_security_headers(console):
    for path in ("/login", "/", "/page-inexistante", "/static/console.css"):
        r = await console.get(path, follow_redirects=False)
        assert r.headers["content-security-policy"] == (
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
            "connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
        )
        assert r.headers["x-content-type-options"] == "nosniff" and r.headers["x-frame-options"] == "DENY"
        assert r.headers["referrer-policy"] == "same-origin"
    page = await console.get("/login")
    assert page.headers["cache-control"] == "no-store"
    assert "<script>" not in page.text and " style=" not in page.text and "onclick" not in page.text
    assert '<html lang="fr"' in page.text and "Mode développement" in page.text


async def test_the_dsfr_is_served_by_the_console_itself(console):
    css = await console.get("/static/dsfr/dsfr.min.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert (await console.get("/static/dsfr/dsfr.module.min.js")).status_code == 200
    assert "https://" not in (await console.get("/login")).text.split("<body>")[0]


async def test_a_form_without_its_csrf_token_is_refused(console):
    refused = await console.post("/login", data={"email": INSTRUCTOR}, follow_redirects=False)
    assert refused.status_code == 403 and "jeton de sécurité du formulaire" in refused.text
    signed = await _sign_in(console)
    assert signed.status_code == 303
    cookie = next(c for c in signed.headers.get_list("set-cookie") if c.startswith("aap_console="))
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" not in cookie  # plain http here
    assert (await console.post("/sessions/1/close", follow_redirects=False)).status_code == 403


async def test_signed_out_pages_send_to_the_sign_in_page(console):
    for path in ("/", "/dossiers", "/sessions/1", "/budget", "/audit", "/notifications"):
        r = await console.get(path, follow_redirects=False)
        assert (r.status_code, r.headers["location"]) == (303, "/login"), path


async def test_ids_are_checked_and_failures_are_french_pages(console):
    await _sign_in(console)
    for path in (
        "/dossiers/pas-un-identifiant",
        f"/dossiers/{uuid.uuid4()}",
        "/sessions/99",
        "/sessions/abc",
        "/dossiers/..%2F..%2Fetc",
        "/page-inexistante",
    ):
        r = await console.get(path)
        assert r.status_code in (400, 404), (path, r.status_code)
        assert "introuvable" in r.text.lower() or "refusée" in r.text, path
    down = await console.get("/budget")  # the budget service is not running
    assert down.status_code == 503 and "ne répond pas" in down.text
    assert (await console.get("/laureates")).status_code == 503
    assert (await console.get("/audit")).status_code == 403  # an instructor is no auditor
    dashboard = await console.get("/")
    assert dashboard.status_code == 200 and "ne répond pas" in dashboard.text
    listing = await console.get("/dossiers?status=nimporte&session=7&sort=title&order=desc&page=-3")
    assert listing.status_code == 200 and "Filtre ignoré (valeur inconnue) : status, session" in listing.text
    exported = await console.get("/dossiers.csv?departement=59")
    assert exported.status_code == 200 and exported.text.startswith("\ufeffidentifiant;titre;statut")


async def test_a_malformed_id_posted_by_a_form_gets_a_french_page(console):
    await _sign_in(console)
    token = _csrf((await console.get("/login")).text)
    for path, data in (
        ("/sessions/1/decisions", {"dossier_id": "../../budget", "decision": "defer"}),
        ("/sessions/1/reviews", {"dossier_id": str(uuid.uuid4()), "member_id": "personne"}),
        ("/budget/commitments", {"dossier_id": "x" * 500, "legal_reference": "CHORUS-1"}),
    ):
        r = await console.post(path, data={"_csrf_token": token, **data})
        # refused (422) and the page re-rendered, which needs the service: not running here, hence 503
        assert r.status_code in (422, 503), (path, r.status_code)
        assert "inconnu" in r.text or "ne répond pas" in r.text, path


async def test_a_tampered_session_cookie_signs_nobody_in(console):
    signed = await _sign_in(console)
    good = next(c for c in signed.headers.get_list("set-cookie") if c.startswith("aap_console="))
    value = good.split(";")[0].split("=", 1)[1]
    console.cookies.clear()
    for forged in ("garbage", value[:-4] + ("AAAA" if not value.endswith("AAAA") else "BBBB")):
        console.cookies.set("aap_console", forged)
        r = await console.get("/", follow_redirects=False)
        assert (r.status_code, r.headers.get("location")) == (303, "/login"), forged


async def test_the_common_endpoints_answer(console):
    assert (await console.get("/health/ready")).json()["ready"] is True
    assert (await console.get("/asyncapi.json")).status_code == 200
    schema = await console.get("/schema/openapi.json")
    assert schema.status_code == 200 and "/dossiers/{dossier_id}" in schema.json()["paths"]
    assert (await console.get("/logout")).status_code == 405  # signing out is a form (POST, CSRF)
