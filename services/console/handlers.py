"""Calls to the owning services' APIs, under the signed-in agent's identity.

The console has no rule of its own: every read it does not keep itself and every action goes to
the service that owns it, with a short-lived token (ES256, like `aap token issue`) minted for the
agent's role, e-mail and committee member id, signed with the console's key whose public half is
in the JWKS the services trust. A refusal comes back as the service's own French message.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from aap_contract.config import Console
from aap_platform.auth import issue_token
from aap_platform.projection import Projection
from aap_platform.runtime import Runtime
from services.console.domain import Agent
from services.console.oidc import OidcClient
from services.console.view import ConsoleView

TOKEN_TTL = 300  # seconds a minted token lives
TOKEN_REUSE = 240  # a token is reused this long, then a fresh one is minted
SERVICE_NAMES = {
    "intake": "le service de dépôt",
    "eligibility": "le service d'éligibilité",
    "committee": "le service du comité",
    "budget": "le service budgétaire",
    "notifier": "le service des notifications",
}


class ServiceError(Exception):
    """A service refused the call or could not be reached: `message` is in French, for the page."""

    def __init__(
        self, message: str, status: int = 502, code: str | None = None, fields: list[dict[str, str]] | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.fields = fields or []


@dataclass
class Services:
    urls: dict[str, str]
    private_key: Path
    audience: str = "aap"
    timeout: float = 10.0
    _client: httpx.AsyncClient | None = field(default=None, init=False)
    _tokens: dict[tuple[str, str, str | None], tuple[str, float]] = field(default_factory=dict, init=False)

    @property
    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self.timeout)
        return self._client

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def token(self, agent: Agent) -> str:
        key = (agent.email, agent.role, agent.member_id)
        now = time.monotonic()
        known = self._tokens.get(key)
        if known is not None and now < known[1]:
            return known[0]
        minted = issue_token(
            self.private_key,
            role=agent.role,
            subject=agent.email,
            member_id=agent.member_id,
            ttl=TOKEN_TTL,
            audience=self.audience,
        )
        self._tokens[key] = (minted, now + TOKEN_REUSE)
        return minted

    async def call(
        self,
        agent: Agent | None,
        method: str,
        service: str,
        path: str,
        params: dict[str, Any] | None = None,
        body: Any = None,
    ) -> Any:
        """The service's JSON answer; a ServiceError with its French message otherwise."""
        headers = {"authorization": f"Bearer {self.token(agent)}"} if agent is not None else {}
        name = SERVICE_NAMES.get(service, service)
        try:
            response = await self.client.request(
                method, self.urls[service] + path, params=params, json=body, headers=headers
            )
        except httpx.HTTPError:
            raise ServiceError(
                f"{name.capitalize()} ne répond pas pour le moment ; réessayez dans un instant.", 503
            ) from None
        if response.status_code < 400:
            if response.headers.get("content-type", "").startswith("application/json"):
                return response.json()
            return response.text
        raise _refusal(response, name)

    async def get(self, agent: Agent | None, service: str, path: str, **params: Any) -> Any:
        return await self.call(
            agent, "GET", service, path, params={k: v for k, v in params.items() if v is not None} or None
        )

    async def post(self, agent: Agent, service: str, path: str, body: Any) -> Any:
        return await self.call(agent, "POST", service, path, body=body)

    async def get_bytes(self, agent: Agent, service: str, path: str) -> bytes:
        """A binary answer (the dossier's PDF), under the agent's identity."""
        name = SERVICE_NAMES.get(service, service)
        try:
            response = await self.client.get(
                self.urls[service] + path, headers={"authorization": f"Bearer {self.token(agent)}"}
            )
        except httpx.HTTPError:
            raise ServiceError(
                f"{name.capitalize()} ne répond pas pour le moment ; réessayez dans un instant.", 503
            ) from None
        if response.status_code >= 400:
            raise _refusal(response, name)
        return response.content

    async def get_text(self, service: str, path: str) -> str:
        return str(await self.call(None, "GET", service, path))


