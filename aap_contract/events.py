"""The event contract: every event type, its version and the one service that publishes it.

Events are immutable facts (frozen msgspec Structs). A change of schema is a new version;
old versions stay readable through an upcaster (see `aap_platform.codec`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, ClassVar, Literal

import msgspec

from aap_contract.dossier import Dossier


class EventData(msgspec.Struct, frozen=True, forbid_unknown_fields=False):
    """Base of every event payload. `aggregate` names the stream of facts it belongs to."""

    aggregate: ClassVar[str]
    publisher: ClassVar[str]
    version: ClassVar[int] = 1


# --- intake: aggregate "dossier" -------------------------------------------------------


class DossierSubmitted(EventData, frozen=True):
    aggregate = "dossier"
    publisher = "intake"
    dossier_id: str
    dossier: Dossier
    session: int


class DossierAmended(EventData, frozen=True):
    aggregate = "dossier"
    publisher = "intake"
    dossier_id: str
    dossier: Dossier
    session: int


class DossierWithdrawn(EventData, frozen=True):
    """v2 added `reason`; v1 events are upcast with an empty reason."""

    aggregate = "dossier"
    publisher = "intake"
    version = 2
    dossier_id: str
    reason: str = ""


class DocumentUploaded(EventData, frozen=True):
    aggregate = "dossier"
    publisher = "intake"
    dossier_id: str
    filename: str
    content_type: str
    size: int
    sha256: str
    object_name: str


# --- eligibility: aggregate "assessment" (one per dossier) -----------------------------


class RuleFailure(msgspec.Struct, frozen=True):
    code: str
    message: str


class EligibilityAssessed(EventData, frozen=True):
    aggregate = "assessment"
    publisher = "eligibility"
    dossier_id: str
    dossier_event_id: str
    eligible: bool
    failures: list[RuleFailure]


# --- committee: aggregate "session" ----------------------------------------------------


class Scores(msgspec.Struct, frozen=True):
    diagnosis: int
    co_construction: int
    roadmap: int
    free_software: int | None


class ReviewRecorded(EventData, frozen=True):
    aggregate = "session"
    publisher = "committee"
    session: int
    dossier_id: str
    member_id: str
    scores: Scores


class ProjectSelected(EventData, frozen=True):
    aggregate = "session"
    publisher = "committee"
    session: int
    dossier_id: str
    granted_cents: int


class ProjectRejected(EventData, frozen=True):
    aggregate = "session"
    publisher = "committee"
    session: int
    dossier_id: str
    motivation: str


class ProjectDeferred(EventData, frozen=True):
    aggregate = "session"
    publisher = "committee"
    session: int
    dossier_id: str
    to_session: int


class SessionClosed(EventData, frozen=True):
    aggregate = "session"
    publisher = "committee"
    session: int
    laureates: list[str]
    not_retained: list[str]


# --- budget: aggregate "envelope" (one per call) ---------------------------------------


class CreditsReserved(EventData, frozen=True):
    aggregate = "envelope"
    publisher = "budget"
    dossier_id: str
    session: int
    selection_event_id: str
    amount_cents: int


class ReservationRefused(EventData, frozen=True):
    aggregate = "envelope"
    publisher = "budget"
    dossier_id: str
    session: int
    selection_event_id: str
    amount_cents: int
    available_cents: int
    code: str = "ENVELOPE_EXHAUSTED"


class CreditsCommitted(EventData, frozen=True):
    aggregate = "envelope"
    publisher = "budget"
    dossier_id: str
    amount_cents: int
    legal_reference: str


class BeneficiaryIdentified(EventData, frozen=True):
    """An operator completed the establishment (SIRET) or association (RNA) number of one of a
    committed grant's structures, which the dossier lacked: the legal commitment names the
    paying establishment, the open-data list needs it."""

    aggregate = "envelope"
    publisher = "budget"
    dossier_id: str
    siren: str
    siret: str | None = None
    rna: str | None = None


class Lapse(msgspec.Struct, frozen=True):
    dossier_id: str
    amount_cents: int


class ReservationsLapsed(EventData, frozen=True):
    aggregate = "envelope"
    publisher = "budget"
    deadline: datetime
    lapses: list[Lapse]


# --- committee: aggregate "draft" (programmation drafts; they never touch the envelope) ---


class DraftLine(msgspec.Struct, frozen=True):
    dossier_id: str
    granted_cents: int


class DraftCreated(EventData, frozen=True):
    aggregate = "draft"
    publisher = "committee"
    draft_id: str
    session: int
    name: str
    author: str
    lines: list[DraftLine]
    proposed: bool = False  # built from the ranking rather than by hand


class DraftLineChanged(EventData, frozen=True):
    aggregate = "draft"
    publisher = "committee"
    draft_id: str
    dossier_id: str
    granted_cents: int


class DraftLineRemoved(EventData, frozen=True):
    aggregate = "draft"
    publisher = "committee"
    draft_id: str
    dossier_id: str


class LineOutcome(msgspec.Struct, frozen=True):
    dossier_id: str
    granted_cents: int
    code: str | None = None  # None: the selection was recorded; else the refusal's code
    message: str | None = None


class DraftAdopted(EventData, frozen=True):
    aggregate = "draft"
    publisher = "committee"
    draft_id: str
    session: int
    outcomes: list[LineOutcome]


# --- notifier: aggregate "notification" ------------------------------------------------


class NotificationSent(EventData, frozen=True):
    aggregate = "notification"
    publisher = "notifier"
    notification_id: str
    kind: Literal["individual", "collective", "lapse"]  # "lapse" added: older events stay readable
    session: int
    dossier_ids: list[str]
    recipients: list[str]
    message_id: str
    subject: str


# --- notifier: aggregate "official" (the official documents of each decision) ------------

OfficialKind = Literal["arrete", "notification", "non_selection"]


class OfficialDocumentIssued(EventData, frozen=True):
    """An official document of a decision, generated once from the log: its content's hash is
    what an auditor's regeneration is compared with."""

    aggregate = "official"
    publisher = "notifier"
    document_id: str
    dossier_id: str
    session: int
    kind: OfficialKind
    reference: str  # the decision's reference, printed on the document
    sha256: str
    size: int
    object_name: str


