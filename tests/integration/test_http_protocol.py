"""GraphQL over HTTP through the real Lambda handler: status codes, media types, errors."""

from __future__ import annotations

import base64
import json
from typing import Any

import boto3
import pytest

from local.lambda_events import graphql_event, http_api_event
from tests.support.api import RECORD_DONATION_LEAN, ApiResponse, graphql, invoke
from tests.support.aws import EmulatedAccount

pytestmark = pytest.mark.usefixtures("aws")

GRAPHQL_RESPONSE = "application/graphql-response+json"
# requestContext.requestId of the sample POST and GET events.
GATEWAY_REQUEST_IDS = {"Ab1CdEfGhIjKlMn=", "Gh2IjKlMnOpQrSt="}
DONATION = {"input": {"donorId": "donor-http", "amount": "5.00"}}


def table_items() -> int:
    return len(boto3.client("dynamodb").scan(TableName="donations-test")["Items"])


def post(body: str, **headers: str) -> ApiResponse:
    return invoke(http_api_event(body=body, headers=headers))


def with_method(method: str) -> dict[str, Any]:
    event = http_api_event(body=json.dumps({"query": "{ __typename }"}))
    event["requestContext"]["http"]["method"] = method
    event["routeKey"] = f"{method} /graphql"
    return event


def get(query_string: str, accept: str = "application/json") -> ApiResponse:
    event = http_api_event("http_api_graphql_get", headers={"accept": accept})
    event["rawQueryString"] = query_string
    return invoke(event)


def assert_request_error(response: ApiResponse, status: int, code: str) -> None:
    """A refusal before execution: the status, a JSON GraphQL error with a code and the id."""
    assert response.status == status, response.body
    assert response.headers["content-type"].startswith("application/json")
    [error] = response.json["errors"]
    assert error["message"]
    assert error["extensions"].keys() == {"code", "requestId"}
    assert error["extensions"]["code"] == code
    assert error["extensions"]["requestId"] in GATEWAY_REQUEST_IDS
    assert "data" not in response.json


# --- media types and status codes -----------------------------------------------------------


@pytest.mark.parametrize(
    ("accept", "media_type"),
    [
        ("", "application/json"),
        ("*/*", "application/json"),
        ("application/*", "application/json"),
        ("application/json", "application/json"),
        (GRAPHQL_RESPONSE, GRAPHQL_RESPONSE),
        (f"{GRAPHQL_RESPONSE}, application/json;q=0.9", GRAPHQL_RESPONSE),
        (f"application/json, {GRAPHQL_RESPONSE}", GRAPHQL_RESPONSE),
        (f"application/json, {GRAPHQL_RESPONSE};q=0.5", "application/json"),
        ("application/json;q=0, */*", GRAPHQL_RESPONSE),
        ("text/html, */*;q=0.1", "application/json"),
    ],
)
def test_the_response_media_type_follows_accept(accept: str, media_type: str) -> None:
    response = invoke(graphql_event("{ __typename }", headers={"accept": accept}))

    assert response.status == 200
    assert response.headers["content-type"].split(";")[0] == media_type
    assert response.json == {"data": {"__typename": "Query"}}


@pytest.mark.parametrize(
    "accept", ["text/html", "application/xml", "image/png, text/*", "application/json;q=0"]
)
def test_nothing_acceptable_is_406(accept: str) -> None:
    response = invoke(graphql_event("{ __typename }", headers={"accept": accept}))

    assert_request_error(response, 406, "NOT_ACCEPTABLE")


