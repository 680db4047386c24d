"""Intake's HTTP API as the connector uses it, with a service token of role `connector`: only intake
publishes dossier events, so a DN dossier enters AAP through intake's own validation and rules."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import httpx
import msgspec

from aap_contract.dossier import Dossier


class IntakeUnavailable(Exception):
    """Intake did not answer (or answered 5xx): the pass stops and its page is done again."""


class Answer(msgspec.Struct, frozen=True):
    outcome: Literal["ok", "refused", "invalid"]
    action: str = ""  # ok: submitted | amended | unchanged
    problems: list[str] = []


@dataclass
class IntakeClient:
    url: str
    token: Callable[[], str]
    http: httpx.AsyncClient = field(default_factory=lambda: httpx.AsyncClient(timeout=30.0))

    async def close(self) -> None:
        await self.http.aclose()

    async def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.token()}", **kwargs.pop("headers", {})}
        try:
            response = await self.http.request(method, self.url.rstrip("/") + path, headers=headers, **kwargs)
        except httpx.TransportError as exc:
            raise IntakeUnavailable(f"intake injoignable : {type(exc).__name__}") from None
        if response.status_code >= 500 or response.status_code in (401, 403):
            raise IntakeUnavailable(f"intake a répondu HTTP {response.status_code}")
        return response

    @staticmethod
    def _answer(response: httpx.Response) -> Answer:
        body = response.json() if response.content else {}
        if response.status_code in (200, 201):
            return Answer("ok", action=body.get("action", ""))
        if response.status_code == 422:
            extra = body.get("extra") or []
            return Answer(
                "invalid",
                problems=[f"{e.get('field')} : {e.get('message')}" for e in extra]
                or [str(body.get("detail", "données invalides"))],
            )
        return Answer("refused", problems=[f"{body.get('code', response.status_code)} : {body.get('message', '')}"])

    async def import_dossier(self, dossier_id: str, submitted_at: datetime, dossier: Dossier) -> Answer:
        body = {"submitted_at": submitted_at.isoformat(), "dossier": msgspec.to_builtins(dossier)}
        return self._answer(await self._send("PUT", f"/imports/{dossier_id}", json=body))

    async def import_document(self, dossier_id: str, at: datetime, filename: str, content: bytes) -> Answer:
        response = await self._send(
            "PUT",
            f"/imports/{dossier_id}/document",
            content=content,
            params={"at": at.isoformat(), "filename": filename},
            headers={"Content-Type": "application/pdf"},
        )
        return (
            self._answer(response)
            if response.status_code != 413
            else Answer("refused", problems=["document trop volumineux pour intake"])
        )

    async def document_sha256(self, dossier_id: str) -> str | None:
        """The SHA-256 of the document intake holds for the dossier (None: none, or no dossier)."""
        response = await self._send("GET", f"/dossiers/{dossier_id}")
        return response.json().get("document_sha256") if response.status_code == 200 else None

    async def withdraw(self, dossier_id: str, reason: str) -> Answer:
        return self._answer(await self._send("POST", f"/dossiers/{dossier_id}/withdraw", json={"reason": reason}))
