"""The console in a real browser (Playwright driving Debian's chromium) against a whole system
started as processes: one session played through the pages by each role, then every page checked
with axe-core, signed in and out. Screenshots and the axe report go to tests/artifacts/."""

from __future__ import annotations

import json

import pytest

from tests.console.browser import ARTIFACTS, IMPACTS, axe, choose, launch, missing, shot, sign_in, sign_out

WHY = missing()
pytestmark = [pytest.mark.e2e, pytest.mark.skipif(WHY is not None, reason=WHY or "")]

INSTRUCTOR = "claire.dumont@hauts-de-france.gouv.example"
MEMBERS = ("marc.lefebvre@hauts-de-france.gouv.example", "nadia.benali@hauts-de-france.gouv.example")
BUDGET_OFFICER = "sophie.marchand@hauts-de-france.gouv.example"
ADMIN = "admin@hauts-de-france.gouv.example"


@pytest.fixture(scope="module")
def system(tmp_path_factory):
    from tests.console.system import start_loaded, stop

    proc, urls, filed = start_loaded(tmp_path_factory.mktemp("console") / "data")
    yield urls["console"], filed
    stop(proc)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = launch(p)
        yield b
        b.close()


def _euros(cents: int) -> str:
    return f"{cents // 100},{cents % 100:02d}"


def _ids(page, base: str) -> dict[str, str]:
    """Dossier title -> id, read from the list page's links."""
    page.goto(base + "/dossiers")
    links = page.locator("#liste-dossiers tbody a")
    return {
        links.nth(i).inner_text(): links.nth(i).get_attribute("href").rsplit("/", 1)[1] for i in range(links.count())
    }


def _flash(page, text: str) -> None:
    assert text in page.locator("[role=status].fr-alert").inner_text()


PUBLIC = {"connexion": "/login", "laureats-public": "/laureates", "introuvable": "/page-inexistante"}


REPORT: dict[str, dict] = {}  # page -> axe counts by impact, written to tests/artifacts/axe-report.json


def axe_context(browser):
    # axe-core is injected as a script: the page's own CSP (self only) is bypassed for the check.
    return browser.new_context(locale="fr-FR", viewport={"width": 1280, "height": 900}, bypass_csp=True)


def check(page, base: str, name: str, path: str) -> None:
    page.goto(base + path)
    shot(page, f"axe-{name}")
    found = axe(page)
    REPORT[name] = {
        "path": path,
        **found["counts"],
        "serious_or_critical": [v for v in found["violations"] if v["impact"] in ("serious", "critical")],
    }


def write_report() -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "axe-report.json").write_text(json.dumps(REPORT, indent=2, ensure_ascii=False))
    bad = {name: r["serious_or_critical"] for name, r in REPORT.items() if r["serious_or_critical"]}
    assert not bad, json.dumps(bad, indent=2, ensure_ascii=False)


def test_every_page_passes_axe_signed_in_and_out(system, browser):
    """Before the session is decided: the scoring and decision forms are on the session's page."""
    base, _ = system
    context = axe_context(browser)
    page = context.new_page()
    for name, path in PUBLIC.items():
        check(page, base, name, path)
    sign_in(page, base, ADMIN)
    dossier_id = _ids(page, base)[next(iter(_ids(page, base)))]
    signed_in = {
        "tableau-de-bord": "/",
        "dossiers": "/dossiers",
        "dossier": f"/dossiers/{dossier_id}",
        "sessions": "/sessions",
        "session-1": "/sessions/1",
        "session-2": "/sessions/2",
        "budget": "/budget",
        "notifications": "/notifications",
        "laureats": "/laureates",
        "audit": f"/audit?verify=1&dossier={dossier_id}",
    }
    for name, path in signed_in.items():
        check(page, base, f"{name}-admin", path)
    sign_out(page)
    sign_in(page, base, MEMBERS[0])
    check(page, base, "session-1-membre", "/sessions/1")
    check(page, base, "interdit-membre", "/audit")
    context.close()
    assert set(IMPACTS) <= set(next(iter(REPORT.values())))
    write_report()


