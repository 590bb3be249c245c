"""Persisted documents through the real Lambda handler and the (emulated) table.

Apollo's automatic persisted queries as its link speaks them (hash first, the document on
``PERSISTED_QUERY_NOT_FOUND``, by GET for queries), registrations shared by every container
through the table, and a stage that runs only the trusted-documents manifest.
"""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import urlencode

import boto3
import pytest

from donations.constants import ENV_TRUSTED_DOCUMENTS
from local.lambda_events import http_api_event
from schema.documents import TrustedDocuments, sha256_hex
from tests.support.api import ApiResponse, invoke
from tests.support.aws import EmulatedAccount

GRAPHQL_RESPONSE = "application/graphql-response+json"
COUNT = "query Count($id: ID!) { donationCount(donorId: $id) }"
RECORD = (
    "mutation Record($input: RecordDonationInput!) { recordDonation(input: $input) "
    "{ __typename ... on RecordDonationSuccess "
    "{ replayed donation { id } donor { donationCount } } } }"
)
THIRTY_DAYS = 30 * 24 * 3600


def extensions(document: str) -> dict[str, Any]:
    return {"persistedQuery": {"version": 1, "sha256Hash": sha256_hex(document)}}


def post(
    document: str | None = None,
    variables: dict[str, Any] | None = None,
    *,
    by_hash_of: str | None = None,
    accept: str = "application/json",
) -> ApiResponse:
    payload: dict[str, Any] = {"variables": variables or {}}
    if document is not None:
        payload["query"] = document
    if by_hash_of is not None:
        payload["extensions"] = extensions(by_hash_of)
    return invoke(http_api_event(body=json.dumps(payload), headers={"accept": accept}))


def get_by_hash(document: str, variables: dict[str, Any], accept: str) -> ApiResponse:
    query_string = urlencode(
        {"variables": json.dumps(variables), "extensions": json.dumps(extensions(document))}
    )
    return invoke(
        http_api_event(
            "http_api_graphql_get", headers={"accept": accept}, query_string=query_string
        )
    )


def error_code(response: ApiResponse) -> str:
    [error] = response.json["errors"]
    code: str = error["extensions"]["code"]
    return code


def registered_item(document: str) -> dict[str, Any] | None:
    key = {"pk": {"S": f"DOCUMENT#{sha256_hex(document)}"}, "sk": {"S": "DOCUMENT"}}
    item: dict[str, Any] | None = (
        boto3.client("dynamodb").get_item(TableName="donations-test", Key=key).get("Item")
    )
    return item


def count_calls(aws: EmulatedAccount, operation: str) -> list[str]:
    calls: list[str] = []
    aws.clients.dynamodb.meta.events.register(
        f"before-call.dynamodb.{operation}", lambda **_: calls.append(operation)
    )
    return calls


def test_apollos_protocol_an_unknown_hash_then_the_document_then_the_hash_alone(
    aws: EmulatedAccount,
) -> None:
    unknown = post(by_hash_of=COUNT, variables={"id": "donor-apq"})
    registered = post(COUNT, {"id": "donor-apq"}, by_hash_of=COUNT)
    by_hash = post(by_hash_of=COUNT, variables={"id": "donor-apq"})

    assert unknown.status == 200
    assert unknown.json["data"] is None
    assert unknown.json["errors"][0]["message"] == "PersistedQueryNotFound"
    assert error_code(unknown) == "PERSISTED_QUERY_NOT_FOUND"
    assert registered.json == {"data": {"donationCount": 0}}
    assert by_hash.json == {"data": {"donationCount": 0}}
    item = registered_item(COUNT)
    assert item is not None
    assert item["document"]["S"] == COUNT
    # DynamoDB's TTL removes it a month after its last registration.
    assert abs(int(item["expiresAt"]["N"]) - (time.time() + THIRTY_DAYS)) < 60


def test_an_unknown_hash_is_a_400_request_error_for_graphql_response_clients(
    aws: EmulatedAccount,
) -> None:
    response = post(by_hash_of=COUNT, variables={"id": "d"}, accept=GRAPHQL_RESPONSE)

    assert response.status == 400
    assert "data" not in response.json
    assert error_code(response) == "PERSISTED_QUERY_NOT_FOUND"


def test_queries_run_by_hash_over_get_and_mutations_only_over_post(aws: EmulatedAccount) -> None:
    donation = {
        "input": {"donorId": "donor-apq-get", "amount": "5.00", "idempotencyKey": "key-apq-get-1"}
    }
    post(COUNT, {"id": "donor-apq-get"}, by_hash_of=COUNT)
    first = post(RECORD, donation, by_hash_of=RECORD)

    query = get_by_hash(COUNT, {"id": "donor-apq-get"}, accept="*/*")
    replay = post(by_hash_of=RECORD, variables=donation)
    mutation_over_get = get_by_hash(RECORD, donation, accept="application/json")

    assert query.status == 200
    assert query.json == {"data": {"donationCount": 1}}
    assert first.data["recordDonation"]["replayed"] is False
    assert replay.data["recordDonation"]["replayed"] is True
    assert replay.data["recordDonation"]["donor"]["donationCount"] == 1
    assert mutation_over_get.status == 405
    assert mutation_over_get.headers["allow"] == "POST"


