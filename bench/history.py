"""A realistic call history, generated: every event type of the contract in the shapes and
proportions of a call (per dossier: a submission, some amendments and documents, an assessment
of each version, committee reviews, a decision, the budget's answer, commitments, the
notifications; the sessions close and the reservations lapse at the end), dossiers taken in
blocks so that a cut at any length keeps the mix.

`events(n_dossiers)` yields hash-chained `Event`s; `messages(...)` what `EventStore.append`
would publish (subject, payload, headers). About 7.5 events per dossier.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import msgspec

from aap_contract.dossier import Dossier
from aap_contract.envelope import Event
from aap_contract.events import (
    BeneficiaryIdentified,
    CreditsCommitted,
    CreditsReserved,
    DnDossierDeleted,
    DnDossierImported,
    DnImportFailed,
    DnWriteBackDone,
    DocumentUploaded,
    DossierAmended,
    DossierSubmitted,
    DossierWithdrawn,
    DraftAdopted,
    DraftCreated,
    DraftLine,
    DraftLineChanged,
    DraftLineRemoved,
    EligibilityAssessed,
    EventData,
    Lapse,
    LineOutcome,
    LogSealed,
    NotificationSent,
    OfficialDocumentIssued,
    ProjectDeferred,
    ProjectRejected,
    ProjectSelected,
    ReservationRefused,
    ReservationsLapsed,
    ReviewRecorded,
    RuleFailure,
    Scores,
    SessionClosed,
)
from aap_platform.codec import content_hash, encode
from aap_platform.ids import stable_id
from aap_platform.store import GENESIS, subject_for
from bench.payloads import scenario_dossier

START = datetime(2021, 4, 1, 8, 0, tzinfo=UTC)
DEADLINE = datetime(2021, 12, 31, 22, 59, 59, tzinfo=UTC)
BLOCK = 500  # dossiers per block: intake, then committee, budget, notifier
MEMBERS = ("referent-regional-1", "referent-regional-2", "referent-59")
DEPARTEMENTS = ("02", "59", "60", "62", "80")
THEMES = ("1.1", "1.2", "1.3", "1.4", "2.1", "2.2", "2.3")
SIRENS = ("215903501", "200093201", "210200010", "215901000", "216000015")
ENVELOPE_CENTS = 168_500_000
CLOSED_LIST_MAX = 2_000  # a SessionClosed names at most this many (message size)


def _variant(base: Dossier, i: int, rng: random.Random, amended: bool = False) -> Dossier:
    a = base.applicants[0]
    applicant = msgspec.structs.replace(
        a,
        name=f"{a.name} {i}",
        siren=SIRENS[i % len(SIRENS)],
        departement=DEPARTEMENTS[i % len(DEPARTEMENTS)],
        contact=msgspec.structs.replace(a.contact, email=f"numerique{i}@collectivite{i}.example.fr"),
    )
    title = f"{base.title} — dossier {i}" + (" (modifié)" if amended else "")
    return msgspec.structs.replace(
        base,
        title=title,
        theme=THEMES[rng.randrange(len(THEMES))],
        summary=f"{base.summary} Réf. {i}.",
        applicants=[applicant, *base.applicants[1:]],
    )


class History:
    def __init__(self, call_id: str = "bench-replay", seed: int = 7) -> None:
        self.call_id = call_id
        self.rng = random.Random(seed)
        self.base = scenario_dossier()
        self.heads: dict[tuple[str, str], tuple[int, str]] = {}  # aggregate -> (sequence, last hash)
        self.at = START
        self.available = ENVELOPE_CENTS
        self.laureates: dict[int, list[str]] = {1: [], 2: []}
        self.not_retained: dict[int, list[str]] = {1: [], 2: []}
        self.held: dict[str, int] = {}  # reserved, not committed: lapsed at the deadline
        self.identified: list[str] = []  # committed grants whose SIRET an operator completed
        self.n = 0

    def _event(
        self,
        aggregate_type: str,
        aggregate_id: str,
        data: EventData,
        event_id: str | None = None,
        causation: Event | None = None,
    ) -> tuple[Event, bytes, str]:
        key = (aggregate_type, aggregate_id)
        seq, prev = self.heads.get(key, (0, GENESIS))
        self.n += 1
        self.at += timedelta(seconds=1)
        eid = event_id or stable_id("bench", self.call_id, str(self.n))
        event = Event(
            eid,
            type(data).__name__,
            type(data).version,
            aggregate_type,
            aggregate_id,
            seq + 1,
            self.at,
            "bench",
            causation.correlation_id if causation else eid,
            causation.event_id if causation else None,
            prev,
            data,
        )
        payload = encode(event)
        link = content_hash(payload, prev)
        self.heads[key] = (seq + 1, link)
        return event, payload, link

    def _block(self, first: int, count: int) -> Iterator[tuple[Event, bytes, str]]:
        rng, decided = self.rng, []
        for i in range(first, first + count):
            did, session = f"d{i:07d}", 1 if rng.random() < 0.6 else 2
            head = self._event("dossier", did, DossierSubmitted(did, _variant(self.base, i, rng), session))
            yield head
            yield from self._connector(i, did)
            versions = [head[0]]
            if rng.random() < 0.3:
                amended = self._event("dossier", did, DossierAmended(did, _variant(self.base, i, rng, True), session))
                yield amended
                versions.append(amended[0])
            if rng.random() < 0.5:
                yield self._event(
                    "dossier",
                    did,
                    DocumentUploaded(did, "projet.pdf", "application/pdf", 48213, "ab" * 32, f"{did}/ab.pdf"),
                )
            eligible = rng.random() < 0.8
            failures = [] if eligible else [RuleFailure("COST_RANGE", "Le coût global est hors de la fourchette.")]
            for v in versions:
                yield self._event(
                    "assessment",
                    did,
                    EligibilityAssessed(did, v.event_id, eligible, failures),
                    event_id=stable_id("assessment", v.event_id),
                    causation=v,
                )
            if rng.random() < 0.05:
                yield self._event("dossier", did, DossierWithdrawn(did, "abandon du projet"))
            elif eligible:
                decided.append((did, session))
        if decided:  # the secretariat tries a programmation of the block: a draft, edited, adopted
            draft_id = stable_id("draft", self.call_id, str(first))
            lines = [DraftLine(did, 3_000_000) for did, _ in decided[:5]]
            yield self._event("draft", draft_id, DraftCreated(draft_id, 1, "Proposition", "secretariat", lines, True))
            yield self._event("draft", draft_id, DraftLineChanged(draft_id, lines[0].dossier_id, 2_500_000))
            yield self._event("draft", draft_id, DraftLineRemoved(draft_id, lines[-1].dossier_id))
            outcomes = [
                LineOutcome(line.dossier_id, line.granted_cents, "NOT_ON_AGENDA", "hors ordre du jour")
                for line in lines[:-1]
            ]
            yield self._event("draft", draft_id, DraftAdopted(draft_id, 1, outcomes))
        for did, session in decided:
            for m in MEMBERS:
                yield self._event("session", str(session), ReviewRecorded(session, did, m, Scores(3, 2, 3, 1)))
            r = rng.random()
            if r < 0.4:
                grant = rng.randrange(20, 80) * 100_000
                selected = self._event("session", str(session), ProjectSelected(session, did, grant))
                yield selected
                sel = selected[0]
                if grant <= self.available:
                    self.available -= grant
                    self.laureates[session].append(did)
                    yield self._event(
                        "envelope",
                        self.call_id,
                        CreditsReserved(did, session, sel.event_id, grant),
                        event_id=stable_id("reservation", sel.event_id),
                        causation=sel,
                    )
                    if rng.random() < 0.5:
                        yield self._event("envelope", self.call_id, CreditsCommitted(did, grant, f"EJ-{did}"))
                        if not self.identified:  # an operator completes one beneficiary's SIRET
                            self.identified.append(did)
                            yield self._event(
                                "envelope", self.call_id, BeneficiaryIdentified(did, "215903501", "21590350100017")
                            )
                    else:
                        self.held[did] = grant
                else:
                    yield self._event(
                        "envelope",
                        self.call_id,
                        ReservationRefused(did, session, sel.event_id, grant, self.available),
                        event_id=stable_id("reservation", sel.event_id),
                        causation=sel,
                    )
            elif r < 0.8:
                self.not_retained[session].append(did)
                yield self._event("session", str(session), ProjectRejected(session, did, "Projet moins abouti."))
            else:
                yield self._event("session", str(session), ProjectDeferred(session, did, 2))
        for did, session in decided:
            nid = stable_id("notification", did)
            yield self._event(
                "notification",
                nid,
                NotificationSent(
                    nid,
                    "individual",
                    session,
                    [did],
                    [f"numerique@{did}.example.fr"],
                    f"<{nid}@bench>",
                    "Appel à projets ITN 7 axe 3 : décision du comité",
                ),
            )

    def _connector(self, i: int, did: str) -> Iterator[tuple[Event, bytes, str]]:
        """A few dossiers come from Démarche Numérique (fixed by `i`: the random draws stay as they were)."""
        if i % 10 == 3:
            yield self._event(
                "dndossier",
                did,
                DnDossierImported(did, 41027, 4_000_000 + i, f"RG9zc2llci0{i}", "submitted", "f" * 64, self.at),
            )
            yield self._event(
                "dndossier", did, DnWriteBackDone(did, 4_000_000 + i, "dossierPasserEnInstruction", "instruction")
            )
        if i % 50 == 7:
            yield self._event(
                "dndossier",
                did,
                DnImportFailed(did, 41027, 4_000_000 + i, "unmappable", ["montant illisible"], "e" * 64, self.at),
            )
        if i % 100 == 11:
            yield self._event("dndossier", did, DnDossierDeleted(did, 41027, 4_000_000 + i, "user_request", self.at))

    def events(self, n_dossiers: int) -> Iterator[tuple[Event, bytes, str]]:
        """(event, encoded payload, chain link), in log order; the sessions close at the end."""
        gen_first = 0
        while gen_first < n_dossiers:
            yield from self._block(gen_first, min(BLOCK, n_dossiers - gen_first))
            gen_first += BLOCK
        for s in (1, 2):
            yield self._event(
                "session",
                str(s),
                SessionClosed(s, self.laureates[s][:CLOSED_LIST_MAX], self.not_retained[s][:CLOSED_LIST_MAX]),
            )
            for did in self.laureates[s][:1]:  # the official documents of a decision (one here)
                doc = f"s{s}-arrete-{did}"
                yield self._event(
                    "official",
                    doc,
                    OfficialDocumentIssued(doc, did, s, "arrete", f"ARR-{s}-{did[:8]}", "0" * 64, 1000, doc),
                )
        yield self._event(
            "envelope",
            self.call_id,
            ReservationsLapsed(DEADLINE, [Lapse(d, amount) for d, amount in sorted(self.held.items())]),
        )
        yield self._event("seal", self.call_id, LogSealed(last_seq=0, digest="0" * 64, reason="periodic"))

    def messages(self, n_dossiers: int) -> Iterator[tuple[str, bytes, dict[str, str]]]:
        for event, payload, link in self.events(n_dossiers):
            yield (
                subject_for(self.call_id, event.aggregate_type, event.aggregate_id),
                payload,
                {"Nats-Msg-Id": event.event_id, "Aap-Type": event.type, "Aap-Hash": link},
            )


def dossiers_for(n_events: int) -> int:
    """Dossiers whose history holds at least `n_events` events (then cut at `n_events`)."""
    return int(n_events / 7.0) + BLOCK
