"""The ASGI application that serves the schema, shared by Lambda (Mangum) and `make run`."""

from __future__ import annotations

import uuid
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL

from donations.domain.ledger import DonationLedger
from schema import build_schema
from schema.context import Context


def request_id_of(request: Request | WebSocket) -> str:
    """The API Gateway request id under Lambda, else the caller's X-Request-Id, else a new one."""
    event: dict[str, Any] | None = request.scope.get("aws.event")
    if event:
        gateway_id = event.get("requestContext", {}).get("requestId")
        if gateway_id:
            return str(gateway_id)
    header = request.headers.get("x-request-id", "")
    if 0 < len(header) <= 128 and header.isascii() and header.isprintable():
        return header
    return str(uuid.uuid4())


class DonationsGraphQL(GraphQL[Context, None]):
    def __init__(self, ledger_factory: Any, *, graphiql: bool, introspection: bool) -> None:
        super().__init__(
            build_schema(introspection=introspection),
            graphql_ide="graphiql" if graphiql else None,
            allow_queries_via_get=True,
        )
        self._ledger_factory = ledger_factory

    async def get_context(self, request: Request | WebSocket, response: Response | WebSocket) -> Context:
        ledger: DonationLedger = self._ledger_factory()
        return Context(ledger=ledger, request_id=request_id_of(request), request=request, response=response)


def create_app(ledger_factory: Any, *, graphiql: bool = True, introspection: bool = True) -> DonationsGraphQL:
    return DonationsGraphQL(ledger_factory, graphiql=graphiql, introspection=introspection)
