"""`AUTH=jwt make run`'s gateway: API Gateway's JWT authorizer, in front of the same app.

It checks what the HTTP API JWT authorizer checks, in the same order: a token in the
``Authorization`` header (alone, or after ``Bearer``); an RSA signature by a key of the
issuer's JWKS named by the token's ``kid``; ``iss`` equal to the issuer; ``aud`` (or, only
when there is no ``aud``, ``client_id``) among the audiences; ``exp`` after now; ``nbf`` and
``iat`` not after now. Anything else is ``401 {"message":"Unauthorized"}`` and the app is
never called. A valid token's claims reach the app where Mangum puts a real event:
``scope["aws.event"]["requestContext"]["authorizer"]["jwt"]``, as strings, the way the
gateway passes them; so the same policy code decides locally what it decides in Lambda.

The issuer's JWKS and discovery document are served here too, and a GET without a
``query`` (the GraphiQL page, which executes nothing) passes without a token, so a token
can be pasted into GraphiQL's Headers tab.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, Final
from urllib.parse import parse_qs

from donations.observability import logger
from local.issuer import DISCOVERY_PATH, JWKS_PATH, LocalIssuer
from local.lambda_events import jwt_authorizer

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

# HTTP API JWT authorizers accept RSA signatures only.
RSA_ALGORITHMS: Final = ("RS256", "RS384", "RS512")


class TokenRefused(Exception):
    """The request is not let through; ``reason`` goes into ``WWW-Authenticate`` only."""

    def __init__(self, reason: str | None) -> None:
        super().__init__(reason or "no token")
        self.reason = reason


class LocalJwtAuthorizer:
    def __init__(self, app: ASGIApp, issuer: LocalIssuer, audiences: tuple[str, ...]) -> None:
        self._app = app
        self._issuer = issuer
        self._audiences = audiences

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        path = scope.get("path", "")
        if path == JWKS_PATH:
            await _send_json(send, 200, self._issuer.jwks())
            return
        if path == DISCOVERY_PATH:
            await _send_json(send, 200, self._issuer.discovery())
            return
        if _executes_nothing(scope):
            await self._app(scope, receive, send)
            return
        headers = dict(scope.get("headers", []))
        try:
            claims = self.verify(headers.get(b"authorization", b"").decode("latin-1"))
        except TokenRefused as refusal:
            # Why, in words a developer can act on; never the token or its claims.
            logger.info("request unauthorized", extra={"reason": str(refusal)})
            challenge = "Bearer"
            if refusal.reason:
                challenge += f' error="invalid_token", error_description="{refusal.reason}"'
            await _send_json(
                send, 401, {"message": "Unauthorized"}, [(b"www-authenticate", challenge.encode())]
            )
            return
        scope["aws.event"] = {"requestContext": {"authorizer": jwt_authorizer(claims)}}
        await self._app(scope, receive, send)

    def verify(self, authorization: str) -> dict[str, Any]:
        """The token's claims, if the gateway would let it through; else ``TokenRefused``."""
        import jwt

        token = authorization.strip()
        if token[:7].lower() == "bearer ":
            token = token[7:].strip()
        if not token:
            raise TokenRefused(None)
        try:
            header = jwt.get_unverified_header(token)
        except jwt.DecodeError:
            raise TokenRefused("the token is not a well-formed JWT") from None
        algorithm = header.get("alg")
        if algorithm not in RSA_ALGORITHMS:
            raise TokenRefused("the token is not signed with an RSA algorithm")
        keys = {key["kid"]: key for key in self._issuer.jwks()["keys"]}
        if header.get("kid") not in keys:
            raise TokenRefused("no key of the issuer matches the token's kid")
        key = jwt.PyJWK.from_dict(keys[header["kid"]], algorithm=algorithm)
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=[algorithm],
                issuer=self._issuer.url,
                options={"require": ["exp", "iss"], "verify_aud": False},
            )
        except jwt.InvalidSignatureError:
            raise TokenRefused("the token's signature is invalid") from None
        except jwt.ExpiredSignatureError:
            raise TokenRefused("the token has expired") from None
        except jwt.ImmatureSignatureError:
            raise TokenRefused("the token is not valid yet") from None
        except jwt.InvalidIssuerError:
            raise TokenRefused("the token was issued by another issuer") from None
        except jwt.InvalidTokenError:
            raise TokenRefused("the token's claims are malformed") from None
        if not self._has_valid_audience(claims):
            raise TokenRefused("the token does not have a valid audience")
        return claims

    def _has_valid_audience(self, claims: dict[str, Any]) -> bool:
        # `client_id` counts only when there is no `aud` (Cognito's access tokens).
        audience = claims.get("aud", claims.get("client_id"))
        values = audience if isinstance(audience, list) else [audience]
        return any(value in self._audiences for value in values)


def _executes_nothing(scope: Scope) -> bool:
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    return scope.get("method") == "GET" and "query" not in query


async def _send_json(
    send: Send,
    status: int,
    body: dict[str, Any],
    headers: list[tuple[bytes, bytes]] | None = None,
) -> None:
    payload = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
                (b"cache-control", b"no-store"),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})
