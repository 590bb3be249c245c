"""Abusive documents and requests are refused early: depth, aliases, tokens, size, batching."""

from __future__ import annotations

import json
from collections.abc import Iterator

import boto3
import graphql
import httpx
import pytest

from local.lambda_events import http_api_event
from schema.http import MAX_BODY_BYTES
from schema.limits import MAX_ALIASES, MAX_QUERY_DEPTH, MAX_TOKENS, measure, refusal
from tests.support.api import RECORD_DONATION_LEAN, ApiResponse, invoke
from tests.support.api import graphql as send

DONATION = {"input": {"donorId": "donor-limits", "amount": "5.00"}}


def table_items() -> int:
    return len(boto3.client("dynamodb").scan(TableName="donations-test")["Items"])


def codes(response: ApiResponse) -> list[str]:
    return [error["extensions"]["code"] for error in response.json.get("errors", [])]


# --- depth ----------------------------------------------------------------------------------

# Today's types have no cycles, so the depth rule is proved on a schema that has one.
CYCLIC = graphql.build_schema("type Query { node: Node } type Node { id: ID child: Node }")


def nested(depth: int) -> str:
    """A query whose longest path has `depth` fields: node { child { ... { id } } }."""
    inner = "id"
    for _ in range(depth - 2):
        inner = f"child {{ {inner} }}"
    return f"{{ node {{ {inner} }} }}"


def depth_errors(document: str) -> list[str]:
    refused = refusal(measure(graphql.parse(document), CYCLIC))
    return [refused.message] if refused else []


def test_the_depth_limit_allows_its_depth_and_refuses_one_more() -> None:
    assert depth_errors(nested(MAX_QUERY_DEPTH)) == []
    assert depth_errors(nested(MAX_QUERY_DEPTH + 1)) == [
        f"Operation 'anonymous' is {MAX_QUERY_DEPTH + 1} fields deep; "
        f"the limit is {MAX_QUERY_DEPTH}."
    ]


def test_depth_counts_through_fragments_and_inline_fragments() -> None:
    inline = nested(MAX_QUERY_DEPTH + 1).replace("child {", "... on Node { child {", 1) + " }"
    spread = nested(MAX_QUERY_DEPTH + 1).replace(
        "{ node", "{ ...Start } fragment Start on Query { node", 1
    )

    assert (
        depth_errors(nested(MAX_QUERY_DEPTH).replace("child {", "... on Node { child {", 1) + " }")
        == []
    )
    assert len(depth_errors(inline)) == 1
    assert len(depth_errors(spread)) == 1


@pytest.mark.usefixtures("aws")
def test_a_too_deep_query_is_refused_through_the_handler() -> None:
    query = '{ donor(id: "a") { donations { nodes { a { b { c { d { e { f } } } } } } } } }'

    response = send(query)

    assert response.status == 200
    assert response.json["data"] is None
    assert "QUERY_TOO_COMPLEX" in codes(response)


# --- aliases --------------------------------------------------------------------------------


def aliased(count: int) -> str:
    return "{ " + " ".join(f'a{i}: donationCount(donorId: "d{i}")' for i in range(count)) + " }"


@pytest.mark.usefixtures("aws")
def test_the_alias_limit_allows_its_count_and_refuses_one_more() -> None:
    allowed = send(aliased(MAX_ALIASES))
    refused = send(aliased(MAX_ALIASES + 1))

    assert "errors" not in allowed.json
    assert len(allowed.data) == MAX_ALIASES
    assert refused.json["data"] is None
    assert codes(refused) == ["QUERY_TOO_COMPLEX"]


@pytest.mark.usefixtures("aws")
def test_aliases_inside_fragments_count_every_time_the_fragment_is_spread() -> None:
    fragment = " ".join(f'a{i}: donationCount(donorId: "d{i}")' for i in range(4))
    query = "{ ...F ... on Query { ...F } x: __typename ...G } "
    query += f"fragment F on Query {{ {fragment} }} fragment G on Query {{ ...F ...F }}"

    response = send(query)

    assert codes(response) == ["QUERY_TOO_COMPLEX"]


@pytest.mark.usefixtures("aws")
def test_a_mutation_with_too_many_aliases_writes_nothing() -> None:
    mutation = (
        "mutation {"
        + " ".join(
            f'm{i}: recordDonation(input: {{donorId: "d{i}", amount: "1"}}) {{ __typename }}'
            for i in range(MAX_ALIASES + 1)
        )
        + "}"
    )

    response = send(mutation)

    assert codes(response) == ["QUERY_TOO_COMPLEX"]
    assert table_items() == 0


# --- fragment bombs and introspection -------------------------------------------------------


@pytest.mark.usefixtures("aws")
@pytest.mark.parametrize("leaf", ["__typename", "x: __typename"])
def test_a_fragment_bomb_is_refused_after_a_bounded_walk(leaf: str) -> None:
    # Each fragment spreads the next twice: 2**60 paths. A limiter that walks every path
    # (Strawberry's own did) never finishes; this one stops counting at MAX_SELECTIONS.
    fragments = " ".join(f"fragment F{i} on Query {{ ...F{i + 1} ...F{i + 1} }}" for i in range(60))
    query = f"{{ ...F0 }} {fragments} fragment F60 on Query {{ {leaf} }}"

    response = send(query)

    assert codes(response) == ["QUERY_TOO_COMPLEX"]
    assert "more than 300 fields and fragments" in response.json["errors"][0]["message"]


