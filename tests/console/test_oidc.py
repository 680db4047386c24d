"""The console's OpenID Connect sign-in against a real provider started by the test (authorization
code + PKCE + state + nonce, e-mail from userinfo as ProConnect gives it), with a forged `state`
and a replayed code both refused, and logout through the provider's end-session endpoint."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from litestar.testing import AsyncTestClient

from tests.console.oidc_provider import Provider

PUBLIC = "http://testserver.local"
MEMBER = "marc.lefebvre@hauts-de-france.gouv.example"


@pytest.fixture
def provider():
    p = Provider(redirect_uris={PUBLIC + "/auth/callback"}).start()
    yield p
    p.stop()


@pytest.fixture
async def console(provider, settings, keys):
    from services.console.app import create_app

    app = create_app(
        settings,
        env={
            "AAP_OIDC_DISCOVERY_URL": provider.discovery_url,
            "AAP_OIDC_CLIENT_ID": provider.client_id,
            "AAP_OIDC_CLIENT_SECRET": provider.client_secret,
            "AAP_CONSOLE_PUBLIC_URL": PUBLIC,
            "AAP_CONSOLE_SIGNING_KEY": str(keys[0]),
            "AAP_DATA_DIR": str(settings.data_dir),
        },
    )
    async with AsyncTestClient(app=app, base_url=PUBLIC) as client:
        yield client


async def authorize(console: AsyncTestClient, email: str = MEMBER) -> tuple[dict, str]:
    """Start a sign-in at the console, let the provider sign `email` in: (the console's authorization
    request, the callback URL the provider sends the browser back to)."""
    started = await console.get("/auth/oidc", follow_redirects=False)
    assert started.status_code == 302
    request = {k: v[0] for k, v in parse_qs(urlsplit(started.headers["location"]).query).items()}
    async with httpx.AsyncClient() as browser:
        answer = await browser.get(started.headers["location"] + "&login_hint=" + email, follow_redirects=False)
    assert answer.status_code == 302, answer.text
    return request, answer.headers["location"]


def _path(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


async def test_sign_in_with_pkce_state_and_nonce_then_logout_at_the_provider(console, provider):
    login = await console.get("/login")
    assert "ProConnect" in login.text and "bandeau-local" not in login.text  # no local sign-in, no banner
    assert (await console.post("/login", data={"email": MEMBER})).status_code in (403, 404)

    request, callback = await authorize(console)
    assert request["code_challenge_method"] == "S256" and len(request["code_challenge"]) == 43
    assert request["state"] and request["nonce"] and request["redirect_uri"] == PUBLIC + "/auth/callback"
    signed = await console.get(_path(callback), follow_redirects=False)
    assert signed.status_code == 303 and signed.headers["location"] == "/"
    cookie = signed.headers.get_list("set-cookie")
    assert any(c.startswith("aap_console=") and "HttpOnly" in c and "SameSite=lax" in c for c in cookie), cookie

    dashboard = await console.get("/sessions", follow_redirects=False)
    assert dashboard.status_code in (200, 502, 503)  # signed in (the committee is not running here)
    home = await console.get("/login")
    assert "Marc Lefebvre (référent régional 1)" in home.text

    token = re.search(r'name="_csrf_token" value="([^"]+)"', home.text).group(1)
    assert (await console.post("/logout", follow_redirects=False)).status_code == 403  # no CSRF token
    out = await console.post("/logout", data={"_csrf_token": token}, follow_redirects=False)
    assert out.status_code == 303
    end = urlsplit(out.headers["location"])
    assert f"{end.scheme}://{end.netloc}{end.path}" == provider.issuer + "/session/end"
    params = parse_qs(end.query)
    assert params["post_logout_redirect_uri"] == [PUBLIC + "/login"] and params["id_token_hint"]
    assert (await console.get("/", follow_redirects=False)).headers["location"] == "/login"


async def test_a_forged_state_is_refused(console, provider):
    _, callback = await authorize(console)
    forged = callback.replace("state=", "state=forged")
    refused = await console.get(_path(forged), follow_redirects=False)
    assert refused.status_code == 400
    assert "ne correspond à aucune demande de connexion en cours" in refused.text
    assert not provider.used  # the code was never even exchanged
    assert (await console.get("/", follow_redirects=False)).headers["location"] == "/login"


async def test_a_replayed_code_is_refused(console, provider):
    _, callback = await authorize(console)
    assert (await console.get(_path(callback), follow_redirects=False)).status_code == 303
    # the same answer again: no sign-in is waiting for it any more
    again = await console.get(_path(callback), follow_redirects=False)
    assert again.status_code == 400 and "aucune demande de connexion en cours" in again.text
    # the same code inside a fresh, genuine sign-in: the provider refuses it, and so does the console
    old_code = parse_qs(urlsplit(callback).query)["code"][0]
    await console.post(
        "/logout",
        data={
            "_csrf_token": re.search(r'name="_csrf_token" value="([^"]+)"', (await console.get("/login")).text).group(1)
        },
    )
    _, fresh = await authorize(console)
    replayed = fresh.replace(parse_qs(urlsplit(fresh).query)["code"][0], old_code)
    refused = await console.get(_path(replayed), follow_redirects=False)
    assert refused.status_code == 400 and "déjà utilisé" in refused.text
    assert provider.refused == ["invalid_grant: unknown or replayed code"]
    assert (await console.get("/", follow_redirects=False)).headers["location"] == "/login"


async def test_an_e_mail_outside_the_agent_table_is_refused(console):
    _, callback = await authorize(console, email="inconnu@example.org")
    refused = await console.get(_path(callback), follow_redirects=False)
    assert refused.status_code == 400 and "pas dans la liste des agents" in refused.text


async def test_an_id_token_for_another_request_is_refused(console, provider):
    provider.forged_nonce = "an-earlier-request"
    _, callback = await authorize(console)
    refused = await console.get(_path(callback), follow_redirects=False)
    assert refused.status_code == 400 and "(nonce)" in refused.text
    assert (await console.get("/", follow_redirects=False)).headers["location"] == "/login"


async def test_the_proconnect_sign_in_page_passes_axe(console):
    """The production sign-in page (the browser tests run the local one): its HTML with the DSFR's CSS,
    served to Debian's chromium through Playwright's routing, checked by axe-core."""
    from tests.console.browser import ARGS, AXE, CHROMIUM, missing

    if missing():
        pytest.skip(missing())
    from playwright.async_api import async_playwright

    html = (await console.get("/login")).text

    async def serve(route) -> None:
        path = urlsplit(route.request.url).path
        answer = await console.get(path) if path != "/login" else None
        if answer is None:
            await route.fulfill(status=200, body=html, content_type="text/html; charset=utf-8")
        else:
            await route.fulfill(
                status=answer.status_code,
                body=answer.content,
                content_type=answer.headers.get("content-type", "application/octet-stream"),
            )

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        page = await browser.new_page(bypass_csp=True)
        await page.route("http://console.test/**", serve)
        await page.goto("http://console.test/login")
        await page.add_script_tag(path=str(AXE))
        violations = await page.evaluate(
            "async () => (await axe.run(document, {runOnly: {type: 'tag', values: "
            "['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})).violations.map(v => [v.id, v.impact])"
        )
        await browser.close()
    assert [v for v in violations if v[1] in ("serious", "critical")] == [], violations
