"""Every root field goes through the access policy: the schema is walked, not listed.

Each Query and Mutation field is called with made-up arguments, first by a caller with no
rights at all (FORBIDDEN, nothing written) and then by one with every right (answered), so
a field added later that forgets ``resolvers.access`` fails here without anyone having to
remember to add it to a list.
"""

from __future__ import annotations

from typing import Any

import graphql
import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLScalarType,
)

from donations.domain.ledger import DonationLedger
from resolvers.access import Caller
from resolvers.context import RequestContext
from schema import build_schema
from tests.support.memory import InMemoryDonationStore

SCHEMA = build_schema()
# The contract as a client sees it: graphql-core's view of the exported SDL.
CONTRACT = graphql.build_schema(SCHEMA.as_str())
DONOR = "donor-1"
SCALAR_VALUES = {
    "ID": f'"{DONOR}"',
    "String": f'"{DONOR}"',
    "Int": "1",
    "Float": "1.0",
    "Boolean": "true",
    "Decimal": '"1.00"',
    "Amount": '"1.00"',
    "DateTime": '"2026-01-01T00:00:00+00:00"',
}


def root_fields() -> list[tuple[str, str, GraphQLField]]:
    fields = []
    for operation, root in (("query", CONTRACT.query_type), ("mutation", CONTRACT.mutation_type)):
        if root is not None:
            fields += [(operation, name, field) for name, field in root.fields.items()]
    return fields


def literal(type_: GraphQLInputType) -> str:
    """A value of this input type, filling only what is required."""
    if isinstance(type_, GraphQLNonNull):
        return literal(type_.of_type)
    if isinstance(type_, GraphQLList):
        return f"[{literal(type_.of_type)}]"
    if isinstance(type_, GraphQLEnumType):
        return next(iter(type_.values))
    if isinstance(type_, GraphQLInputObjectType):
        required = [
            f"{name}: {literal(field.type)}"
            for name, field in type_.fields.items()
            if isinstance(field.type, GraphQLNonNull) and field.default_value is graphql.Undefined
        ]
        return "{" + ", ".join(required) + "}"
    assert isinstance(type_, GraphQLScalarType)
    assert type_.name in SCALAR_VALUES, f"teach this test a value for the scalar {type_.name}"
    return SCALAR_VALUES[type_.name]


def document(operation: str, name: str, field: GraphQLField) -> str:
    arguments = ", ".join(
        f"{argument_name}: {literal(argument.type)}"
        for argument_name, argument in field.args.items()
        if isinstance(argument.type, GraphQLNonNull) and argument.default_value is graphql.Undefined
    )
    call = f"{name}({arguments})" if arguments else name
    selection = "" if graphql.is_leaf_type(graphql.get_named_type(field.type)) else "{ __typename }"
    return f"{operation} {{ {call} {selection} }}"


def run(text: str, ledger: DonationLedger, caller: Caller) -> tuple[Any, list[dict[str, Any]]]:
    context = RequestContext(ledger=ledger, request_id="req-access", caller=caller)
    result = SCHEMA.execute_sync(text, context_value=context)
    return result.data, [error.formatted for error in result.errors or []]


ROOT_FIELDS = root_fields()


def test_the_walk_finds_every_root_field() -> None:
    names = {f"{operation}.{name}" for operation, name, _ in ROOT_FIELDS}

    assert {"query.donationCount", "query.donor", "mutation.recordDonation"} <= names


@pytest.mark.parametrize(
    ("operation", "name", "field"), ROOT_FIELDS, ids=[f"{o}.{n}" for o, n, _ in ROOT_FIELDS]
)
def test_every_root_field_refuses_a_caller_without_rights(
    operation: str, name: str, field: GraphQLField
) -> None:
    # Given a ledger and a call to the field, e.g. `query { donor(id: "donor-1") { ... } }`
    ledger = DonationLedger(InMemoryDonationStore())
    text = document(operation, name, field)

    # When a caller the gateway vouched for with no rights at all makes it
    data, errors = run(text, ledger, Caller("jwt"))

    # Then the field is refused, has no data, and nothing was written
    assert [error["extensions"]["code"] for error in errors] == ["FORBIDDEN"], text
    assert errors[0]["path"] == [name]
    assert (data or {}).get(name) is None
    assert ledger.donation_count(DONOR) == 0

    # while a caller with every right gets an answer to the same call
    _, errors = run(text, ledger, Caller.open_stage())
    assert errors == [], text
