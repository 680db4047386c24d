"""What every reader of the log checks before acting on an event: signed by the key of its
type's publisher (`aap_platform.signing`), on its aggregate's subject, keeping the contract
(`aap_contract.conformity`). An event that fails is refused — not applied, not reacted to —
and parked once (copied to the call's parked stream), counted and logged."""

from __future__ import annotations

import logging
from typing import Any

from aap_contract.config import CallConfig
from aap_contract.conformity import breach
from aap_contract.envelope import Event
from aap_platform import metrics
from aap_platform.codec import content_hash
from aap_platform.signing import SIG_HEADER, Keyring

VERIFIED_MAX = 20_000  # a few seconds of replay: the views of one process read the stream side by side

log = logging.getLogger(__name__)


class Guard:
    def __init__(self, service: str, call: CallConfig, keyring: Keyring | None) -> None:
        self.service = service
        self.call = call
        self.keyring = keyring
        self.js: Any = None  # set once connected: where refused events are parked
        self._refused: set[int] = set()
        self._verified: set[tuple[str, str, str]] = set()
        metrics.REFUSED_EVENTS.labels(service)

    def problem(self, subject: str, headers: dict[str, str] | None, data: bytes, event: Event) -> str | None:
        if self.keyring is not None:
            link = content_hash(data, event.prev_hash)
            sig = headers.get(SIG_HEADER) if headers else None
            # The views of one process read the same events: a signature is checked once (the
            # cache keyed by the signature and what it signs).
            key = (sig, subject, link) if sig else None
            if key is None or key not in self._verified:
                signed = self.keyring.problem(subject, event.type, link, headers)
                if signed is not None:
                    return signed
                if key is not None:
                    if len(self._verified) >= VERIFIED_MAX:
                        self._verified.clear()
                    self._verified.add(key)
        expected = f"aap.{self.call.id}.{event.aggregate_type}.{event.aggregate_id}"
        if subject != expected:
            return f"{event.type} on subject {subject[:120]!r}, not its aggregate's {expected[:120]!r}"
        return breach(event, self.call)

    async def refuse(self, seq: int, subject: str, data: bytes, problem: str) -> None:
        """Park, count and log an event refused at stream sequence `seq` (once per process)."""
        if seq in self._refused:
            return
        self._refused.add(seq)
        metrics.REFUSED_EVENTS.labels(self.service).inc()
        log.error("%s: REFUSED event at stream sequence %d (%s): %s", self.service, seq, subject[:200], problem)
        if self.js is None:
            return
        headers = {
            "Aap-Original-Seq": str(seq),
            "Aap-Original-Subject": subject[:512],
            "Aap-Refused": problem[:512],
            "Nats-Msg-Id": f"{self.service}-refused-{seq}",
        }
        try:
            await self.js.publish(f"aap-parked.{self.call.id}.{self.service}", data, headers=headers)
        except Exception:  # parking is a copy for the operator: the refusal stands without it
            log.exception("%s: could not park the refused event %d", self.service, seq)