@pytest.mark.parametrize(
    ("query", "variables", "code"),
    [
        ("{ donationCount(", None, "GRAPHQL_PARSE_FAILED"),
        ("{ noSuchField }", None, "GRAPHQL_VALIDATION_FAILED"),
        (
            "query($id: ID!) { donationCount(donorId: $id) }",
            {"id": {"an": "object"}},
            "BAD_USER_INPUT",
        ),
        ("query($id: ID!) { donationCount(donorId: $id) }", {}, "BAD_USER_INPUT"),
    ],
    ids=["parse", "validation", "variable-type", "variable-missing"],
)
def test_request_errors_are_400_for_graphql_response_clients_and_200_for_json_clients(
    query: str, variables: dict[str, Any] | None, code: str
) -> None:
    strict = invoke(graphql_event(query, variables, headers={"accept": GRAPHQL_RESPONSE}))
    legacy = invoke(graphql_event(query, variables, headers={"accept": "application/json"}))

    assert strict.status == 400
    assert strict.headers["content-type"] == GRAPHQL_RESPONSE
    assert "data" not in strict.json
    assert strict.json["errors"][0]["extensions"]["code"] == code
    assert legacy.status == 200
    assert legacy.headers["content-type"] == "application/json"
    assert legacy.json["data"] is None
    assert legacy.json["errors"][0]["extensions"]["code"] == code


def test_a_field_error_after_execution_started_is_200_with_data_for_both_media_types() -> None:
    query = '{ donor(id: "not valid!") { id } }'

    for accept in (GRAPHQL_RESPONSE, "application/json"):
        response = invoke(graphql_event(query, headers={"accept": accept}))

        assert response.status == 200
        assert response.json["data"] == {"donor": None}
        assert response.json["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


def test_a_mutation_succeeds_for_graphql_response_clients() -> None:
    response = invoke(
        graphql_event(RECORD_DONATION_LEAN, DONATION, headers={"accept": GRAPHQL_RESPONSE})
    )

    assert response.status == 200
    assert response.json["data"]["recordDonation"]["__typename"] == "RecordDonationSuccess"


# --- methods --------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"])
def test_other_methods_are_405_with_allow(method: str) -> None:
    response = invoke(with_method(method))

    assert response.headers["allow"] == "GET, POST"
    assert_request_error(response, 405, "METHOD_NOT_ALLOWED")


def test_a_query_over_get_is_answered() -> None:
    response = get("query=%7B%20__typename%20%7D")

    assert response.status == 200
    assert response.json == {"data": {"__typename": "Query"}}


@pytest.mark.parametrize("accept", ["application/json", GRAPHQL_RESPONSE])
def test_a_mutation_over_get_is_405_and_writes_nothing(accept: str) -> None:
    mutation = (
        'mutation { recordDonation(input: {donorId: "donor-get", amount: "1"}) { __typename } }'
    )

    response = get(f"query={mutation}", accept)

    assert response.status == 405
    assert response.headers["allow"] == "POST"
    assert response.json["errors"][0]["extensions"]["code"] == "METHOD_NOT_ALLOWED"
    assert table_items() == 0


def test_a_get_without_a_query_from_an_api_client_is_400() -> None:
    response = get("")

    assert_request_error(response, 400, "BAD_REQUEST")


# --- request bodies -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/graphql",
        "application/jsonp",
        "application/json; charset=latin-1",
        "",
    ],
)
def test_a_body_that_is_not_utf8_json_is_415_and_writes_nothing(content_type: str) -> None:
    body = json.dumps({"query": RECORD_DONATION_LEAN, "variables": DONATION})

    response = post(body, **{"content-type": content_type})

    assert_request_error(response, 415, "UNSUPPORTED_MEDIA_TYPE")
    assert table_items() == 0


def test_json_with_an_explicit_utf8_charset_is_accepted() -> None:
    response = post(
        '{"query": "{ __typename }"}', **{"content-type": "application/json; charset=UTF-8"}
    )

    assert response.json == {"data": {"__typename": "Query"}}


@pytest.mark.parametrize(
    "body",
    [
        "",
        "{",
        "not json",
        '"a string"',
        "null",
        "42",
        "true",
        "[" * 8_000 + "]" * 8_000,
        '{"query": 42}',
        '{"query": ["{ __typename }"]}',
        '{"query": "{ __typename }", "variables": "x=1"}',
        '{"query": "{ __typename }", "variables": [1]}',
        '{"query": "{ __typename }", "extensions": 3}',
        '{"variables": {}}',
    ],
    ids=lambda body: body[:24],
)
def test_a_malformed_request_is_400_with_a_json_error(body: str) -> None:
    response = post(body)

    assert_request_error(response, 400, "BAD_REQUEST")


