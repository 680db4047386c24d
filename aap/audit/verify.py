"""Integrity of the whole log: no gap in the sequence (the first event is #1), every event
chained to its aggregate's previous one (a hash of its bytes and of its predecessor's link,
kept in the `Aap-Hash` header), signed by the key of its type's publisher (with a keyring),
and the log matching every seal (the seals in the log and those kept outside it). A changed,
removed, inserted, unsigned or forged event is detected and located; so is a log that lost
events a seal covered, or that is empty while seals exist."""

from __future__ import annotations

from collections.abc import Iterable

import msgspec

from aap.audit.log import Record
from aap_contract.config import CallConfig
from aap_contract.conformity import breach
from aap_contract.events import LogSealed
from aap_platform.codec import content_hash, decode
from aap_platform.seal import Digest
from aap_platform.signing import UNSIGNED, Keyring
from aap_platform.store import GENESIS

KIND_LABELS = {
    "ALTERED": "ALTÉRÉ",
    "MISSING": "MANQUANT",
    "FORGED": "FALSIFIÉ",
    "UNSIGNED": "NON SIGNÉ",
    "BREACH": "HORS CONTRAT",
    "SEAL": "SCELLÉ",
}


class Finding(msgspec.Struct, frozen=True):
    seq: int
    problem: str
    kind: str = "ALTERED"  # ALTERED, MISSING, FORGED, UNSIGNED, BREACH (of the contract), SEAL


class Verdict(msgspec.Struct):
    events: int = 0
    digest: str = ""
    seals: int = 0
    findings: list[Finding] = msgspec.field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings


class _Seal(msgspec.Struct, frozen=True):
    at: int  # the seal's own sequence
    last_seq: int
    digest: str
    source: str


def _seal_of(record: Record, keyring: Keyring | None, source: str) -> tuple[_Seal | None, str | None]:
    try:
        event = decode(record.data)
    except Exception as exc:  # noqa: BLE001
        return None, f"scellé illisible ({type(exc).__name__})"
    if not isinstance(event.data, LogSealed):
        return None, f"pas un scellé : {event.type}"
    if keyring is not None:
        problem = keyring.problem(
            record.subject, event.type, content_hash(record.data, event.prev_hash), record.headers
        )
        if problem is not None:
            return None, problem
    return _Seal(record.seq, event.data.last_seq, event.data.digest, source), None


def verify(
    records: Iterable[Record],
    keyring: Keyring | None = None,
    outside_seals: Iterable[Record] = (),
    call: CallConfig | None = None,
) -> Verdict:
    verdict = Verdict()
    heads: dict[str, tuple[str, int]] = {}  # subject -> (last link, last per-aggregate sequence)
    digest = Digest()
    digests: dict[int, str] = {}  # sequence -> the log's digest up to it
    seals: dict[int, _Seal] = {}  # by sealed sequence (the same seal may be in and out of the log)
    for outside in outside_seals:
        seal, problem = _seal_of(outside, keyring, "hors du bus")
        if seal is None:
            verdict.findings.append(Finding(outside.seq, f"scellé conservé hors du bus refusé : {problem}", "SEAL"))
        else:
            seals.setdefault(seal.last_seq, seal)
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
                    "MISSING",
                )
            )
        expected_seq = r.seq + 1
        try:
            event = decode(r.data)
        except Exception as exc:  # an unreadable event is itself a finding
            verdict.findings.append(Finding(r.seq, f"événement illisible ({type(exc).__name__})"))
            continue
        link = content_hash(r.data, event.prev_hash)
        digest.add(r.seq, r.headers.get("Aap-Hash", link))
        digests[r.seq] = digest.hexdigest()
        if r.headers.get("Aap-Hash") != link:
            verdict.findings.append(
                Finding(
                    r.seq, f"{event.type} {event.event_id} : son contenu ne correspond plus à l'empreinte enregistrée"
                )
            )
        if keyring is not None:
            problem = keyring.problem(r.subject, event.type, link, r.headers)
            if problem is not None:
                kind = "UNSIGNED" if problem.endswith(UNSIGNED) else "FORGED"
                verdict.findings.append(Finding(r.seq, f"{event.event_id} sur {r.subject} : {problem}", kind))
                continue  # the services refuse it: it is no link of its aggregate's chain
        if call is not None:
            broken = breach(event, call)
            if broken is not None:
                verdict.findings.append(Finding(r.seq, f"{event.event_id} sur {r.subject} : {broken}", "BREACH"))
                continue  # refused by the services as well
        if isinstance(event.data, LogSealed):
            seals.setdefault(
                event.data.last_seq, _Seal(r.seq, event.data.last_seq, event.data.digest, "dans le journal")
            )
        prev_link, prev_sequence = heads.get(r.subject, (GENESIS, 0))
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
    last = expected_seq - 1
    verdict.digest = digest.hexdigest()
    verdict.seals = len(seals)
    if verdict.events == 0 and seals:
        verdict.findings.append(
            Finding(
                0,
                f"le journal est VIDE alors que {len(seals)} scellé(s) existent, "
                f"le dernier jusqu'à l'événement {max(seals)}",
                "MISSING",
            )
        )
    for sealed, seal in sorted(seals.items()):
        if verdict.events == 0:
            break
        if sealed > last:
            verdict.findings.append(
                Finding(
                    sealed,
                    f"un scellé ({seal.source}) couvre les événements jusqu'au n° {sealed}, "
                    f"mais le journal s'arrête au n° {last}",
                    "MISSING",
                )
            )
        elif digests.get(sealed) != seal.digest:
            verdict.findings.append(
                Finding(
                    sealed, f"le journal jusqu'au n° {sealed} ne correspond plus à son scellé ({seal.source})", "SEAL"
                )
            )
    return verdict
