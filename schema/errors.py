"""How failures reach clients and logs.

Expected failures of ``recordDonation`` are typed results: Strawberry's exception handlers
(``EXCEPTION_HANDLERS``) turn the domain's errors into union members. Every other error
leaves through ``CodedErrors``, Strawberry's ``MaskErrors`` with its ``anonymise_error`` hook
overridden: client mistakes keep their message and gain ``extensions.code`` (a refusal by the
access policy is ``FORBIDDEN``, with no data for its field); storage trouble
becomes a retryable ``SERVICE_UNAVAILABLE``; anything else is masked as
``INTERNAL_SERVER_ERROR`` with the request id, and the log gets its type and stack frames.
"""

from __future__ import annotations

import traceback
from collections.abc import Iterator
from typing import Any, Final

import strawberry
from graphql import GraphQLError, GraphQLSyntaxError
from strawberry.exceptions import MissingQueryError, StrawberryInputCoercionError
from strawberry.extensions import MaskErrors
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types import Info
from strawberry.types.field import StrawberryField

from donations.domain.errors import (
    AccessDeniedError,
    IdempotencyKeyReusedError,
    InvalidInputError,
    StoreUnavailableError,
)
from donations.observability import count, logger
from schema.types import IdempotencyKeyReused, InvalidDonation

# After a timeout the write may have landed, so the safe advice is to retry with the same
# idempotency key, which returns the original donation if it did.
SERVICE_UNAVAILABLE_MESSAGE: Final = (
    "The service is busy; retry shortly with the same idempotency key."
)
INTERNAL_ERROR_MESSAGE: Final = "Internal server error. Quote the request id when reporting it."


class InvalidDonationHandler(strawberry.ExceptionHandler[InvalidInputError, InvalidDonation]):
    def handle(
        self, exception: InvalidInputError, *, field: StrawberryField, info: Info
    ) -> InvalidDonation:
        return InvalidDonation.from_domain(exception)


class IdempotencyKeyReusedHandler(
    strawberry.ExceptionHandler[IdempotencyKeyReusedError, IdempotencyKeyReused]
):
    def handle(
        self, exception: IdempotencyKeyReusedError, *, field: StrawberryField, info: Info
    ) -> IdempotencyKeyReused:
        return IdempotencyKeyReused.from_domain(exception)


# They apply only to fields whose union holds their type; elsewhere the same domain errors
# are client errors with a code (see ``client_code``).
EXCEPTION_HANDLERS: Final = (InvalidDonationHandler(), IdempotencyKeyReusedHandler())


def client_code(error: GraphQLError) -> str | None:
    """The ``extensions.code`` of an error that is the client's doing, or None if it is ours."""
    original = error.original_error
    if original is None:
        # The document did not parse or validate (our limit rules carry their own code).
        if isinstance(error, GraphQLSyntaxError):
            return "GRAPHQL_PARSE_FAILED"
        return str((error.extensions or {}).get("code", "GRAPHQL_VALIDATION_FAILED"))
    if isinstance(original, AccessDeniedError):
        return "FORBIDDEN"
    # A broken rule, or a variable a scalar refused ("ten pounds" for a Decimal, say).
    if isinstance(original, InvalidInputError | StrawberryInputCoercionError):
        return "BAD_USER_INPUT"
    # graphql-core's own refusals of argument and variable values point at the value in the
    # document (explicit null for `first: Int! = 20`, say); its failures to serialise our
    # output (an Int out of range) point nowhere, and are ours.
    if isinstance(original, GraphQLError) and (original.nodes or not error.path):
        return "BAD_USER_INPUT"
    return None


def _input_details(error: GraphQLError) -> dict[str, Any]:
    if isinstance(error.original_error, InvalidInputError):
        first = error.original_error.errors[0]
        return {"field": first.field, "reason": first.code}
    return {}