def test_a_whole_session_through_the_pages(system, browser):
    base, filed = system
    context = browser.new_context(locale="fr-FR", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    csp_errors: list[str] = []
    page.on("console", lambda m: csp_errors.append(m.text) if "Content Security Policy" in m.text else None)
    a, b, c = filed

    # Signed out: the console sends to the sign-in page, which says it is the local, development one.
    response = page.goto(base + "/")
    assert page.url == base + "/login"
    assert response.headers["content-security-policy"].startswith("default-src 'self'; script-src 'self'")
    assert "Mode développement" in page.locator("#bandeau-local").inner_text()
    shot(page, "01-connexion-locale")

    # The instructor looks at the imported call.
    sign_in(page, base, INSTRUCTOR)
    _flash(page, "Bienvenue, Claire Dumont")
    assert "Session 1 : 3 dossier(s) à décider sur 3" in page.locator("main").inner_text()
    shot(page, "02-tableau-de-bord-instruction")
    ids = _ids(page, base)
    assert set(ids) == {a["title"], b["title"], c["title"]}
    page.select_option("#f-departement", "59")
    page.click("#filtres button[type=submit]")
    assert "departement=59" in page.url
    shot(page, "03-dossiers-filtres")
    page.goto(f"{base}/dossiers/{ids[a['title']]}")
    main = page.locator("main").inner_text()
    assert "Éligibilité, règle par règle" in main and "Respectée" in main and "Dossier déposé" in main
    pdf = page.request.get(base + page.locator("#document-pdf").get_attribute("href"))
    assert pdf.status == 200 and pdf.headers["content-type"] == "application/pdf" and pdf.body().startswith(b"%PDF")
    shot(page, "04-dossier")
    sign_out(page)

    # Two committee members review the first dossier, each as itself.
    for i, email in enumerate(MEMBERS):
        sign_in(page, base, email)
        assert "Session 1 : 3 dossier(s) que vous n'avez pas encore évalué(s)" in page.locator("main").inner_text()
        page.goto(base + "/sessions/1")
        form = page.locator(f"#review-{ids[a['title']]}")
        assert form.locator("select[name=member_id]").count() == 0  # a member reviews as itself
        form.locator("select[name=diagnosis]").select_option("3")
        form.locator("select[name=roadmap]").select_option(str(2 + i % 2))
        form.locator("button").click()
        _flash(page, "Avis enregistré.")
        shot(page, f"05-avis-membre-{i + 1}")
        assert page.locator("#decision-" + ids[a["title"]]).count() == 0  # members do not decide
        sign_out(page)

    # The instructor decides; a grant above the request is refused with the committee's French message.
    sign_in(page, base, INSTRUCTOR)
    page.goto(base + "/sessions/1")
    row = page.locator("#classement tbody tr").first
    assert a["title"] in row.inner_text() and "2" in row.locator("td").nth(2).inner_text()
    form = page.locator(f"#decision-{ids[a['title']]}")
    form.locator("input[name=granted]").fill(_euros(a["requested_cents"] + 100_000))
    form.locator("button").click()
    error = page.locator("#erreur").inner_text()
    assert "dépasse le montant demandé" in error, error
    assert "dépasse le montant demandé" in page.locator(f"#decision-{ids[a['title']]} .fr-error-text").inner_text()
    kept = page.locator(f"#decision-{ids[a['title']]} input[name=granted]").input_value()
    assert kept == _euros(a["requested_cents"] + 100_000)  # what was typed is still there
    shot(page, "06-decision-refusee")

    # Closing before every dossier is decided is refused, with the open items listed.
    page.click("#close button")
    assert "ne peut pas être close" in page.locator("#erreur").inner_text()
    assert page.locator("#points-ouverts li").count() == 3
    shot(page, "07-cloture-refusee")

    form = page.locator(f"#decision-{ids[a['title']]}")
    form.locator("input[name=granted]").fill(_euros(a["requested_cents"]))
    form.locator("button").click()
    _flash(page, "Décision enregistrée.")
    form = page.locator(f"#decision-{ids[b['title']]}")
    choose(form, "input[value=reject]")
    form.locator("textarea[name=motivation]").fill("Le diagnostic n'est pas partagé avec les agents.")
    form.locator("button").click()
    _flash(page, "Décision enregistrée.")
    form = page.locator(f"#decision-{ids[c['title']]}")
    choose(form, "input[value=defer]")
    form.locator("button").click()
    _flash(page, "Décision enregistrée.")
    for _ in range(50):  # the budget answers the selection (a reaction on the bus)
        if "réservation des crédits en cours" not in page.locator("main").inner_text():
            break
        page.wait_for_timeout(200)
        page.reload()
    page.click("#close button")
    _flash(page, "Session 1 close.")
    assert "1 lauréat(s), 1 dossier(s) non retenu(s)" in page.locator("main").inner_text()
    shot(page, "08-session-close")
    sign_out(page)

    # The budget officer records the legal commitment.
    sign_in(page, base, BUDGET_OFFICER)
    page.goto(base + "/budget")
    page.select_option("#e-dossier", ids[a["title"]])
    page.fill("#e-ref", "CHORUS-2021-0042")
    page.click("#engagement button")
    _flash(page, "Engagement juridique enregistré.")
    committed = page.locator("#reservations tbody tr", has_text=a["title"]).inner_text()
    assert "Engagé" in committed and "CHORUS-2021-0042" in committed, committed
    shot(page, "09-budget-engagement")
    sign_out(page)

    # Anyone sees the public list of lauréats.
    for _ in range(50):
        page.goto(base + "/laureates")
        if a["title"] in page.locator("main").inner_text():
            break
        page.wait_for_timeout(200)
    main = page.locator("main").inner_text()
    assert a["title"] in main and b["title"] not in main
    assert page.locator("a[href='/laureates.csv']").count() == 1
    shot(page, "10-laureats-public")
    assert not csp_errors, csp_errors
    context.close()

    # axe-core again on the pages now filled by the session: decisions, commitment, notifications, lauréats.
    context = axe_context(browser)
    page = context.new_page()
    check(page, base, "laureats-apres-session", "/laureates")
    sign_in(page, base, ADMIN)
    for _ in range(60):  # the arrêté and its letter are generated when the session's notifications go out
        page.goto(f"{base}/dossiers/{ids[a['title']]}")
        if page.locator("#documents-officiels a").count():
            break
        page.wait_for_timeout(250)
    arrete = page.locator("#documents-officiels a", has_text="Arrêté attributif")
    pdf = page.request.get(base + arrete.get_attribute("href"))
    assert pdf.status == 200 and pdf.body().startswith(b"%PDF"), pdf.status
    for name, path in {
        "session-1-close": "/sessions/1",
        "budget-apres-engagement": "/budget",
        "notifications-apres-session": "/notifications",
        "dossier-laureat": f"/dossiers/{ids[a['title']]}",
        "tableau-de-bord-apres-session": "/",
        "audit-a-une-date": f"/audit?dossier={ids[a['title']]}&as_of=2021-05-15T12:00",
    }.items():
        check(page, base, name, path)
    context.close()
    write_report()
