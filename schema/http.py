"""The ASGI application that serves the schema, shared by Lambda (Mangum) and `make run`.

It follows the GraphQL over HTTP specification on top of what Strawberry's view does:

- Only GET and POST: anything else is 405 with ``Allow``; a mutation over GET is 405 too.
- Only ``GRAPHQL_PATH`` is served; any other path is 404.
- POST bodies must be ``application/json`` (else 415) in UTF-8 without a byte order mark
  (else 400) and at most ``MAX_BODY_BYTES`` (else 413, answered before the body is parsed);
  GET query strings the same (else 414).
- The response media type is negotiated from ``Accept``: ``application/json`` (the
  default, and what ``*/*`` gets) answers 200 for every well-formed request, while
  ``application/graphql-response+json`` gets the spec's status codes (400 for a document
  that does not parse or validate). Nothing acceptable is 406.
- Every error the HTTP layer produces is a JSON GraphQL response with
  ``extensions.code`` and ``extensions.requestId``; nothing unexpected escapes as a
  stack trace or a bare 500.
- Every response is ``Cache-Control: no-store``: answers depend on who asked, so no
  browser or shared cache in front may keep one.
- Every response carries ``X-Request-Id``: the same id as ``extensions.requestId`` and the
  log lines (``request_id_of``).
- A document can arrive as text, as an automatic-persisted-query hash or as a trusted
  document's id (``schema.documents``): each is resolved to its text before execution, so
  all three meet the same limits; a query may come by hash over GET, a mutation only by POST.
- The caller is whoever the gateway verified (``requestContext.authorizer`` of the Lambda
  event, which Mangum passes as ``scope["aws.event"]``); ``resolvers.access`` decides
  what they may do.
"""

from __future__ import annotations

import dataclasses
import json
import re
import uuid
from collections.abc import Sequence
from typing import Any, Final

from cross_web import AsyncHTTPRequestAdapter, HTTPException
from graphql import GraphQLError
from starlette.requests import HTTPConnection, Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.types import Message, Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.http.base import BaseRequestProtocol
from strawberry.http.parse_content_type import parse_content_type
from strawberry.schema.base import BaseSchema
from strawberry.schema.exceptions import InvalidOperationTypeError
from strawberry.types import ExecutionResult

from donations.constants import GRAPHQL_PATH
from donations.domain.ledger import DonationLedger
from donations.observability import logger
from donations.settings import Authorization
from resolvers.access import Caller, caller_from_event
from resolvers.context import RequestContext
from schema.amount import JsonNumber
from schema.documents import PERSISTED_QUERY_NOT_FOUND, DocumentRefused, PersistedDocuments
from schema.errors import INTERNAL_ERROR_MESSAGE, describe
from schema.graphiql import UNPKG_ASSETS, PageAsset, donation_tabs, graphiql_page

# The largest real request (GraphiQL's introspection query, or recordDonation with every
# field and variables) is under 2 KB, and a document is at most MAX_TOKENS (1,000) tokens.
# 16 KiB leaves room for hand-written queries; more would only buy room for long strings
# and comments, which the GraphQL lexer reads character by character (a 60 KiB string took
# as much CPU as 12 plain requests).
MAX_BODY_BYTES: Final = 16 * 1024

JSON: Final = "application/json"
GRAPHQL_RESPONSE_JSON: Final = "application/graphql-response+json"
ALLOWED_METHODS: Final = "GET, POST"
# Response types Mangum returns as text; it base64-encodes any other (handler.py).
TEXT_MIME_TYPES: Final = ("text/", JSON, GRAPHQL_RESPONSE_JSON)

_STATUS_CODES: Final = {
    400: "BAD_REQUEST",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    406: "NOT_ACCEPTABLE",
    413: "PAYLOAD_TOO_LARGE",
    414: "URI_TOO_LONG",
    415: "UNSUPPORTED_MEDIA_TYPE",
    500: "INTERNAL_SERVER_ERROR",
}


def is_usable_request_id(value: str) -> bool:
    """A caller's X-Request-Id we can log and echo: short, printable ASCII."""
    return 0 < len(value) <= 128 and value.isascii() and value.isprintable()


