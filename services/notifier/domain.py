"""What a notification is, and the notification aggregate: when one counts as sent. Pure.

Ids are deterministic (`s1-individual-<dossier>`, `s1-collective`, `lapse-<dossier>`), so that every process,
every restart and every replay names the same notification the same way.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, Literal

import msgspec

from aap_contract.entry import DossierEntry
from aap_contract.envelope import Event
from aap_contract.events import EventData, NotificationSent, OfficialDocumentIssued

Kind = Literal["individual", "collective", "lapse"]


class Notification(msgspec.Struct, frozen=True):
    notification_id: str
    kind: Kind
    session: int
    dossier_ids: tuple[str, ...]
    recipients: tuple[str, ...]
    closed_at: datetime
    due_at: datetime


def individual_id(session: int, dossier_id: str) -> str:
    return f"s{session}-individual-{dossier_id}"


def collective_id(session: int) -> str:
    return f"s{session}-collective"


def lapse_id(dossier_id: str) -> str:
    return f"lapse-{dossier_id}"


def message_id(notification_id: str, call_id: str, sender_email: str) -> str:
    """The Message-ID header, on the sender's own domain (RFC 5322: the right of the @ names the
    host that made it unique): the same on a resend, so mail clients show one message."""
    domain = sender_email.rpartition("@")[2].strip().strip(">").lower() or "localhost"
    return f"<{notification_id}.{call_id}@{domain}>"


def contacts(entries: Iterable[DossierEntry | None]) -> tuple[str, ...]:
    """Every structure's contact email, once each (case-insensitively), in order."""
    seen: dict[str, str] = {}
    for entry in entries:
        if entry is None:
            continue
        for applicant in entry.applicants:
            seen.setdefault(applicant.contact_email.strip().lower(), applicant.contact_email.strip())
    return tuple(seen.values())


def is_overdue(notification: Notification, now: datetime) -> bool:
    return now > notification.due_at


def retry_delay(attempts: int, base: float, cap: float) -> float:
    """Exponential backoff after `attempts` failures, capped: a message is never given up."""
    return float(min(cap, base * 2 ** min(max(attempts - 1, 0), 32)))


# --- the notifier's aggregates: a notification (id: the notification's), an official document
# (id: the document's). Each records one fact, once: sent, or issued. ------------------------


class RecordSent(msgspec.Struct, frozen=True):
    """The SMTP server accepted the message: record it (once)."""

    notification: Notification
    message_id: str
    subject: str


class IssueDocument(msgspec.Struct, frozen=True):
    """An official document was generated and stored: record its hash (once)."""

    document: OfficialDocumentIssued


Command = RecordSent | IssueDocument


class NotificationState(msgspec.Struct):
    """Whether the aggregate's one fact is recorded (a notification sent, a document issued)."""

    sent: bool = False


def initial_state() -> NotificationState:
    return NotificationState()


def evolve(state: NotificationState, event: Event[Any]) -> NotificationState:
    if isinstance(event.data, (NotificationSent, OfficialDocumentIssued)):
        state.sent = True
    return state


def decide(command: Command, state: NotificationState, context: None = None) -> EventData | None:
    """The fact to record (None: recorded already)."""
    if state.sent:
        return None
    if isinstance(command, IssueDocument):
        return command.document
    n = command.notification
    return NotificationSent(
        notification_id=n.notification_id,
        kind=n.kind,
        session=n.session,
        dossier_ids=list(n.dossier_ids),
        recipients=list(n.recipients),
        message_id=command.message_id,
        subject=command.subject,
    )
