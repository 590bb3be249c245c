"""The GraphQL contract: ``build_schema`` makes the one schema a container serves."""

from __future__ import annotations

import dataclasses
import functools
from datetime import datetime
from typing import Any, Final

import dateutil.parser  # type: ignore[import-untyped]  # Strawberry's own DateTime parser
import strawberry
from graphql import GraphQLError
from strawberry.extensions import AddValidationRules, MaxTokensLimiter, ValidationCache
from strawberry.schema.config import StrawberryConfig
from strawberry.schema.types.base_scalars import DateTimeDefinition, wrap_parser
from strawberry.types import ExecutionContext

from schema.amount import AMOUNT, AmountText
from schema.errors import EXCEPTION_HANDLERS, CodedErrors, log_errors
from schema.limits import CACHE_SIZE, MAX_TOKENS, DocumentLimits, ValidationErrorLimit
from schema.types import Mutation, Query

# Strawberry's DateTime appends dateutil's own error text ("invalid literal for int() with
# base 10") to the client's message: parser internals, not advice. Same scalar, without it.
_DATETIME: Final = dataclasses.replace(
    DateTimeDefinition,
    parse_value=wrap_parser(
        dateutil.parser.isoparse, "DateTime", (ValueError, OverflowError), include_error=False
    ),
)


class DonationsSchema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        # Replaces Strawberry's default, which logs the query text (and so donor data).
        context: Any = execution_context.context if execution_context else None
        log_errors(errors, getattr(context, "request_id", None))


def build_schema(*, introspection: bool = True) -> DonationsSchema:
    """The schema with its limits, caches and error handling; build it once per container."""
    from graphql.validation import NoSchemaIntrospectionCustomRule

    # In this order: MaxTokensLimiter sets the parser's token limit, DocumentLimits parses,
    # measures and refuses before ValidationCache validates (hooks run in list order).
    extensions: list[Any] = [
        functools.partial(MaxTokensLimiter, max_token_count=MAX_TOKENS),
        DocumentLimits,
        functools.partial(ValidationCache, maxsize=CACHE_SIZE),
        CodedErrors,
    ]
    rules: list[Any] = [ValidationErrorLimit]
    if not introspection:
        rules.append(NoSchemaIntrospectionCustomRule)
    # Rule classes, never built per request: ValidationCache's key includes the rules.
    extensions.append(functools.partial(AddValidationRules, rules))
    return DonationsSchema(
        query=Query,
        mutation=Mutation,
        extensions=extensions,
        exception_handlers=EXCEPTION_HANDLERS,
        scalar_overrides={datetime: _DATETIME},
        config=StrawberryConfig(
            disable_field_suggestions=not introspection, scalar_map={AmountText: AMOUNT}
        ),
    )
