"""Playwright (Python) driving Debian's chromium, and axe-core injected into each page."""

from __future__ import annotations

import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
AXE = ROOT / "services" / "console" / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = ROOT / "tests" / "artifacts"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
IMPACTS = ("minor", "moderate", "serious", "critical")


def missing() -> str | None:
    """Why the browser tests cannot run here, or None."""
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        return "Debian's chromium is not installed (apt-get install chromium; .ci/run installs it)"
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "playwright (Python) is not installed (make install)"
    if not AXE.exists():
        return f"axe-core is missing at {AXE} (make assets)"
    return None


def launch(playwright):
    return playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)


def axe(page) -> dict:
    """Run axe-core (WCAG 2.0/2.1 A and AA rules) on the page: violations counted by impact, with
    the serious and critical ones listed."""
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("""async () => {
        const tags = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'];
        const r = await axe.run(document, {runOnly: {type: 'tag', values: tags}});
        return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.length,
                                        targets: v.nodes.slice(0, 3).map(n => n.target.join(' '))}));
    }""")
    counts = {impact: 0 for impact in IMPACTS}
    for v in result:
        counts[v["impact"] or "minor"] = counts.get(v["impact"] or "minor", 0) + v["nodes"]
    return {"counts": counts, "violations": result}


def shot(page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def choose(page, selector: str) -> None:
    """Tick a DSFR radio or checkbox the way a person does: by clicking its label."""
    input_id = page.locator(selector).get_attribute("id")
    page.locator(f"label[for='{input_id}']").click()


def sign_in(page, base: str, email: str) -> None:
    """Through the local sign-in page (development mode)."""
    page.goto(base + "/login")
    choose(page, f"input[name=email][value='{email}']")
    page.click("#connexion-locale button[type=submit]")
    page.wait_for_url(base + "/")


def sign_out(page) -> None:
    page.click("form[action='/logout'] button")
    page.wait_for_url("**/login")
