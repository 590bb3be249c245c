"""`make run`'s ASGI app: the Lambda function's app, with a request log, CORS, GraphiQL's
scripts (and, under `AUTH=jwt`, the local JWT authorizer) in front."""

from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from typing import Any

from donations.container import Services
from donations.observability import logger
from local.cors import GatewayCors
from local.graphiql import GraphiQLAssetsMissing, LocalGraphiQLAssets
from local.issuer import LOCAL_AUDIENCE, LocalIssuer
from schema.http import is_usable_request_id

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class RequestLogMiddleware:
    """One JSON line per request, with a correlation id; never the query string or body."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        headers = dict(scope.get("headers", []))
        request_id = headers.get(b"x-request-id", b"").decode("latin-1")
        if not is_usable_request_id(request_id):
            request_id = str(uuid.uuid4())
            scope["headers"] = [*scope.get("headers", []), (b"x-request-id", request_id.encode())]
        # Per thread: the stream pump and the inbox log from their own threads meanwhile.
        logger.thread_safe_append_keys(correlation_id=request_id)
        started = time.perf_counter()
        status = 500

        async def send_with_status(message: MutableMapping[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", []).append((b"x-request-id", request_id.encode()))
            await send(message)

        try:
            await self._app(scope, receive, send_with_status)
        finally:
            logger.info(
                "http request",
                extra={
                    "method": scope.get("method"),
                    "path": scope.get("path"),
                    "status": status,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                },
            )
            logger.thread_safe_remove_keys(["correlation_id"])


def build_asgi_app(
    services: Services,
    issuer: LocalIssuer | None = None,
    *,
    cors_origins: Sequence[str] = ("*",),
) -> ASGIApp:
    """The Lambda function's app over these services, with what API Gateway adds in AWS in
    front: CORS for ``cors_origins`` and, given an issuer, the local JWT authorizer (which
    preflights never reach, as at the gateway). GraphiQL's scripts come from node_modules,
    and a request log sits in front of it all."""
    from handler import create_app

    try:
        assets: LocalGraphiQLAssets | None = LocalGraphiQLAssets()
    except GraphiQLAssetsMissing as missing:
        # Still usable online: the page then loads them from unpkg.com, as in Lambda.
        logger.warning("graphiql assets missing", extra={"reason": str(missing)})
        assets = None
    if assets is None:
        app: ASGIApp = create_app(services)
    else:
        app = create_app(services, graphiql_assets=assets.page_assets)
    if issuer is not None:
        from local.authorizer import LocalJwtAuthorizer

        app = LocalJwtAuthorizer(app, issuer, audiences=(LOCAL_AUDIENCE,))
    if assets is not None:
        app = assets.mount(app)
    if cors_origins:
        app = GatewayCors(app, cors_origins)
    return RequestLogMiddleware(app)