def _refusal(response: httpx.Response, name: str) -> ServiceError:
    try:
        body = response.json()
    except ValueError:
        body = {}
    body = body if isinstance(body, dict) else {}
    status = response.status_code
    if status in (401, 403):
        return ServiceError(f"{name.capitalize()} refuse cette action à votre rôle.", status)
    if status == 422:
        fields = (
            [f for f in body.get("extra", []) if isinstance(f, dict)] if isinstance(body.get("extra"), list) else []
        )
        detail = " ; ".join(f"{f.get('field', '?')} : {f.get('message', '')}" for f in fields)
        return ServiceError("Saisie incorrecte" + (f" — {detail}." if detail else "."), 422, fields=fields)
    message = body.get("message") if isinstance(body.get("message"), str) else None
    if message:
        return ServiceError(message, status, code=body.get("code"))
    if status == 404:
        return ServiceError("Introuvable.", 404)
    return ServiceError(f"{name.capitalize()} n'a pas pu traiter la demande (erreur {status}).", 502)


@dataclass
class Handlers:
    """What the console's routes use: the services' APIs, the console's own view, the runtime (clock,
    call, store for the audit page), the OpenID client (None: local sign-in) and the agent table."""

    services: Services
    view: Projection[ConsoleView]
    runtime: Runtime
    agents: Console
    oidc: OidcClient | None = None
    public_url: str = "http://127.0.0.1:8006"

    @property
    def local_mode(self) -> bool:
        return self.oidc is None

    # Reads from the owners, as the agent.
    async def dossier(self, agent: Agent, dossier_id: str) -> dict[str, Any]:
        return dict(await self.services.get(agent, "intake", f"/dossiers/{dossier_id}"))

    async def document(self, agent: Agent, dossier_id: str) -> bytes:
        return await self.services.get_bytes(agent, "intake", f"/dossiers/{dossier_id}/document")

    async def sessions(self, agent: Agent) -> list[dict[str, Any]]:
        return list((await self.services.get(agent, "committee", "/sessions"))["items"])

    async def session(self, agent: Agent, n: int) -> dict[str, Any]:
        return dict(await self.services.get(agent, "committee", f"/sessions/{n}"))

    async def ranking(self, agent: Agent, n: int) -> dict[str, Any]:
        return dict(await self.services.get(agent, "committee", f"/sessions/{n}/ranking"))

    async def budget(self, agent: Agent) -> dict[str, Any]:
        return dict(await self.services.get(agent, "budget", "/budget"))

    async def reservations(self, agent: Agent) -> list[dict[str, Any]]:
        return list((await self.services.get(agent, "budget", "/reservations"))["items"])

    async def notifications(self, agent: Agent) -> dict[str, Any]:
        return dict(await self.services.get(agent, "notifier", "/notifications"))

    async def official_of(self, agent: Agent, dossier_id: str) -> list[dict[str, Any]]:
        return list((await self.services.get(agent, "notifier", f"/dossiers/{dossier_id}/official"))["items"])

    async def official_pdf(self, agent: Agent, document_id: str) -> bytes:
        return await self.services.get_bytes(agent, "notifier", f"/official/{document_id}")

    async def laureates(self) -> dict[str, Any]:
        return dict(await self.services.get(None, "notifier", "/laureates"))

    async def laureates_csv(self) -> str:
        return await self.services.get_text("notifier", "/laureates.csv")

    # Actions: one call to the owner each; a refusal comes back as a ServiceError with its message.
    async def review(self, agent: Agent, n: int, body: dict[str, Any]) -> None:
        await self.services.post(agent, "committee", f"/sessions/{n}/reviews", body)

    async def decide(self, agent: Agent, n: int, body: dict[str, Any]) -> None:
        await self.services.post(agent, "committee", f"/sessions/{n}/decisions", body)

    async def close(self, agent: Agent, n: int) -> None:
        await self.services.post(agent, "committee", f"/sessions/{n}/close", {})

    async def commit(self, agent: Agent, body: dict[str, Any]) -> None:
        await self.services.post(agent, "budget", "/commitments", body)
