"""The layout the architecture promises (docs/ARCHITECTURE.md), checked on the source itself:
the domain imports no web framework, no NATS client and no platform code; every service has the
same rooms; only `handlers.py` runs commands."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SERVICES = sorted(p for p in (ROOT / "services").iterdir() if (p / "__init__.py").exists())
TEMPLATE = {"__init__.py", "domain.py", "handlers.py", "http.py", "consumers.py", "view.py", "app.py"}
FORBIDDEN = ("litestar", "nats", "faststream", "uvicorn", "httpx", "aap_platform", "prometheus_client", "jinja2")


def imports(path: Path) -> set[str]:
    """Every module a file imports (absolute names), at any depth of the file."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
    return found


def module_file(name: str) -> Path | None:
    base = ROOT.joinpath(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.exists():
            return candidate
    return None


def closure(path: Path) -> dict[str, Path]:
    """The project's modules `path` reaches through its imports, transitively, with the file that
    imports each (so that a failure names where the forbidden import comes in)."""
    seen: dict[str, Path] = {}
    todo = [path]
    while todo:
        current = todo.pop()
        for name in imports(current):
            if name in seen:
                continue
            seen[name] = current
            found = module_file(name)
            if found is not None:
                todo.append(found)
    return seen


# The pure helpers beside a decider (rules, agenda, ranking, drafts) are domain too.
PURE_HELPERS = [
    "services/eligibility/rules.py",
    "services/committee/agenda.py",
    "services/committee/ranking.py",
    "services/committee/drafts.py",
]
DOMAIN = (
    sorted((ROOT / "aap_contract").glob("*.py"))
    + [s / "domain.py" for s in SERVICES]
    + [ROOT / p for p in PURE_HELPERS]
)


@pytest.mark.parametrize("path", DOMAIN, ids=lambda p: str(p.relative_to(ROOT)))
def test_the_domain_imports_no_framework_no_nats_and_no_platform(path):
    bad = {name: str(via.relative_to(ROOT)) for name, via in closure(path).items() if name.split(".")[0] in FORBIDDEN}
    assert bad == {}, f"{path.relative_to(ROOT)} reaches infrastructure: {bad}"


def test_the_check_catches_a_domain_module_importing_litestar(tmp_path):
    bad = tmp_path / "domain.py"
    bad.write_text("from aap_contract.refusal import Refusal\nfrom litestar import Response\n", encoding="utf-8")
    assert "litestar" in closure(bad)


def test_every_service_has_the_same_rooms():
    assert SERVICES, "no service found"
    for service in SERVICES:
        present = {p.name for p in service.glob("*.py")}
        assert TEMPLATE <= present, f"{service.name} lacks {sorted(TEMPLATE - present)}"


def test_every_domain_exports_initial_state_evolve_decide_in_that_order():
    for service in SERVICES:
        tree = ast.parse((service / "domain.py").read_text(encoding="utf-8"))
        names = [n.name for n in tree.body if isinstance(n, ast.FunctionDef)]
        found = [n for n in names if n in ("initial_state", "evolve", "decide")]
        assert found == ["initial_state", "evolve", "decide"], f"{service.name}: {found}"
        decide = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "decide")
        assert [a.arg for a in decide.args.args][:2] == ["command", "state"] and len(decide.args.args) == 3, (
            f"{service.name}: decide{tuple(a.arg for a in decide.args.args)}"
        )


def test_only_handlers_run_commands():
    for path in sorted(ROOT.glob("services/*/*.py")):
        runs = "aap_platform.execute" in imports(path)
        assert runs == (path.name == "handlers.py") or not runs, f"{path.relative_to(ROOT)} runs commands"