@pytest.mark.usefixtures("aws")
@pytest.mark.parametrize(
    "query",
    [
        "{ ...Missing }",
        '{ donor(id: "a") { ...Missing } }',
        "{ ...A } fragment A on Query { ...B } fragment B on Query { ...A }",
        "{ ...A } fragment A on Query { ...A }",
    ],
)
def test_undefined_and_cyclic_fragments_are_validation_errors_not_crashes(query: str) -> None:
    response = send(query)

    assert response.status == 200
    assert response.json["errors"]
    assert set(codes(response)) == {"GRAPHQL_VALIDATION_FAILED"}


@pytest.mark.usefixtures("aws")
def test_recursive_introspection_is_refused_but_the_graphiql_query_is_served() -> None:
    amplifier = "{ __schema { types { fields { type { fields { type { fields { name } } } } } } } }"

    refused = send(amplifier)
    served = send(graphql.get_introspection_query(descriptions=True))

    assert refused.json["errors"][0]["message"] == "Maximum introspection depth exceeded"
    assert "errors" not in served.json
    assert served.data["__schema"]["queryType"]["name"] == "Query"


# --- tokens, body size, query string size, batching -----------------------------------------


@pytest.mark.usefixtures("aws")
def test_a_document_over_the_token_limit_is_refused_before_it_is_parsed() -> None:
    query = "{ " + "__typename " * MAX_TOKENS + "}"

    response = send(query)

    assert response.json["data"] is None
    assert response.json["errors"][0]["message"] == (
        f"Syntax Error: Document contains more than {MAX_TOKENS} tokens. Parsing aborted."
    )
    assert codes(response) == ["GRAPHQL_PARSE_FAILED"]


def body_of_size(size: int) -> str:
    """A valid request body of exactly `size` bytes (padded with JSON whitespace)."""
    body = json.dumps({"query": "{ __typename }"})
    return body[:-1] + " " * (size - len(body)) + "}"


@pytest.mark.usefixtures("aws")
def test_the_body_cap_allows_its_size_and_refuses_one_byte_more() -> None:
    allowed = invoke(http_api_event(body=body_of_size(MAX_BODY_BYTES)))
    refused = invoke(http_api_event(body=body_of_size(MAX_BODY_BYTES + 1)))

    assert allowed.json == {"data": {"__typename": "Query"}}
    assert refused.status == 413
    assert codes(refused) == ["PAYLOAD_TOO_LARGE"]


@pytest.mark.usefixtures("aws")
def test_the_body_cap_counts_bytes_not_the_declared_length() -> None:
    payload = {"query": RECORD_DONATION_LEAN, "variables": DONATION, "pad": "x" * MAX_BODY_BYTES}
    event = http_api_event(body=json.dumps(payload))
    event["headers"]["content-length"] = "100"

    response = invoke(event)

    assert response.status == 413
    assert table_items() == 0


@pytest.mark.usefixtures("aws")
def test_a_query_string_over_the_cap_is_414() -> None:
    event = http_api_event("http_api_graphql_get", headers={"accept": "application/json"})
    event["rawQueryString"] = "query=%7B__typename%7D&pad=" + "x" * MAX_BODY_BYTES

    response = invoke(event)

    assert response.status == 414
    assert codes(response) == ["URI_TOO_LONG"]


@pytest.mark.usefixtures("aws")
def test_batched_requests_are_refused_and_execute_nothing() -> None:
    batch = [{"query": RECORD_DONATION_LEAN, "variables": DONATION}] * 2

    response = invoke(http_api_event(body=json.dumps(batch)))

    assert response.status == 400
    assert codes(response) == ["BAD_REQUEST"]
    assert "batched" in response.json["errors"][0]["message"]
    assert table_items() == 0


# --- the same cap under uvicorn (make run), where a body may arrive in chunks ---------------


def test_uvicorn_refuses_a_chunked_body_over_the_cap_without_a_declared_length(
    local_url: str,
) -> None:
    payload = json.dumps({"query": RECORD_DONATION_LEAN, "variables": DONATION})
    oversized = payload[:-1] + " " * MAX_BODY_BYTES + "}"

    def chunks(body: str) -> Iterator[bytes]:
        data = body.encode()
        for start in range(0, len(data), 8192):
            yield data[start : start + 8192]

    with httpx.Client() as client:
        headers = {"content-type": "application/json"}
        refused = client.post(local_url, content=chunks(oversized), headers=headers)
        accepted = client.post(local_url, content=chunks(payload), headers=headers)

    assert "content-length" not in refused.request.headers
    assert refused.status_code == 413
    assert refused.json()["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"
    assert accepted.status_code == 200
    assert accepted.json()["data"]["recordDonation"]["__typename"] == "RecordDonationSuccess"
    assert table_items() == 2  # the accepted donation and its donor; nothing from the refusal


def test_every_field_the_cost_model_names_is_in_the_schema() -> None:
    from schema import build_schema
    from schema.limits import COSTED_FIELDS

    schema = build_schema()._schema
    for type_name, field_name in COSTED_FIELDS:
        named = schema.get_type(type_name)
        assert isinstance(named, graphql.GraphQLObjectType), type_name
        # __schema and __type are graphql-core's meta fields, on every query root.
        assert field_name.startswith("__") or field_name in named.fields, (type_name, field_name)