def request_id_of(connection: HTTPConnection) -> str:
    """The request's one id: API Gateway's under Lambda, else a usable X-Request-Id, else new.

    Decided once and kept in the request's scope, so everything that asks (the local request
    log, the response header, ``extensions.requestId``, the resolvers' log lines) gets the
    same id, even when the caller's own header was refused and a new id was made up.
    """
    decided: str | None = getattr(connection.state, "request_id", None)
    if decided is not None:
        return decided
    event: dict[str, Any] | None = connection.scope.get("aws.event")
    gateway_id = (event or {}).get("requestContext", {}).get("requestId")
    header = connection.headers.get("x-request-id", "")
    if gateway_id:
        decided = str(gateway_id)
    elif is_usable_request_id(header):
        decided = header
    else:
        decided = str(uuid.uuid4())
    connection.state.request_id = decided
    return decided


# RFC 9110 §12.4.2: a weight is 0 to 1 with at most three decimals. Anything else (q=-1,
# q=2, q=nan) makes that media range unacceptable rather than preferred.
_QVALUE: Final = re.compile(r"0(\.[0-9]{0,3})?|1(\.0{0,3})?")


def negotiate(accept: str) -> str | None:
    """The response media type for an ``Accept`` header, or None if we can produce none.

    ``application/graphql-response+json`` is chosen only when the client names it and
    ranks it at least as high as ``application/json``; a missing header or ``*/*`` keeps
    ``application/json``, so existing clients see no change.
    """
    if not accept.strip():
        return JSON
    quality: dict[str, float] = {}
    for media_range in accept.lower().split(","):
        media_type, *parameters = (part.strip() for part in media_range.split(";"))
        q = 1.0
        for parameter in parameters:
            name, _, value = parameter.partition("=")
            if name.strip() == "q":
                q = float(value) if _QVALUE.fullmatch(value.strip()) else 0.0
        # The most specific range wins (RFC 9110 §12.5.1), so keep the first seen per range.
        quality.setdefault(media_type, q)

    def q_of(media_type: str) -> float:
        for candidate in (media_type, "application/*", "*/*"):
            if candidate in quality:
                return quality[candidate]
        return 0.0

    graphql_q, json_q = q_of(GRAPHQL_RESPONSE_JSON), q_of(JSON)
    if graphql_q > json_q or (graphql_q == json_q > 0 and GRAPHQL_RESPONSE_JSON in quality):
        return GRAPHQL_RESPONSE_JSON
    if json_q > 0:
        return JSON
    return None


def error_response(
    status: int,
    message: str,
    request_id: str,
    *,
    media_type: str = JSON,
    headers: dict[str, str] | None = None,
) -> Response:
    """A GraphQL response holding one request error, for failures before execution."""
    extensions = {"code": _STATUS_CODES.get(status, "BAD_REQUEST"), "requestId": request_id}
    return JSONResponse(
        {"errors": [{"message": message, "extensions": extensions}]},
        status_code=status,
        media_type=media_type,
        headers=headers,
    )


def _is_request_error(result: ExecutionResult) -> bool:
    # Errors before execution (parse, validation, variable coercion) carry no path, and
    # leave no data: the spec calls these request errors.
    return result.data is None and all(not error.path for error in result.errors or [])


def _request_error_status(response: GraphQLHTTPResponse) -> int:
    # A fault in our code before execution (masked as INTERNAL_SERVER_ERROR) is ours to own.
    for error in response.get("errors") or []:
        if isinstance(error, dict) and error.get("extensions", {}).get("code") == (
            "INTERNAL_SERVER_ERROR"
        ):
            return 500
    return 400