def _message(error: GraphQLError) -> str:
    if isinstance(error.original_error, InvalidInputError):
        first = error.original_error.errors[0]
        return f"{first.field} {first.message}"
    return error.message


# Raised out of the operation for Strawberry's HTTP view to answer with 400 or 405.
_HTTP_LEVEL_ERRORS: Final = (
    MissingQueryError,
    CannotGetOperationTypeError,
    InvalidOperationTypeError,
)


class CodedErrors(MaskErrors):
    """Give every error a code; hide the ones that are not the client's."""

    def __init__(self) -> None:
        super().__init__(should_mask_error=lambda _: True, error_message=INTERNAL_ERROR_MESSAGE)

    def on_operation(self) -> Iterator[None]:
        try:
            yield from super().on_operation()
        except _HTTP_LEVEL_ERRORS:
            raise
        except GraphQLError as error:
            # ParserCache parses in its hook, so syntax errors (and MaxTokensLimiter's) leave
            # the operation as exceptions rather than results: code them on the way out.
            raise self.anonymise_error(error) from error
        except Exception as error:
            # Any other hook failing: Strawberry would send str(error) as the message.
            raise self.anonymise_error(GraphQLError(str(error), original_error=error)) from error

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        code = client_code(error)
        if code is not None:
            extensions = {**(error.extensions or {}), "code": code, **_input_details(error)}
            return GraphQLError(
                _message(error),
                nodes=error.nodes,
                source=error.source,
                positions=error.positions,
                path=error.path,
                original_error=error.original_error,
                extensions=extensions,
            )
        request_id = getattr(self.execution_context.context, "request_id", None)
        if isinstance(error.original_error, StoreUnavailableError):
            message = SERVICE_UNAVAILABLE_MESSAGE
            extensions = {"code": "SERVICE_UNAVAILABLE", "retryable": True, "requestId": request_id}
        else:
            message = INTERNAL_ERROR_MESSAGE
            extensions = {"code": "INTERNAL_SERVER_ERROR", "requestId": request_id}
        # original_error never reaches the client; keeping it lets the log show the trace.
        return GraphQLError(
            message,
            nodes=error.nodes,
            path=error.path,
            original_error=error.original_error,
            extensions=extensions,
        )


def describe(exception: BaseException) -> dict[str, Any]:
    """Where an exception came from, without its message.

    Exception messages can quote the values being processed (a coercion error names the
    value it could not serialise, a donor's total for one), so a fault is logged as its
    type and stack frames only; the request id leads to everything else.
    """
    frames = traceback.extract_tb(exception.__traceback__)
    return {
        "exception_name": type(exception).__name__,
        "stack": [f"{frame.filename}:{frame.lineno} in {frame.name}" for frame in frames],
    }


def log_errors(errors: list[GraphQLError], request_id: str | None) -> None:
    """Log errors without the query text, variables or messages (they may hold donor data).

    A request's client errors make one line: a document can carry a hundred validation
    errors, and a line (and a metric) each would make logging the costliest part of it.
    """
    coded = [(error, client_code(error)) for error in errors]
    client_codes = [code for _, code in coded if code is not None]
    if client_codes:
        logger.warning(
            "graphql client error",
            extra={"codes": sorted(set(client_codes)), "errors": len(client_codes)},
        )
        count("ClientErrors", len(client_codes))
    for error, code in coded:
        if code is not None:
            continue
        if isinstance(error.original_error, StoreUnavailableError):
            # Throttling or contention that outlasted the retries: an operational signal,
            # not a bug. The metric drives the alarm; the client is told to retry.
            logger.warning("storage unavailable", extra={"code": "SERVICE_UNAVAILABLE"})
            count("StorageUnavailable")
        else:
            logger.error(
                "graphql server error",
                extra={
                    "code": "INTERNAL_SERVER_ERROR",
                    "request_id": request_id,
                    **describe(error.original_error or error),
                },
            )
            count("ServerErrors")
