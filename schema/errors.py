"""How failures reach clients and logs.

Expected failures of ``recordDonation`` are typed results (see ``schema.types``). Other
client mistakes are GraphQL errors with ``extensions.code``. Anything unexpected is
masked: the client sees a generic message, a code and the request id, and the log gets the
stack trace under the same id.
"""

from __future__ import annotations

import traceback
from collections.abc import Iterator
from typing import Any

from graphql import GraphQLError, GraphQLSyntaxError
from strawberry.exceptions import MissingQueryError, StrawberryInputCoercionError
from strawberry.extensions import SchemaExtension
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError

from donations.domain.errors import FieldError, InvalidInputError, StoreUnavailableError
from donations.observability import logger, metrics


class ClientFacingError(GraphQLError):
    """A GraphQL error whose message is written for the client and safe to show."""


def bad_user_input(error: InvalidInputError) -> ClientFacingError:
    first: FieldError = error.errors[0]
    return ClientFacingError(
        f"{first.field} {first.message}",
        extensions={"code": "BAD_USER_INPUT", "field": first.field, "reason": first.code},
    )


# After a timeout the write may have landed, so the safe advice is to retry with the same
# idempotency key, which returns the original donation if it did.
SERVICE_UNAVAILABLE_MESSAGE = "The service is busy; retry shortly with the same idempotency key."
INTERNAL_ERROR_MESSAGE = "Internal server error. Quote the request id when reporting it."


def _is_client_error(error: GraphQLError) -> bool:
    original = error.original_error
    # No original error: the document failed to parse or validate, or variables were wrong.
    if original is None or isinstance(original, ClientFacingError):
        return True
    # A variable value a scalar refused (say, "ten pounds" for a Decimal) fails before
    # execution, so it has no path.
    if not error.path and isinstance(original, (StrawberryInputCoercionError, GraphQLError)):
        return True
    return isinstance(original, GraphQLError) and _refused_argument(original)


def _refused_argument(error: GraphQLError) -> bool:
    # graphql-core checks a field's arguments just before calling its resolver, so an explicit
    # null for `donations(first: Int! = 20)` fails with a path, like a resolver's own error.
    frames = traceback.walk_tb(error.__traceback__)
    return any(frame.f_code.co_name == "get_argument_values" for frame, _ in frames)


def _is_unavailable(error: GraphQLError) -> bool:
    return isinstance(error.original_error, StoreUnavailableError)


def _code(error: GraphQLError) -> str:
    extensions = error.extensions or {}
    original = error.original_error
    if isinstance(original, GraphQLError) and original.extensions:
        extensions = original.extensions
    if "code" in extensions:
        return str(extensions["code"])
    if error.path:
        return "BAD_USER_INPUT" if isinstance(original, GraphQLError) else "BAD_REQUEST"
    if isinstance(error, GraphQLSyntaxError) or error.message.startswith("Syntax Error"):
        return "GRAPHQL_PARSE_FAILED"
    if isinstance(original, GraphQLError):
        return "BAD_USER_INPUT"
    return "GRAPHQL_VALIDATION_FAILED"


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
    """Log errors without the query text, variables or messages (they may hold donor data)."""
    for error in errors:
        if _is_client_error(error):
            code = _code(error)
            logger.warning("graphql client error", extra={"code": code})
            metrics.add_metric(name="ClientErrors", unit="Count", value=1)
        elif _is_unavailable(error):
            # Throttling or contention that outlasted the retries: an operational signal,
            # not a bug. The metric drives the alarm; the client is told to retry.
            logger.warning("storage unavailable", extra={"code": "SERVICE_UNAVAILABLE"})
            metrics.add_metric(name="StorageUnavailable", unit="Count", value=1)
        else:
            logger.error(
                "graphql server error",
                extra={
                    "code": "INTERNAL_SERVER_ERROR",
                    "request_id": request_id,
                    **describe(error.original_error or error),
                },
            )
            metrics.add_metric(name="ServerErrors", unit="Count", value=1)


_HTTP_LEVEL_ERRORS = (MissingQueryError, CannotGetOperationTypeError, InvalidOperationTypeError)


class MaskUnexpectedErrors(SchemaExtension):
    """Replace every error that is not meant for the client with a generic, traceable one."""

    def on_operation(self) -> Iterator[None]:
        try:
            yield
        except _HTTP_LEVEL_ERRORS:
            raise  # Strawberry's view turns these into HTTP 400/405 answers.
        except GraphQLError as error:
            # ParserCache raises syntax errors out of the parsing hook, past this
            # extension; they are the client's, so give them their code on the way out.
            if not error.original_error:
                error.extensions = {**(error.extensions or {}), "code": _code(error)}
                raise
            raise self._mask(error) from error
        except Exception as error:
            # A hook (parsing, validation) failed: Strawberry would send str(error) as is.
            raise self._mask(GraphQLError(str(error), original_error=error)) from error
        result: Any = self.execution_context.result
        errors = getattr(result, "errors", None)
        if errors:
            result.errors = [self._mask(error) for error in errors]

    def _mask(self, error: GraphQLError) -> GraphQLError:
        if _is_client_error(error):
            original = error.original_error
            if isinstance(original, GraphQLError) and original.extensions:
                error.extensions = original.extensions
            elif not error.extensions or "code" not in error.extensions:
                # Every error carries a machine-readable code, request errors included.
                error.extensions = {**(error.extensions or {}), "code": _code(error)}
            return error
        context = self.execution_context.context
        request_id = getattr(context, "request_id", None)
        # original_error never reaches the client; keeping it lets the log show the trace.
        if _is_unavailable(error):
            return GraphQLError(
                SERVICE_UNAVAILABLE_MESSAGE,
                nodes=error.nodes,
                path=error.path,
                original_error=error.original_error,
                extensions={
                    "code": "SERVICE_UNAVAILABLE",
                    "retryable": True,
                    "requestId": request_id,
                },
            )
        return GraphQLError(
            INTERNAL_ERROR_MESSAGE,
            nodes=error.nodes,
            path=error.path,
            original_error=error.original_error,
            extensions={
                "code": "INTERNAL_SERVER_ERROR",
                "requestId": request_id,
            },
        )
