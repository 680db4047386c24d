"""Plays one step over HTTP, as the user who would do it, and reports what the system said.

refs map to the system's dossier ids; a step on a ref the system never accepted is sent with
an id nobody holds, so that the system answers for an unknown dossier itself."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from aap.scenario.loader import Step
from aap.scenario.outcome import StepResult
from aap_platform.auth import issue_token
from aap_platform.ids import new_id

TOKEN_TTL = 6 * 3600


@dataclass
class Tokens:
    """Signed bearer tokens, one per identity, made on first use."""

    private_key: Path
    _made: dict[tuple, str] = field(default_factory=dict)

    def header(
        self, role: str, subject: str | None = None, sirens: tuple[str, ...] = (), member_id: str | None = None
    ) -> dict[str, str]:
        key = (role, subject, tuple(sorted(sirens)), member_id)
        if key not in self._made:
            self._made[key] = issue_token(
                self.private_key,
                role=role,
                subject=subject or f"scenario-{role}",
                sirens=list(key[2]),
                member_id=member_id,
                ttl=TOKEN_TTL,
            )
        return {"Authorization": f"Bearer {self._made[key]}"}


@dataclass
class Request:
    method: str
    url: str
    headers: dict[str, str]
    body: Any = None


@dataclass
class Player:
    client: httpx.AsyncClient
    urls: dict[str, str]
    tokens: Tokens
    refs: dict[str, str] = field(default_factory=dict)  # ref -> system dossier id
    sirens: dict[str, set[str]] = field(default_factory=dict)  # ref -> SIRENs it was filed for

    async def play(self, step: Step) -> StepResult:
        if step.action == "advance":
            return StepResult(step.index, True)
        request = getattr(self, "_" + step.action)(step)
        headers = dict(request.headers)
        content = None
        if request.body is not None:
            headers["Content-Type"] = "application/json"
            content = json.dumps(request.body).encode()
        response = await self.client.request(request.method, request.url, headers=headers, content=content)
        if response.is_success and step.action == "submit":
            self.refs[step["ref"]] = response.json()["dossier_id"]
            self.sirens[step["ref"]] = set(sirens_of(step["dossier"]))
        elif response.is_success and step.action == "amend":
            self.sirens.setdefault(step["ref"], set()).update(sirens_of(step["dossier"]))
        return answer(step.index, response)

    def dossier_id(self, ref: str) -> str:
        return self.refs.get(ref) or new_id()

    def _as_applicant(self, ref: str | None, dossier: Any = None) -> dict[str, str]:
        sirens = set(sirens_of(dossier)) | (self.sirens.get(ref, set()) if ref is not None else set())
        if not sirens:  # malformed beyond telling who files it: an instructor files it
            return self.tokens.header("instructor")
        return self.tokens.header("applicant", "scenario-applicant", tuple(sirens))

    def _submit(self, step: Step) -> Request:
        headers = {**self._as_applicant(None, step["dossier"]), "Idempotency-Key": str(uuid.uuid4())}
        return Request("POST", f"{self.urls['intake']}/dossiers", headers, step["dossier"])

    def _amend(self, step: Step) -> Request:
        return Request(
            "PUT",
            f"{self.urls['intake']}/dossiers/{self.dossier_id(step['ref'])}",
            self._as_applicant(step["ref"], step["dossier"]),
            step["dossier"],
        )

    def _withdraw(self, step: Step) -> Request:
        body = {"reason": step["reason"]} if "reason" in step.raw else {}
        return Request(
            "POST",
            f"{self.urls['intake']}/dossiers/{self.dossier_id(step['ref'])}/withdraw",
            self._as_applicant(step["ref"]),
            body,
        )

    def _review(self, step: Step) -> Request:
        member = step["member"]
        body = {"dossier_id": self.dossier_id(step["ref"]), "member_id": member, "scores": step["scores"]}
        return Request(
            "POST",
            f"{self.urls['committee']}/sessions/{step['session']}/reviews",
            self.tokens.header("committee_member", member, member_id=member),
            body,
        )

    def _decide(self, step: Step) -> Request:
        body = {"dossier_id": self.dossier_id(step["ref"]), "decision": step["decision"]}
        body.update({k: step[k] for k in ("granted_cents", "motivation") if k in step.raw})
        return Request(
            "POST",
            f"{self.urls['committee']}/sessions/{step['session']}/decisions",
            self.tokens.header("instructor"),
            body,
        )

    def _close_session(self, step: Step) -> Request:
        return Request(
            "POST", f"{self.urls['committee']}/sessions/{step['session']}/close", self.tokens.header("instructor")
        )

    def _commit(self, step: Step) -> Request:
        body = {"dossier_id": self.dossier_id(step["ref"]), "legal_reference": step["legal_reference"]}
        return Request("POST", f"{self.urls['budget']}/commitments", self.tokens.header("budget_officer"), body)


def sirens_of(dossier: Any) -> list[str]:
    applicants = dossier.get("applicants") if isinstance(dossier, dict) else None
    if not isinstance(applicants, list):
        return []
    return [a["siren"] for a in applicants if isinstance(a, dict) and isinstance(a.get("siren"), str)]


def answer(index: int, response: httpx.Response) -> StepResult:
    """ok on 2xx; the refusal code of a 404/409; VALIDATION for a 422; else HTTP_<status>."""
    if response.is_success:
        return StepResult(index, True)
    try:
        body = response.json()
    except ValueError:
        body = None
    if response.status_code == 422:
        detail = body.get("extra", body.get("detail")) if isinstance(body, dict) else response.text
        return StepResult(index, False, "VALIDATION", json.dumps(detail, ensure_ascii=False)[:500])
    if response.status_code in (404, 409) and isinstance(body, dict) and isinstance(body.get("code"), str):
        return StepResult(index, False, body["code"], body.get("message"))
    return StepResult(index, False, f"HTTP_{response.status_code}", response.text[:500])
