"""Which notifications a closed session calls for, and when one counts as sent. Pure.

Ids are deterministic (`s1-individual-<dossier>`, `s1-collective`), so that every process,
every restart and every replay names the same notification the same way.
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Literal

import msgspec

from aap_contract.entry import DossierEntry
from aap_contract.events import NotificationSent
from aap_platform.store import Loaded
from services.notifier.view import NotifierView

Kind = Literal["individual", "collective"]


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


def message_id(notification_id: str, call_id: str) -> str:
    """The Message-ID header: the same on a resend, so mail clients show one message."""
    return f"<{notification_id}.{call_id}@aap.invalid>"


def contacts(entries: Iterable[DossierEntry | None]) -> tuple[str, ...]:
    """Every structure's contact email, once each (case-insensitively), in order."""
    seen: dict[str, str] = {}
    for entry in entries:
        if entry is None:
            continue
        for applicant in entry.applicants:
            seen.setdefault(applicant.contact_email.strip().lower(), applicant.contact_email.strip())
    return tuple(seen.values())


def due_notifications(view: NotifierView, delay: timedelta) -> list[Notification]:
    """Per closed session, in closing order: one individual notification per lauréat, then one
    collective notification to every dossier not retained. Deferred dossiers get nothing."""
    out: list[Notification] = []
    entries = view.dossiers.entries
    for closed in sorted(view.sessions.values(), key=lambda s: (s.closed_at, s.session)):
        due_at = closed.closed_at + delay
        for dossier_id in closed.laureates:
            out.append(Notification(individual_id(closed.session, dossier_id), "individual", closed.session,
                                    (dossier_id,), contacts([entries.get(dossier_id)]), closed.closed_at, due_at))
        if closed.not_retained:
            ids = tuple(closed.not_retained)
            out.append(Notification(collective_id(closed.session), "collective", closed.session, ids,
                                    tuple(sorted(contacts(entries.get(i) for i in ids), key=str.lower)),
                                    closed.closed_at, due_at))
    return out


def is_overdue(notification: Notification, now: datetime) -> bool:
    return now > notification.due_at


def already_sent(loaded: Loaded) -> bool:
    return any(isinstance(e.data, NotificationSent) for e in loaded.events)


def record_sent(loaded: Loaded, n: Notification, message: str, subject: str) -> NotificationSent | None:
    """Decide the fact recorded once the SMTP server accepted the message (None: recorded already)."""
    if already_sent(loaded):
        return None
    return NotificationSent(notification_id=n.notification_id, kind=n.kind, session=n.session,
                            dossier_ids=list(n.dossier_ids), recipients=list(n.recipients),
                            message_id=message, subject=subject)


def retry_delay(attempts: int, base: float, cap: float) -> float:
    """Exponential backoff after `attempts` failures, capped: a message is never given up."""
    return min(cap, base * 2 ** min(max(attempts - 1, 0), 32))
