"""The committee's programmation drafts through the console's pages, in a real browser, against a
whole system of its own (adopting a draft decides the session's dossiers): an instructor proposes a
draft from the ranking, sets a line to an amount the committee refuses, builds a second draft by
hand, compares the two and adopts the first. Screenshots and axe-core counts go to tests/artifacts/."""

from __future__ import annotations

import pytest

from tests.console.browser import missing, shot, sign_in, sign_out
from tests.console.test_browser import (
    INSTRUCTOR,
    MEMBERS,
    REPORT,
    _euros,
    _flash,
    _ids,
    axe_context,
    check,
    write_report,
)

WHY = missing()
pytestmark = [pytest.mark.e2e, pytest.mark.skipif(WHY is not None, reason=WHY or "")]


@pytest.fixture(scope="module")
def drafts_system(tmp_path_factory):
    from tests.console.system import start_loaded, stop

    proc, urls, filed = start_loaded(tmp_path_factory.mktemp("console-drafts") / "data")
    yield urls["console"], filed
    stop(proc)


@pytest.fixture(scope="module")
def drafts_browser():
    from playwright.sync_api import sync_playwright

    from tests.console.browser import launch

    with sync_playwright() as p:
        b = launch(p)
        yield b
        b.close()


def test_a_draft_proposed_edited_compared_and_adopted(drafts_system, drafts_browser):
    base, (a, b, c) = drafts_system
    context = axe_context(drafts_browser)  # axe-core is injected into the pages below
    page = context.new_page()
    sign_in(page, base, INSTRUCTOR)
    ids = _ids(page, base)
    ida, idb = ids[a["title"]], ids[b["title"]]

    # From the session's page to its drafts; a draft proposed from the ranking.
    page.goto(base + "/sessions/1")
    page.click("#lien-projets")
    page.wait_for_url(base + "/sessions/1/drafts")
    assert "Aucun projet pour cette session." in page.locator("#projets").inner_text()
    page.fill("#p-nom", "D'après le classement")
    page.click("#proposer button[type=submit]")
    _flash(page, "Projet « D'après le classement » créé.")
    proposed = page.url
    assert page.locator("#table-lignes tbody tr").count() == 3
    assert page.locator("#table-lignes .motif-refus").count() == 0
    shot(page, "drafts-02-projet-propose")

    # Not an amount: the console says so beside the line's form, with what was typed.
    page.fill(f"#m-{ida}", "trente mille")
    page.locator(f"#ligne-{ida} .form-montant button").click()
    assert "Indiquez le montant en euros" in page.locator(f"#erreur-ligne-{ida}").inner_text()
    assert page.locator(f"#m-{ida}").input_value() == "trente mille"

    # Above the request: kept in the draft, but the committee would refuse it today, and says why.
    page.fill(f"#m-{ida}", _euros(a["requested_cents"] + 100_000))
    page.locator(f"#ligne-{ida} .form-montant button").click()
    _flash(page, "Montant de la ligne enregistré.")
    row = page.locator(f"#ligne-{ida}").inner_text()
    assert "refusée" in row.lower() and "dépasse le montant demandé" in row, row
    assert "1 ligne serait refusée" in page.locator("#refus-aujourdhui").inner_text()
    shot(page, "drafts-03-ligne-refusee")
    check(page, base, "projet-ligne-refusee", proposed.removeprefix(base))

    # A second draft by hand: one line, then the list of both.
    page.goto(base + "/sessions/1/drafts")
    page.fill("#v-nom", "À la main")
    page.click("#creer button[type=submit]")
    _flash(page, "Projet « À la main » créé.")
    page.select_option("#a-dossier", idb)
    page.fill("#a-montant", _euros(b["requested_cents"]))
    page.click("#ajouter button[type=submit]")
    _flash(page, "Ligne ajoutée au projet.")
    idc = ids[c["title"]]
    page.select_option("#a-dossier", idc)
    page.fill("#a-montant", _euros(c["requested_cents"]))
    page.click("#ajouter button[type=submit]")
    _flash(page, "Ligne ajoutée au projet.")
    assert page.locator("#table-lignes tbody tr").count() == 2
    page.locator(f"#ligne-{idc} .form-retirer button").click()
    _flash(page, "Ligne retirée du projet.")
    assert page.locator("#table-lignes tbody tr").count() == 1
    page.goto(base + "/sessions/1/drafts")
    rows = page.locator("#projets tbody tr")
    assert rows.count() == 2 and "1 ligne" in rows.nth(0).inner_text().lower()
    shot(page, "drafts-01-liste")
    check(page, base, "projets-liste", "/sessions/1/drafts")

    # Side by side.
    page.click("#comparer button[type=submit]")
    page.wait_for_url("**/sessions/1/drafts/compare?*")
    compared = page.locator("#par-dossier tbody tr")
    assert compared.count() == 3
    row = page.locator("#par-dossier tbody tr", has_text=c["title"]).inner_text()
    assert "absent" in row and "-" in row, row
    shot(page, "drafts-04-comparaison")
    check(page, base, "projets-comparaison", page.url.removeprefix(base))

    # Adopted: two decisions recorded, the line above the request refused with the committee's message.
    page.goto(proposed)
    page.click("#adopter button[type=submit]")
    _flash(page, "Projet adopté : 2 décisions enregistrées, 1 refusée.")
    outcome = page.locator("#issues").inner_text()
    assert "dépasse le montant demandé" in outcome and outcome.lower().count("enregistrée") == 2, outcome
    assert page.locator("#adopter").count() == 0 and page.locator(".form-montant").count() == 0
    shot(page, "drafts-05-projet-adopte")
    check(page, base, "projet-adopte", proposed.removeprefix(base))
    page.goto(base + "/sessions/1")
    assert "2 dossiers décidés sur 3" in page.locator("main").inner_text()

    # A committee member reads the drafts, and edits nothing.
    sign_out(page)
    sign_in(page, base, MEMBERS[0])
    page.goto(proposed)
    assert "dépasse le montant demandé" in page.locator("#issues").inner_text()
    assert page.locator("main form").count() == 0
    context.close()
    assert {"projets-liste", "projet-ligne-refusee", "projets-comparaison", "projet-adopte"} <= set(REPORT)
    write_report()
