"""A small, real OpenID provider for the console's tests: a Litestar app served by uvicorn on
loopback, with a discovery document, a JWKS, the authorization endpoint (which signs in whoever
`login_hint` names, at once), a token endpoint checking the client secret, the redirect URI and
PKCE and accepting each code once, a userinfo endpoint answering a signed JWT (as ProConnect
does), and an end-session endpoint."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import urlencode

import jwt
import uvicorn
from cryptography.hazmat.primitives.asymmetric import ec
from litestar import Litestar, Request, get, post
from litestar.response import Redirect, Response

from aap_platform.natsserver import free_port

KID = "test-provider"


@dataclass
class Provider:
    client_id: str = "aap-console"
    client_secret: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    redirect_uris: set[str] = field(default_factory=set)
    port: int = field(default_factory=free_port)
    codes: dict[str, dict] = field(default_factory=dict)
    used: set[str] = field(default_factory=set)
    tokens: dict[str, dict] = field(default_factory=dict)
    refused: list[str] = field(default_factory=list)  # why each token request was refused
    forged_nonce: str | None = None  # set: the ID token carries this nonce instead of the request's
    key: ec.EllipticCurvePrivateKey = field(default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))
    _server: uvicorn.Server | None = None
    _thread: threading.Thread | None = None

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def discovery_url(self) -> str:
        return self.issuer + "/.well-known/openid-configuration"

    def sign(self, claims: dict) -> str:
        now = int(time.time())
        return jwt.encode(
            {"iss": self.issuer, "aud": self.client_id, "iat": now, "exp": now + 300, **claims},
            self.key,
            algorithm="ES256",
            headers={"kid": KID},
        )

    def app(self) -> Litestar:
        provider = self

        @get("/.well-known/openid-configuration")
        async def discovery() -> dict:
            i = provider.issuer
            return {
                "issuer": i,
                "authorization_endpoint": i + "/authorize",
                "token_endpoint": i + "/token",
                "jwks_uri": i + "/jwks",
                "userinfo_endpoint": i + "/userinfo",
                "end_session_endpoint": i + "/session/end",
                "response_types_supported": ["code"],
                "code_challenge_methods_supported": ["S256"],
                "id_token_signing_alg_values_supported": ["ES256"],
            }

        @get("/jwks")
        async def jwks() -> dict:
            jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(provider.key.public_key()))
            return {"keys": [{**jwk, "kid": KID, "use": "sig", "alg": "ES256"}]}

        @get("/authorize")
        async def authorize(request: Request) -> Response:
            q = request.query_params
            if (
                q.get("client_id") != provider.client_id
                or q.get("redirect_uri") not in provider.redirect_uris
                or q.get("response_type") != "code"
                or q.get("code_challenge_method") != "S256"
            ):
                return Response("bad authorization request", status_code=400)
            code = secrets.token_urlsafe(24)
            provider.codes[code] = {
                "redirect_uri": q["redirect_uri"],
                "nonce": q.get("nonce"),
                "challenge": q["code_challenge"],
                "email": q.get("login_hint", ""),
            }
            return Redirect(
                f"{q['redirect_uri']}?{urlencode({'code': code, 'state': q.get('state', '')})}", status_code=302
            )

        @post("/token")
        async def token(request: Request) -> Response:
            form = await request.form()
            code = form.get("code", "")
            found = provider.codes.get(code)
            verifier = str(form.get("code_verifier", ""))
            challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
            problem = None
            if form.get("client_id") != provider.client_id or form.get("client_secret") != provider.client_secret:
                problem = "invalid_client"
            elif found is None or code in provider.used:
                problem = "invalid_grant: unknown or replayed code"
            elif form.get("redirect_uri") != found["redirect_uri"] or challenge != found["challenge"]:
                problem = "invalid_grant: redirect_uri or PKCE"
            if problem:
                provider.refused.append(problem)
                return Response({"error": problem.split(":")[0]}, status_code=400)
            provider.used.add(code)
            sub = hashlib.sha256(found["email"].encode()).hexdigest()[:16]
            access = secrets.token_urlsafe(24)
            provider.tokens[access] = {"sub": sub, "email": found["email"]}
            # like ProConnect: no e-mail in the ID token, it comes from userinfo
            id_token = provider.sign({"sub": sub, "nonce": provider.forged_nonce or found["nonce"]})
            return Response(
                {"access_token": access, "token_type": "Bearer", "expires_in": 60, "id_token": id_token},
                status_code=200,
            )

        @get("/userinfo")
        async def userinfo(request: Request) -> Response:
            access = request.headers.get("authorization", "").removeprefix("Bearer ")
            claims = provider.tokens.get(access)
            if claims is None:
                return Response({"error": "invalid_token"}, status_code=401)
            return Response(provider.sign(claims), media_type="application/jwt")

        @get("/session/end")
        async def end_session() -> str:
            return "signed out"

        return Litestar([discovery, jwks, authorize, token, userinfo, end_session])

    def start(self) -> Provider:
        config = uvicorn.Config(self.app(), host="127.0.0.1", port=self.port, log_level="warning", lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the test OpenID provider did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(10)
