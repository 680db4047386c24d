"""Which DN mutations an AAP fact calls for, each with the key that makes it happen once. Pure.

- EligibilityAssessed: `dossierPasserEnInstruction` (once), the eligibility result as a private
  annotation (once per assessed version), and `dossierRefuser` with the reasons when ineligible.
- SessionClosed: `dossierAccepter` (motivation with the amount granted) for each lauréat,
  `dossierRefuser` with the committee's motivation for each dossier not retained, and the
  committee's mean score as a private annotation.
A dossier gets one final decision (key `decision`): the first that applies.
"""

from __future__ import annotations

from typing import Any

import msgspec

from aap_contract.config import Connector, DemarcheLink
from aap_contract.events import (
    EligibilityAssessed,
    ProjectRejected,
    ProjectSelected,
    ReviewRecorded,
)
from aap_contract.money import format_euros

# mutation -> (document, operation, payload field, the state DN names when it is already done)
MUTATIONS = {
    "dossierPasserEnInstruction": ("passer_en_instruction", "PasserEnInstruction", "en instruction"),
    "dossierAccepter": ("accepter", "Accepter", "accepté"),
    "dossierRefuser": ("refuser", "Refuser", "refusé"),
    "dossierModifierAnnotations": ("modifier_annotations", "ModifierAnnotations", None),
}
MAX_MOTIVATION = 5000


class WriteBack(msgspec.Struct, frozen=True):
    key: str
    mutation: str
    input: dict[str, Any]


def _state_change(
    mutation: str, key: str, dn_id: str, instructeur: str, c: Connector, motivation: str | None = None
) -> WriteBack:
    payload: dict[str, Any] = {
        "dossierId": dn_id,
        "instructeurId": instructeur,
        "disableNotification": c.disable_notification,
    }
    if motivation is not None:
        payload["motivation"] = motivation[:MAX_MOTIVATION]
    return WriteBack(key, mutation, payload)


def _annotation(key: str, dn_id: str, instructeur: str, annotation_id: str, value: dict[str, Any]) -> WriteBack:
    return WriteBack(
        key,
        "dossierModifierAnnotations",
        {"dossierId": dn_id, "instructeurId": instructeur, "annotations": [{"id": annotation_id, "value": value}]},
    )


def instructeur_of(link: DemarcheLink, c: Connector) -> str:
    return link.instructeur_id or c.instructeur_id


def for_assessment(a: EligibilityAssessed, dn_id: str, link: DemarcheLink, c: Connector) -> list[WriteBack]:
    who = instructeur_of(link, c)
    plan = [_state_change("dossierPasserEnInstruction", "instruction", dn_id, who, c)]
    text = (
        "Éligible : toutes les règles de l'appel sont respectées."
        if a.eligible
        else "Inéligible :\n" + "\n".join(f"- {f.code} : {f.message}" for f in a.failures)
    )
    if link.annotations.get("eligibility"):
        plan.append(
            _annotation(
                f"annotation.eligibility.{a.dossier_event_id}",
                dn_id,
                who,
                link.annotations["eligibility"],
                {"textarea": text[:MAX_MOTIVATION]},
            )
        )
    if not a.eligible:
        motivation = "Votre dossier ne remplit pas les conditions d'éligibilité de l'appel à projets : " + " ".join(
            f.message for f in a.failures
        )
        plan.append(_state_change("dossierRefuser", "decision", dn_id, who, c, motivation))
    return plan


def mean_score(reviews: list[ReviewRecorded]) -> float | None:
    """The mean of every score given (a criterion not applicable is left out), to 2 decimals."""
    scores = [
        s
        for r in reviews
        for s in (r.scores.diagnosis, r.scores.co_construction, r.scores.roadmap, r.scores.free_software)
        if s is not None
    ]
    return round(sum(scores) / len(scores), 2) if scores else None


def for_decision(
    session: int,
    laureate: bool,
    dn_id: str,
    link: DemarcheLink,
    c: Connector,
    selection: ProjectSelected | None,
    rejection: ProjectRejected | None,
    reviews: list[ReviewRecorded],
) -> list[WriteBack]:
    who = instructeur_of(link, c)
    plan = []
    score = mean_score(reviews)
    if score is not None and link.annotations.get("mean_score"):
        plan.append(
            _annotation(
                f"annotation.mean_score.{session}", dn_id, who, link.annotations["mean_score"], {"decimalNumber": score}
            )
        )
    if laureate and selection is not None:
        plan.append(
            _state_change(
                "dossierAccepter",
                "decision",
                dn_id,
                who,
                c,
                f"Le comité de sélection (session {session}) retient votre projet : une "
                f"subvention de {format_euros(selection.granted_cents)} vous est accordée.",
            )
        )
    elif not laureate:
        reason = rejection.motivation if rejection is not None else "le projet n'a pas été retenu."
        plan.append(
            _state_change(
                "dossierRefuser",
                "decision",
                dn_id,
                who,
                c,
                f"Le comité de sélection (session {session}) n'a pas retenu votre projet : {reason}",
            )
        )
    return plan