def test_a_base64_encoded_body_from_api_gateway_is_read() -> None:
    event = http_api_event(body=base64.b64encode(b'{"query": "{ __typename }"}').decode())
    event["isBase64Encoded"] = True

    assert invoke(event).json == {"data": {"__typename": "Query"}}


# --- errors, GraphiQL, introspection and suggestions by stage -------------------------------


def test_an_unexpected_exception_is_a_generic_error_with_the_request_id(
    aws: EmulatedAccount, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def explode(*_: object) -> int:
        raise KeyError("/var/task/donations/secret.py DONOR#donor-http")

    monkeypatch.setattr(aws.services.ledger, "donation_count", explode)

    response = graphql('{ donationCount(donorId: "donor-http") }', request_id="req-123")

    assert response.status == 200
    [error] = response.json["errors"]
    assert error["message"] == "Internal server error. Quote the request id when reporting it."
    assert error["extensions"] == {"code": "INTERNAL_SERVER_ERROR", "requestId": "req-123"}
    assert "secret" not in response.body
    assert "KeyError" not in response.body
    [logged] = [r for r in caplog.records if r.getMessage() == "graphql server error"]
    assert logged.levelname == "ERROR"
    assert logged.__dict__["request_id"] == "req-123"
    # Where it failed goes to the log under the same id; the message (it may quote data) not.
    assert logged.__dict__["exception_name"] == "KeyError"
    assert logged.__dict__["stack"]
    assert "secret" not in str(logged.__dict__)


def test_a_fault_outside_execution_is_a_json_500_with_the_request_id(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from schema.http import DonationsGraphQL

    async def broken(*_: object) -> object:
        raise RuntimeError("/var/task/schema/http.py exploded")

    monkeypatch.setattr(DonationsGraphQL, "get_context", broken)

    response = invoke(graphql_event("{ __typename }"))

    assert_request_error(response, 500, "INTERNAL_SERVER_ERROR")
    assert "exploded" not in response.body


def test_development_serves_graphiql_introspection_and_field_suggestions() -> None:
    ide = invoke(http_api_event("http_api_graphql_get"))
    schema = graphql("{ __schema { queryType { name } } }")
    typo = graphql('{ donationCont(donorId: "a") }')

    assert ide.headers["content-type"].startswith("text/html")
    assert schema.data == {"__schema": {"queryType": {"name": "Query"}}}
    assert "Did you mean 'donationCount'?" in typo.json["errors"][0]["message"]


def test_production_hides_graphiql_introspection_and_field_suggestions(
    aws: EmulatedAccount, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STAGE", "prod")
    monkeypatch.setenv("LOG_HASH_KEY", "prod-test-key")
    aws.compose()

    ide = invoke(http_api_event("http_api_graphql_get"))
    schema = graphql("{ __schema { queryType { name } } }")
    type_query = graphql('{ __type(name: "Donor") { fields { name } } }')
    typo = graphql('{ donationCont(donorId: "a") }')

    assert_request_error(ide, 404, "NOT_FOUND")
    assert schema.json["data"] is None
    assert "introspection" in schema.json["errors"][0]["message"]
    assert "introspection" in type_query.json["errors"][0]["message"]
    assert "Did you mean" not in typo.json["errors"][0]["message"]
    assert graphql("{ __typename }").data == {"__typename": "Query"}


def test_an_explicit_null_for_an_argument_with_a_default_is_a_client_error() -> None:
    # Found by the fuzzer: graphql-core refuses it just before the resolver, with a path.
    graphql(RECORD_DONATION_LEAN, DONATION)
    query = (
        'query($first: Int) { donor(id: "donor-http") { donations(first: $first) { __typename } } }'
    )

    response = graphql(query, {"first": None})

    assert response.json["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT"}
    assert "first" in response.json["errors"][0]["message"]
