"""The GraphQL contract. ``schema`` is the development schema, used for the SDL export."""

from __future__ import annotations

import functools
from typing import Any, Final

import strawberry
from graphql import GraphQLError
from strawberry.extensions import (
    AddValidationRules,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    ValidationCache,
)
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext

from resolvers import donations as resolve
from schema.errors import MaskUnexpectedErrors, log_errors
from schema.types import Donor, RecordDonationResult

# Limits sized for this schema. The deepest useful query is
# recordDonation > donor > donations > nodes > amount (depth 5); 8 leaves room for
# fragments without allowing abuse.
MAX_QUERY_DEPTH: Final = 8
# Aliases let one request repeat a field; 15 covers dashboards, stops amplification.
MAX_ALIASES: Final = 15
# The largest sensible document here is a few hundred tokens; 2,000 stops megabyte
# documents before the parser spends time on them.
MAX_TOKENS: Final = 2_000
# Distinct documents a warm function keeps parsed and validated.
CACHE_SIZE: Final = 256


@strawberry.type
class Query:
    donation_count: int = strawberry.field(
        resolver=resolve.donation_count,
        description="How many donations the donor has made; 0 for a donor never seen.",
    )
    donor: Donor | None = strawberry.field(
        resolver=resolve.donor, description="A donor, or null if they have never donated."
    )


@strawberry.type
class Mutation:
    record_donation: RecordDonationResult = strawberry.mutation(
        resolver=resolve.record_donation,
        description="Record a donation. Send an idempotencyKey so retries are safe.",
    )


class DonationsSchema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        # Replaces Strawberry's default, which logs the query text (and so donor data).
        context: Any = execution_context.context if execution_context else None
        log_errors(errors, getattr(context, "request_id", None))


def build_schema(*, introspection: bool = True) -> strawberry.Schema:
    from graphql.validation import NoSchemaIntrospectionCustomRule

    extensions: list[Any] = [
        functools.partial(MaxTokensLimiter, max_token_count=MAX_TOKENS),
        functools.partial(ParserCache, maxsize=CACHE_SIZE),
        functools.partial(ValidationCache, maxsize=CACHE_SIZE),
        functools.partial(QueryDepthLimiter, max_depth=MAX_QUERY_DEPTH),
        functools.partial(MaxAliasesLimiter, max_alias_count=MAX_ALIASES),
        MaskUnexpectedErrors,
    ]
    if not introspection:
        extensions.append(
            functools.partial(AddValidationRules, [NoSchemaIntrospectionCustomRule])
        )
    return DonationsSchema(
        query=Query,
        mutation=Mutation,
        extensions=extensions,
        config=StrawberryConfig(disable_field_suggestions=not introspection),
    )


schema = build_schema()