class Refusal(Exception):
    """A request answered with a 4xx status before, or instead of, executing it."""

    def __init__(self, status: int, message: str, allow: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.headers = {"Allow": allow} if allow else None


async def _read_json_body(request: Request, receive: Receive) -> bytes:
    """The POST body, refused unless it is JSON in UTF-8 of at most ``MAX_BODY_BYTES``."""
    content_type = request.headers.get("content-type", "")
    mime, parameters = parse_content_type(content_type) if content_type else ("", {})
    if mime != JSON or parameters.get("charset", "utf-8").lower() != "utf-8":
        raise Refusal(415, f"Send the request body as {JSON} in UTF-8.")
    too_large = Refusal(413, f"The request body exceeds {MAX_BODY_BYTES} bytes.")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise too_large
    # Count what arrives as well: a chunked upload under uvicorn declares no length.
    chunks: list[bytes] = []
    size = 0
    more = True
    while more:
        message = await receive()
        if message["type"] != "http.request":
            # The client went away (or the server cut a slow upload) mid-body: what arrived
            # is not the request it meant, so nothing of it is executed.
            raise Refusal(400, "The request body did not arrive in full.")
        chunks.append(message.get("body", b""))
        size += len(chunks[-1])
        if size > MAX_BODY_BYTES:
            raise too_large
        more = message.get("more_body", False)
    return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A receive channel that yields the already-read body once, then the real channel."""
    pending = [body]

    async def replayed() -> Message:
        if pending:
            return {"type": "http.request", "body": pending.pop(), "more_body": False}
        return await receive()

    return replayed


class DonationsGraphQL(GraphQL[RequestContext, None]):
    """Strawberry's ASGI app serving one schema over one ledger, GraphQL over HTTP style."""

    def __init__(
        self,
        schema: BaseSchema,
        ledger: DonationLedger,
        *,
        documents: PersistedDocuments,
        graphiql: bool,
        authorization: Authorization,
        donor_id_claim: str,
        graphiql_assets: Sequence[PageAsset] = UNPKG_ASSETS,
    ) -> None:
        super().__init__(
            schema, graphql_ide="graphiql" if graphiql else None, allow_queries_via_get=True
        )
        self._ledger = ledger
        self._documents = documents
        self._authorization = authorization
        self._donor_id_claim = donor_id_claim
        self._graphiql_assets = tuple(graphiql_assets)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        request = Request(scope, receive)
        request_id = request_id_of(request)
        request.state.media_type = JSON
        response: Response
        try:
            response = await self._respond(request, receive)
        except Refusal as refusal:
            response = error_response(
                refusal.status,
                str(refusal),
                request_id,
                media_type=request.state.media_type,
                headers=refusal.headers,
            )
        except Exception as error:
            # Strawberry or a hook failed outside GraphQL execution: the log gets where it
            # failed under the request id (never the message, which may quote the body),
            # the client only the id.
            logger.error("http server error", extra={"request_id": request_id, **describe(error)})
            response = error_response(500, INTERNAL_ERROR_MESSAGE, request_id)
        response.headers["cache-control"] = "no-store"
        response.headers["x-request-id"] = request_id
        await response(scope, receive, send)

    async def _respond(self, request: Request, receive: Receive) -> Response:
        if request.scope["path"] != GRAPHQL_PATH:
            raise Refusal(404, f"Not found: this API answers on {GRAPHQL_PATH} only.")
        if request.method not in ("GET", "POST"):
            raise Refusal(405, "Use POST, or GET for queries.", allow=ALLOWED_METHODS)
        adapter = self.request_adapter_class(request)
        if not (request.method == "GET" and self.should_render_graphql_ide(adapter)):
            media_type = negotiate(request.headers.get("accept", ""))
            if media_type is None:
                raise Refusal(406, f"Accept must allow {GRAPHQL_RESPONSE_JSON} or {JSON}.")
            request.state.media_type = media_type
        if request.method == "POST":
            body = await _read_json_body(request, receive)
            request = Request(request.scope, _replay(body, receive))
        elif len(request.scope.get("query_string", b"")) > MAX_BODY_BYTES:
            raise Refusal(414, f"The query string exceeds {MAX_BODY_BYTES} bytes.")
        try:
            return await self.run(request)
        except HTTPException as error:
            if isinstance(error.__cause__, InvalidOperationTypeError):
                # The spec requires 405 for a mutation sent over GET.
                raise Refusal(405, "Mutations must be sent with POST.", allow="POST") from None
            raise Refusal(error.status_code, error.reason) from None

    def should_render_graphql_ide(self, request: BaseRequestProtocol) -> bool:
        # A query by hash over GET has no `query` either: it is an operation, not a browser.
        return "extensions" not in request.query_params and super().should_render_graphql_ide(
            request
        )

    async def render_graphql_ide(self, request: Request) -> Response:
        tabs = donation_tabs(self._documents.trusted)
        return HTMLResponse(graphiql_page(self._graphiql_assets, tabs))

    async def execute_single(  # noqa: PLR0917 - Strawberry's signature
        self,
        request: Request,
        request_adapter: AsyncHTTPRequestAdapter,
        sub_response: Response,
        context: RequestContext,
        root_value: None,
        request_data: GraphQLRequestData,
    ) -> ExecutionResult:
        try:
            document = self._documents.resolve(request_data.query, request_data.extensions)
        except DocumentRefused as refusal:
            return self._refused(refusal, context)
        result = await super().execute_single(
            request=request,
            request_adapter=request_adapter,
            sub_response=sub_response,
            context=context,
            root_value=root_value,
            request_data=dataclasses.replace(request_data, query=document.text),
        )
        if not _is_request_error(result):
            self._documents.register(document)
        return result

    def _refused(self, refusal: DocumentRefused, context: RequestContext) -> ExecutionResult:
        """A request error for a document that may not run: no data, nothing executed."""
        error = GraphQLError(
            str(refusal), extensions={"code": refusal.code, "requestId": context.request_id}
        )
        if refusal.code != PERSISTED_QUERY_NOT_FOUND:  # that one is the protocol's first step
            self.schema.process_errors([error])
        return ExecutionResult(data=None, errors=[error])

    def decode_json(self, data: str | bytes) -> object:
        # json.loads would guess UTF-16 or UTF-32 from the bytes and skip nothing: decode
        # strictly as the one documented encoding instead, so anything else is a 400.
        if isinstance(data, bytes):
            try:
                data = data.decode("utf-8")
            except UnicodeDecodeError:
                raise HTTPException(400, "The request body is not valid UTF-8.") from None
        if data.startswith("\ufeff"):
            raise HTTPException(400, "Send the request body without a byte order mark.")
        # Numbers with a fraction keep their text, so an Amount is read as it was written.
        return json.loads(data, parse_float=JsonNumber)

    def parse_json(self, data: str | bytes) -> Any:
        try:
            value = super().parse_json(data)
        except RecursionError:
            raise HTTPException(400, "Unable to parse request body as JSON") from None
        if not isinstance(value, dict):
            # Strawberry assumes an object (or a batch list, and batching is off).
            raise HTTPException(400, "Expected a JSON object; batched requests are not supported.")
        return value

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> RequestContext:
        return RequestContext(
            ledger=self._ledger, request_id=request_id_of(request), caller=self.caller_of(request)
        )

    def caller_of(self, request: Request | WebSocket) -> Caller:
        """Who the gateway verified; never read from the request's own headers."""
        event: dict[str, Any] | None = request.scope.get("aws.event")
        return caller_from_event(event, self._authorization, self._donor_id_claim)

    async def get_sub_response(self, request: Request | WebSocket) -> Response:
        sub_response = await super().get_sub_response(request)
        # create_response gets only this object, so it carries the negotiated media type.
        sub_response.media_type = getattr(request.state, "media_type", JSON)
        return sub_response

    async def process_result(
        self, request: Request, result: ExecutionResult
    ) -> GraphQLHTTPResponse:
        response = await super().process_result(request, result)
        media_type = getattr(request.state, "media_type", JSON)
        if media_type == GRAPHQL_RESPONSE_JSON and _is_request_error(result):
            # The spec's sign that nothing executed: no `data` entry at all.
            response.pop("data", None)
        return response

    def create_response(
        self,
        response_data: GraphQLHTTPResponse | list[GraphQLHTTPResponse],
        sub_response: Response,
    ) -> Response:
        response = super().create_response(response_data, sub_response)
        if sub_response.media_type == GRAPHQL_RESPONSE_JSON:
            response.headers["content-type"] = GRAPHQL_RESPONSE_JSON
            if isinstance(response_data, dict) and "data" not in response_data:
                response.status_code = _request_error_status(response_data)
        return response
