"""Integrity of the whole log: no gap in the sequence, and every event chained to its
aggregate's previous one (a hash of its bytes and of its predecessor's link, kept in the
`Aap-Hash` header). A changed, removed or inserted event is detected and located."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

import msgspec

from aap.audit.log import Record
from aap_platform.codec import content_hash, decode
from aap_platform.store import GENESIS


class Finding(msgspec.Struct, frozen=True):
    seq: int
    problem: str


class Verdict(msgspec.Struct):
    events: int = 0
    digest: str = ""
    findings: list[Finding] = msgspec.field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings


def verify(records: Iterable[Record]) -> Verdict:
    verdict = Verdict()
    heads: dict[str, tuple[str, int]] = {}  # subject -> (last link, last per-aggregate sequence)
    digest = hashlib.sha256()
    expected_seq = 1
    for r in records:
        verdict.events += 1
        if r.seq != expected_seq:
            verdict.findings.append(
                Finding(
                    expected_seq,
                    (
                        f"l'événement {expected_seq} manque"
                        if r.seq - 1 == expected_seq
                        else f"les événements {expected_seq} à {r.seq - 1} manquent"
                    ),
                )
            )
        expected_seq = r.seq + 1
        try:
            event = decode(r.data)
        except Exception as exc:  # an unreadable event is itself a finding
            verdict.findings.append(Finding(r.seq, f"événement illisible ({type(exc).__name__})"))
            continue
        link = content_hash(r.data, event.prev_hash)
        prev_link, prev_sequence = heads.get(r.subject, (GENESIS, 0))
        if r.headers.get("Aap-Hash") != link:
            verdict.findings.append(
                Finding(
                    r.seq, f"{event.type} {event.event_id} : son contenu ne correspond plus à l'empreinte enregistrée"
                )
            )
        if event.prev_hash != prev_link:
            verdict.findings.append(
                Finding(r.seq, f"{event.type} {event.event_id} : non chaîné à l'événement précédent de {r.subject}")
            )
        if event.sequence != prev_sequence + 1:
            verdict.findings.append(
                Finding(
                    r.seq,
                    f"{event.type} {event.event_id} : rang {event.sequence} dans son agrégat, "
                    f"{prev_sequence + 1} attendu",
                )
            )
        heads[r.subject] = (r.headers.get("Aap-Hash", link), event.sequence)
        digest.update(link.encode())
    verdict.digest = digest.hexdigest()
    return verdict