@pytest.mark.parametrize(
    "document",
    [
        "query Broken { donationCount(",
        "query Unknown { noSuchField }",
        "query Aliases($id: ID!) { "
        + " ".join(f"a{n}: donationCount(donorId: $id)" for n in range(16))
        + " }",
    ],
    ids=["parse", "validation", "alias-limit"],
)
def test_a_document_that_fails_parsing_validation_or_a_limit_is_not_registered(
    aws: EmulatedAccount, document: str
) -> None:
    refused = post(document, {"id": "d"}, by_hash_of=document)

    assert refused.json["data"] is None
    assert registered_item(document) is None
    assert error_code(post(by_hash_of=document, variables={"id": "d"})) == (
        "PERSISTED_QUERY_NOT_FOUND"
    )


def test_a_registration_is_shared_by_every_container_and_read_once_per_container(
    aws: EmulatedAccount,
) -> None:
    post(COUNT, {"id": "donor-shared"}, by_hash_of=COUNT)
    aws.compose()  # another container: its own cache, the same table
    reads = count_calls(aws, "GetItem")

    answers = [post(by_hash_of=COUNT, variables={"id": "donor-shared"}) for _ in range(3)]

    assert [answer.json for answer in answers] == [{"data": {"donationCount": 0}}] * 3
    # One read of the registration, plus the count's own read per request.
    assert len(reads) == 1 + 3


def test_a_known_document_with_its_hash_is_not_written_again(aws: EmulatedAccount) -> None:
    post(COUNT, {"id": "d"}, by_hash_of=COUNT)
    writes = count_calls(aws, "PutItem")

    post(COUNT, {"id": "d"}, by_hash_of=COUNT)

    assert writes == []


def test_the_manifest_runs_by_id_with_nothing_registered(aws: EmulatedAccount) -> None:
    trusted = {doc.name: doc for doc in TrustedDocuments.load()}["DonationCount"]
    payload = {
        "variables": {"donorId": "donor-trusted"},
        "extensions": {"persistedQuery": {"version": 1, "sha256Hash": trusted.id}},
    }

    response = invoke(http_api_event(body=json.dumps(payload)))

    assert response.json == {"data": {"donationCount": 0}}


@pytest.fixture
def locked(aws: EmulatedAccount, monkeypatch: pytest.MonkeyPatch) -> EmulatedAccount:
    """A stage deployed with -c trustedDocuments=require."""
    monkeypatch.setenv(ENV_TRUSTED_DOCUMENTS, "require")
    aws.compose()
    return aws


def test_a_stage_that_requires_trusted_documents_refuses_any_other(
    locked: EmulatedAccount,
) -> None:
    hand_written = post(COUNT, {"id": "d"}, accept=GRAPHQL_RESPONSE)
    by_unknown_hash = post(by_hash_of=COUNT, variables={"id": "d"})
    introspection = post("{ __schema { types { name } } }")

    assert hand_written.status == 400
    assert "data" not in hand_written.json
    assert error_code(hand_written) == "TRUSTED_DOCUMENT_REQUIRED"
    assert error_code(by_unknown_hash) == "TRUSTED_DOCUMENT_REQUIRED"
    assert error_code(introspection) == "TRUSTED_DOCUMENT_REQUIRED"
    assert registered_item(COUNT) is None


def test_a_stage_that_requires_trusted_documents_runs_them_by_id_or_exact_text(
    locked: EmulatedAccount,
) -> None:
    record = {doc.name: doc for doc in TrustedDocuments.load()}["RecordDonation"]
    donation = {"input": {"donorId": "donor-locked", "amount": "3.00"}}

    by_text = post(record.body, donation)
    by_id = invoke(
        http_api_event(
            body=json.dumps(
                {
                    "variables": donation,
                    "extensions": {"persistedQuery": {"version": 1, "sha256Hash": record.id}},
                }
            )
        )
    )

    assert by_text.data["recordDonation"]["donor"]["donationCount"] == 1
    assert by_id.data["recordDonation"]["donor"]["donationCount"] == 2


def test_the_lambda_page_loads_graphiql_from_unpkg_with_integrity_and_opens_donation_tabs(
    aws: EmulatedAccount,
) -> None:
    response = invoke(http_api_event("http_api_graphql_get"))

    page = response.body
    assert response.status == 200
    assert response.headers["content-type"].startswith("text/html")
    assert page.count('src="https://unpkg.com/') == 4
    assert page.count('integrity="sha384-') == 6
    for operation in ("mutation RecordDonation", "query DonationCount", "query Donor"):
        assert operation in page
    assert '\\"idempotencyKey\\"' in page
    # Strawberry's page writes every query into the address bar; this one does not.
    assert "history.replaceState" not in page