# --- connector: aggregate "dndossier" (one per Démarche Numérique dossier; id = the AAP dossier id,
# fixed by the DN number). What the connector did with each DN dossier, so that a redelivery or a
# restart never imports twice nor calls a DN mutation twice.


class DnDossierImported(EventData, frozen=True):
    """Intake accepted the DN dossier's content (`action`: submitted, amended or unchanged)."""

    aggregate = "dndossier"
    publisher = "connector"
    dossier_id: str
    demarche: int
    number: int
    dn_id: str
    action: Literal["submitted", "amended", "unchanged"]
    fingerprint: str  # of the DN content the import was made from
    modified_at: datetime  # DN's dateDerniereModification
    document_checksum: str | None = None  # DN's checksum (base64 MD5) of the file imported with it


class DnImportFailed(EventData, frozen=True):
    """The DN dossier could not be imported: `kind` unmappable (its content), refused (by intake's
    rules), document (its file). Listed for an operator; tried again when the dossier changes in DN."""

    aggregate = "dndossier"
    publisher = "connector"
    dossier_id: str
    demarche: int
    number: int
    kind: Literal["unmappable", "refused", "document"]
    problems: list[str]
    fingerprint: str
    modified_at: datetime


class DnDossierDeleted(EventData, frozen=True):
    """The dossier was deleted in DN (or is pending deletion) and withdrawn from AAP."""

    aggregate = "dndossier"
    publisher = "connector"
    dossier_id: str
    demarche: int
    number: int
    reason: str
    deleted_at: datetime


class DnWriteBackDone(EventData, frozen=True):
    """A DN mutation succeeded for the dossier; `key` names the write-back (done once each)."""

    aggregate = "dndossier"
    publisher = "connector"
    dossier_id: str
    number: int
    mutation: str
    key: str


# --- the log's own seals: aggregate "seal" (one per call), sealed by the committee ---------


class LogSealed(EventData, frozen=True):
    """The log up to `last_seq` as it stood when sealed: `digest` chains the link (`Aap-Hash`) of
    every message 1..last_seq (`aap_platform.seal`). Written at each session closing and every
    few minutes, signed like any event, and also kept outside the bus."""

    aggregate = "seal"
    publisher = "committee"
    last_seq: int
    digest: str
    reason: str


EVENT_TYPES: tuple[type[EventData], ...] = (
    DossierSubmitted,
    DossierAmended,
    DossierWithdrawn,
    DocumentUploaded,
    EligibilityAssessed,
    ReviewRecorded,
    ProjectSelected,
    ProjectRejected,
    ProjectDeferred,
    SessionClosed,
    DraftCreated,
    DraftLineChanged,
    DraftLineRemoved,
    DraftAdopted,
    CreditsReserved,
    ReservationRefused,
    CreditsCommitted,
    ReservationsLapsed,
    BeneficiaryIdentified,
    NotificationSent,
    OfficialDocumentIssued,
    DnDossierImported,
    DnImportFailed,
    DnDossierDeleted,
    DnWriteBackDone,
    LogSealed,
)
BY_NAME: dict[str, type[EventData]] = {t.__name__: t for t in EVENT_TYPES}


def published_by(service: str) -> list[type[EventData]]:
    return [t for t in EVENT_TYPES if t.publisher == service]


# Old versions stay readable: (type, version) -> the payload of that version turned into the next.
Upcaster = Callable[[dict[str, Any]], dict[str, Any]]
UPCASTERS: dict[tuple[str, int], Upcaster] = {
    ("DossierWithdrawn", 1): lambda d: {**d, "reason": ""},
}
