"""Bearer tokens: signed JWTs whose claims give a role, checked by one shared guard.

Keys come from settings: a JWKS file or URL (so that an OIDC provider can issue tokens in
production). For development, `aap token issue` signs with a local key pair whose public half
is written as a JWKS file beside it.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Literal

import jwt
import msgspec
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler

# connector: the service that imports dossiers from Démarche Numérique (intake's /imports)
Role = Literal["applicant", "instructor", "committee_member", "budget_officer", "auditor", "admin", "connector"]
ROLES: tuple[str, ...] = Role.__args__  # type: ignore[attr-defined]
AUDIENCE = "aap"
VERIFIED_TTL, VERIFIED_MAX = 60.0, 4096
KID = "aap-local"
MAX_TOKEN = 16 * 1024


class Principal(msgspec.Struct, frozen=True):
    subject: str
    role: str
    sirens: tuple[str, ...] = ()
    member_id: str | None = None

    def acts_for(self, sirens: list[str] | tuple[str, ...]) -> bool:
        """Applicants act only for their own structures; other roles are not bound."""
        return self.role != "applicant" or bool(set(sirens) & set(self.sirens))


class Verifier:
    def __init__(self, jwks: dict | None = None, jwks_url: str | None = None, audience: str = AUDIENCE) -> None:
        self.audience = audience
        self._client = jwt.PyJWKClient(jwks_url) if jwks_url else None
        self._keys = {k.key_id: k for k in jwt.PyJWKSet.from_dict(jwks).keys} if jwks else {}
        self._verified: dict[str, tuple[Principal, float]] = {}  # token -> (principal, good until)

    @classmethod
    def from_file(cls, path: Path, audience: str = AUDIENCE) -> Verifier:
        return cls(jwks=json.loads(Path(path).read_text()), audience=audience)

    def verify(self, token: str) -> Principal:
        """The token's principal. A verified token is remembered until its expiry, at most
        VERIFIED_TTL seconds (a signature check costs more than the rest of a request)."""
        now = time.time()
        known = self._verified.get(token)
        if known is not None and now < known[1]:
            return known[0]
        found, exp = self._verify(token)
        if len(self._verified) >= VERIFIED_MAX:
            self._verified.clear()
        self._verified[token] = (found, min(exp, now + VERIFIED_TTL))
        return found

    def _verify(self, token: str) -> tuple[Principal, float]:
        try:
            if self._client is not None:
                key = self._client.get_signing_key_from_jwt(token).key
            else:
                kid = jwt.get_unverified_header(token).get("kid")
                key = self._keys[kid].key
            claims = jwt.decode(
                token, key, algorithms=["ES256", "RS256"], audience=self.audience, options={"require": ["exp", "sub"]}
            )
        except Exception as exc:  # noqa: BLE001 — any fault of the token (alg/key mismatch too) is a 401
            raise NotAuthorizedException(_why_refused(exc)) from exc
        role = claims.get("role")
        if role not in ROLES:
            raise NotAuthorizedException("jeton sans rôle reconnu")
        sirens, member, subject = claims.get("sirens", []), claims.get("member_id"), claims.get("sub")
        if (
            not isinstance(subject, str)
            or not isinstance(sirens, list)
            or not all(isinstance(s, str) and len(s) <= 20 for s in sirens)
            or len(sirens) > 1000
            or not (member is None or isinstance(member, str))
            or not isinstance(claims.get("exp"), int | float)
        ):
            raise NotAuthorizedException("jeton aux revendications mal formées")
        return Principal(subject=subject, role=role, sirens=tuple(sirens), member_id=member), float(claims["exp"])


UNKNOWN_KEY = (
    "jeton invalide : signé par une clé que ce système ne connaît pas (un jeton local s'émet avec "
    "`aap token issue --data-dir <le dossier de données de aap up>`)"
)


def _why_refused(exc: Exception) -> str:
    """Why a token is refused, in words that say what to do."""
    if isinstance(exc, (KeyError, jwt.InvalidSignatureError, jwt.PyJWKClientError)):
        return UNKNOWN_KEY
    if isinstance(exc, jwt.ExpiredSignatureError):
        return "jeton expiré : émettez-en un nouveau"
    if isinstance(exc, jwt.InvalidAudienceError):
        return "jeton invalide : destiné à un autre service (aud)"
    if isinstance(exc, jwt.DecodeError):
        return "jeton illisible : ce n'est pas un JWT"
    return "jeton invalide ou expiré"


def ensure_dev_keys(folder: Path) -> tuple[Path, Path]:
    """A local ES256 key pair (private PEM + public JWKS), made once."""
    folder.mkdir(parents=True, exist_ok=True)
    private, public = folder / "jwt-private.pem", folder / "jwks.json"
    if not private.exists():
        key = ec.generate_private_key(ec.SECP256R1())
        private.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
        private.chmod(0o600)
        jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key.public_key()))
        public.write_text(json.dumps({"keys": [{**jwk, "kid": KID, "use": "sig", "alg": "ES256"}]}))
    return private, public


def issue_token(
    private_key: Path,
    *,
    role: str,
    subject: str,
    sirens: list[str] | None = None,
    member_id: str | None = None,
    ttl: int = 12 * 3600,
    audience: str = AUDIENCE,
) -> str:
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; one of {', '.join(ROLES)}")
    now = int(time.time())
    claims: dict = {"sub": subject, "role": role, "aud": audience, "iat": now, "exp": now + ttl}
    if sirens:
        claims["sirens"] = list(sirens)
    if member_id:
        claims["member_id"] = member_id
    return jwt.encode(claims, Path(private_key).read_bytes(), algorithm="ES256", headers={"kid": KID})


def principal(connection: ASGIConnection) -> Principal:
    """The caller, verified once per request by the verifier in the app's state."""
    cached = connection.scope.get("aap_principal")
    if isinstance(cached, Principal):
        return cached
    header = connection.headers.get("authorization", "")
    if len(header) > MAX_TOKEN:
        raise NotAuthorizedException("jeton trop long")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise NotAuthorizedException("authentification requise (jeton Bearer)")
    found = connection.app.state.verifier.verify(token.strip())
    connection.scope["aap_principal"] = found  # type: ignore[typeddict-unknown-key]
    return found


def require(*roles: str):
    """A Litestar guard: a valid token (else 401) with one of `roles` (else 403)."""

    async def guard(connection: ASGIConnection, _: BaseRouteHandler) -> None:
        # async: Litestar runs a sync guard in a worker thread, a thread hop on every request
        who = principal(connection)
        if who.role not in roles:
            raise PermissionDeniedException("rôle non autorisé pour cette action")

    return guard


READERS = ("instructor", "auditor", "admin")
