"""The emails' words: French Jinja2 templates, overridable per call, fed from the view."""

from __future__ import annotations

from pathlib import Path

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, StrictUndefined

from aap_contract.config import CallConfig
from aap_contract.entry import DossierEntry
from aap_contract.french import french_date
from aap_contract.money import format_euros
from services.notifier.domain import Notification
from services.notifier.view import NotifierView

DEFAULT_DIR = Path(__file__).resolve().parent / "templates"
REPO_ROOT = Path(__file__).resolve().parents[2]


def templates_dir(call: CallConfig) -> Path | None:
    """The call's own templates folder, relative to the repository root or absolute."""
    configured = call.notifications.templates_dir
    if not configured:
        return None
    path = Path(configured)
    return path if path.is_absolute() else REPO_ROOT / path


class Templates:
    def __init__(self, override: Path | None = None) -> None:
        folders = [str(override)] if override else []
        self.env = Environment(
            loader=ChoiceLoader([FileSystemLoader(folders + [str(DEFAULT_DIR)])]),
            undefined=StrictUndefined,
            autoescape=False,
            keep_trailing_newline=True,
        )

    def render(self, kind: str, context: dict) -> tuple[str, str]:
        subject = self.env.get_template(f"{kind}_subject.j2").render(context)
        body = self.env.get_template(f"{kind}_body.j2").render(context)
        return " ".join(subject.split()), body


def _dossier(entry: DossierEntry | None, dossier_id: str, call: CallConfig) -> dict:
    if entry is None:  # the view knows no such dossier: say so rather than fail forever
        return {
            "id": dossier_id,
            "title": dossier_id,
            "theme": "",
            "theme_label": "",
            "applicants": [],
            "departement": "",
            "departement_name": "",
            "granted": "",
            "global_cost": "",
            "outcome": "rejected",
            "motivation": "",
            "failures": [],
        }
    return {
        "id": dossier_id,
        "title": entry.title,
        "theme": entry.theme,
        "theme_label": call.themes.get(entry.theme, ""),
        "applicants": [{"name": a.name, "siren": a.siren} for a in entry.applicants],
        "departement": entry.departement,
        "departement_name": call.departements.get(entry.departement, ""),
        "granted": format_euros(entry.granted_cents) if entry.granted_cents is not None else "",
        "global_cost": format_euros(entry.global_cost_cents),
        "outcome": "ineligible" if entry.eligible is False else "rejected",
        "motivation": entry.motivation or "",
        "failures": [f.message for f in entry.failures],
    }


def context(n: Notification, view: NotifierView, call: CallConfig) -> dict:
    entries = view.dossiers.entries
    dossiers = [_dossier(entries.get(i), i, call) for i in n.dossier_ids]
    return {
        "call_title": call.call.title,
        "call_title_short": call.call.title.split(" : ")[0],
        "region": call.call.region,
        "session": n.session,
        "committee_date": french_date(n.closed_at, call.tz),
        "commitment_deadline": french_date(call.budget.commitment_deadline, call.tz),
        "attributor_name": call.call.attributor_name,
        "sender_email": call.call.sender_email,
        "dossier": dossiers[0] if n.kind != "collective" else None,
        "dossiers": dossiers,
        # the collective letter goes to every structure not retained (Bcc): without the call's
        # consent it names no structure's SIREN and no reason, each reads only titles
        "collective_details": call.notifications.collective_details,
        "lapse_date": french_date(n.closed_at, call.tz) if n.kind == "lapse" else "",
        "appeal_court": call.notifications.appeal_court,
    }
