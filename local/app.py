"""`make run`'s ASGI app: what API Gateway puts in front of the function in AWS (a route
table, CORS and, under `AUTH=jwt`, the JWT authorizer), GraphiQL's scripts from
node_modules, and a request log line for every request."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping, MutableMapping, Sequence
from typing import Any, Final

from aws_lambda_powertools.logging.lambda_context import LambdaContextModel
from starlette.requests import HTTPConnection

from donations.constants import GRAPHQL_PATH
from donations.container import Services
from donations.observability import logger
from local.cors import GatewayCors
from local.graphiql import GraphiQLAssetsMissing, LocalGraphiQLAssets
from local.issuer import DISCOVERY_PATH, JWKS_PATH, LOCAL_AUDIENCE, LocalIssuer
from schema.http import error_response, request_id_of

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

# What a log line says instead of a path nothing is served on: a raw path can be anything
# a caller typed, a donor id included.
UNMATCHED: Final = "unmatched"
# Powertools' inject_lambda_context adds these to every later line of the process. Here the
# stream pump's thread runs the thank-you handler, so HTTP lines would carry that
# invocation's fields; they are blanked (None drops a key) for each request's context.
_LAMBDA_INVOCATION_KEYS: Final = (*vars(LambdaContextModel()), "cold_start")


class LocalRoutes:
    """The exact paths `make run` serves and what serves each; anything else is a 404."""

    def __init__(self, table: Mapping[str, ASGIApp]) -> None:
        self._table = dict(table)

    def route_of(self, scope: Scope) -> str:
        """The route a request matched, for logs: its path if served, else ``unmatched``."""
        path = scope.get("path", "")
        return path if path in self._table else UNMATCHED

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._table[GRAPHQL_PATH](scope, receive, send)
            return
        app = self._table.get(scope["path"])
        if app is None:
            app = error_response(404, "Not found.", request_id_of(HTTPConnection(scope)))
        await app(scope, receive, send)


class RequestLogMiddleware:
    """One JSON line per request, with a correlation id and the route; never the raw path,
    the query string or the body."""

    def __init__(self, app: ASGIApp, routes: LocalRoutes) -> None:
        self._app = app
        self._routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        # Decided here, once, for the whole request: the app echoes the same id.
        request_id = request_id_of(HTTPConnection(scope))
        # Context-local keys (Powertools' thread_safe_* set a ContextVar) win over the
        # process-wide ones, and each request runs in its own asyncio task.
        logger.thread_safe_append_keys(
            correlation_id=request_id, **dict.fromkeys(_LAMBDA_INVOCATION_KEYS)
        )
        started = time.perf_counter()
        status = 500

        async def send_with_status(message: MutableMapping[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [(k, v) for k, v in message.get("headers", []) if k != b"x-request-id"]
                message["headers"] = [*headers, (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            await self._app(scope, receive, send_with_status)
        finally:
            logger.info(
                "http request",
                extra={
                    "method": scope.get("method"),
                    "route": self._routes.route_of(scope),
                    "status": status,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                },
            )
            logger.thread_safe_remove_keys(["correlation_id", *_LAMBDA_INVOCATION_KEYS])


def local_routes(services: Services, issuer: LocalIssuer | None = None) -> dict[str, ASGIApp]:
    """Every path `make run` serves, and what serves it.

    Given an issuer, the local JWT authorizer stands in front of the API (as API Gateway's
    does in AWS) and answers the issuer's keys and discovery document itself; GraphiQL's
    scripts are served from node_modules, without a token, when they are installed.
    """
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
    routes = {GRAPHQL_PATH: app}
    if issuer is not None:
        from local.authorizer import LocalJwtAuthorizer

        gateway = LocalJwtAuthorizer(app, issuer, audiences=(LOCAL_AUDIENCE,))
        routes = {GRAPHQL_PATH: gateway, JWKS_PATH: gateway, DISCOVERY_PATH: gateway}
    if assets is not None:
        scripts = assets.mount(routes[GRAPHQL_PATH])  # answers its own files
        routes.update({asset.url: scripts for asset in assets.page_assets})
    return routes


def build_asgi_app(
    services: Services,
    issuer: LocalIssuer | None = None,
    *,
    cors_origins: Sequence[str] = ("*",),
) -> ASGIApp:
    """`make run`'s app over these services: the route table, CORS for ``cors_origins`` in
    front of it (as at the gateway, preflights never reach the authorizer), and a request
    log in front of it all."""
    routes = LocalRoutes(local_routes(services, issuer))
    app: ASGIApp = routes
    if cors_origins:
        app = GatewayCors(app, cors_origins)
    return RequestLogMiddleware(app, routes)
