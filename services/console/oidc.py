"""OpenID Connect, authorization-code flow with PKCE, `state` and `nonce` (ProConnect in production).

The provider is found from its discovery document; the ID token is checked against the provider's
JWKS (signature, issuer, audience = our client id, expiry, nonce). The e-mail comes from the ID token
or, when it is not there (ProConnect), from the userinfo endpoint (JSON or a signed JWT).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import secrets
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import httpx
import jwt

ALGORITHMS = ["RS256", "ES256", "PS256"]
DISCOVERY_TTL = 3600.0


class OidcError(Exception):
    """The sign-in could not be completed; the message is in French, for the page."""


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


@dataclass
class OidcClient:
    discovery_url: str
    client_id: str
    client_secret: str
    redirect_uri: str
    scopes: str = "openid email"
    timeout: float = 10.0
    _meta: dict[str, Any] | None = field(default=None, init=False)
    _meta_at: float = field(default=0.0, init=False)
    _keys: dict[str, Any] = field(default_factory=dict, init=False)
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock, init=False)

    async def _get(self, url: str) -> httpx.Response:
        async with httpx.AsyncClient(timeout=self.timeout) as client:
            return await client.get(url)

    async def metadata(self) -> dict[str, Any]:
        if self._meta is None or time.monotonic() - self._meta_at > DISCOVERY_TTL:
            try:
                response = await self._get(self.discovery_url)
                response.raise_for_status()
                meta = response.json()
            except (httpx.HTTPError, ValueError):
                raise OidcError("Le fournisseur d'identité ne répond pas ; réessayez dans un instant.") from None
            for key in ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri"):
                if not isinstance(meta.get(key), str):
                    raise OidcError("Le fournisseur d'identité est mal configuré (document de découverte incomplet).")
            self._meta, self._meta_at = meta, time.monotonic()
        return self._meta

    async def begin(self) -> tuple[str, dict[str, str]]:
        """The provider's authorization URL, and what to keep until the callback."""
        meta = await self.metadata()
        verifier, challenge = pkce_pair()
        pending = {"state": secrets.token_urlsafe(32), "nonce": secrets.token_urlsafe(32), "verifier": verifier}
        query = urlencode(
            {
                "response_type": "code",
                "client_id": self.client_id,
                "redirect_uri": self.redirect_uri,
                "scope": self.scopes,
                "state": pending["state"],
                "nonce": pending["nonce"],
                "code_challenge": challenge,
                "code_challenge_method": "S256",
            }
        )
        return f"{meta['authorization_endpoint']}?{query}", pending

    async def finish(self, code: str, pending: dict[str, str]) -> tuple[dict[str, Any], str]:
        """Exchange the code (once) for tokens; the verified claims (with `email`) and the ID token."""
        meta = await self.metadata()
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": self.redirect_uri,
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "code_verifier": pending["verifier"],
        }
        try:
            async with httpx.AsyncClient(timeout=self.timeout) as client:
                response = await client.post(meta["token_endpoint"], data=form, headers={"accept": "application/json"})
        except httpx.HTTPError:
            raise OidcError("Le fournisseur d'identité ne répond pas ; réessayez dans un instant.") from None
        if response.status_code != 200:
            raise OidcError("Le fournisseur d'identité a refusé le code de connexion (déjà utilisé ou expiré).")
        try:
            tokens = response.json()
            id_token = tokens["id_token"]
        except (ValueError, KeyError, TypeError):
            raise OidcError("Réponse du fournisseur d'identité illisible.") from None
        claims = await self._verify(id_token, meta)
        if not secrets.compare_digest(str(claims.get("nonce", "")), pending["nonce"]):
            raise OidcError("Connexion refusée : le jeton d'identité ne correspond pas à cette demande (nonce).")
        if not claims.get("email") and isinstance(tokens.get("access_token"), str) and meta.get("userinfo_endpoint"):
            claims = {**claims, **await self._userinfo(meta, tokens["access_token"], claims["sub"])}
        if not isinstance(claims.get("email"), str):
            raise OidcError("Le fournisseur d'identité n'a pas donné votre adresse électronique.")
        return claims, id_token

    async def _key(self, kid: str | None, meta: dict[str, Any]) -> Any:
        async with self._lock:
            if kid not in self._keys:
                try:
                    response = await self._get(meta["jwks_uri"])
                    response.raise_for_status()
                    keys = jwt.PyJWKSet.from_dict(response.json()).keys
                except (httpx.HTTPError, ValueError, jwt.PyJWKError):
                    raise OidcError("Clés du fournisseur d'identité illisibles.") from None
                self._keys = {k.key_id: k for k in keys if k.key_id}
            if kid not in self._keys:
                raise OidcError("Jeton d'identité signé par une clé inconnue.")
            return self._keys[kid].key

    async def _verify(self, token: str, meta: dict[str, Any], audience: str | None = None) -> dict[str, Any]:
        try:
            kid = jwt.get_unverified_header(token).get("kid")
            key = await self._key(kid, meta)
            return dict(
                jwt.decode(
                    token,
                    key,
                    algorithms=ALGORITHMS,
                    audience=audience or self.client_id,
                    issuer=meta["issuer"],
                    options={"require": ["exp", "iat", "sub"]},
                    leeway=30,
                )
            )
        except jwt.PyJWTError:
            raise OidcError("Jeton d'identité invalide (signature, émetteur, audience ou date).") from None

    async def _userinfo(self, meta: dict[str, Any], access_token: str, subject: str) -> dict[str, Any]:
        try:
            async with httpx.AsyncClient(timeout=self.timeout) as client:
                response = await client.get(
                    meta["userinfo_endpoint"], headers={"authorization": f"Bearer {access_token}"}
                )
            response.raise_for_status()
        except httpx.HTTPError:
            raise OidcError("Le fournisseur d'identité n'a pas donné vos informations.") from None
        if response.headers.get("content-type", "").startswith("application/jwt"):
            info = await self._verify(response.text.strip(), meta)
        else:
            info = response.json()
        if not isinstance(info, dict) or info.get("sub") != subject:
            raise OidcError("Informations d'identité incohérentes.")
        return {k: v for k, v in info.items() if k in ("email", "given_name", "usual_name", "name")}

    async def logout_url(self, id_token: str | None, after: str) -> str | None:
        try:
            meta = await self.metadata()
        except OidcError:
            return None
        endpoint = meta.get("end_session_endpoint")
        if not isinstance(endpoint, str):
            return None
        params = {"post_logout_redirect_uri": after, "state": secrets.token_urlsafe(16), "client_id": self.client_id}
        if id_token:
            params["id_token_hint"] = id_token
        return f"{endpoint}?{urlencode(params)}"

    async def origin(self) -> str | None:
        """The provider's origin (for the form-action of the CSP: logout redirects there)."""
        meta = self._meta
        if meta is None:
            return None
        url = httpx.URL(str(meta.get("end_session_endpoint") or meta["authorization_endpoint"]))
        return f"{url.scheme}://{url.netloc.decode()}"
