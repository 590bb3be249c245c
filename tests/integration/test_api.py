"""The Lambda API handler end to end: real HTTP API v2 events, real boto3 calls, moto."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from local.lambda_events import http_api_event
from tests.support.api import count, graphql, invoke, record

pytestmark = pytest.mark.usefixtures("aws")

DONOR_QUERY = """
query Donor($id: ID!, $first: Int, $after: String) {
  donor(id: $id) {
    id donationCount thankedAt firstDonatedAt lastDonatedAt
    totals { amount currency }
    donations(first: $first, after: $after) {
      nodes { id amount currency donatedAt }
      pageInfo { hasNextPage endCursor }
    }
  }
}
"""


def table_items() -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = boto3.client("dynamodb").scan(TableName="donations-test")["Items"]
    return items


def test_two_donations_for_one_donor_count_two() -> None:
    first = record("donor-1", "10.00")
    second = record("donor-1", "2.50")

    assert first["__typename"] == "RecordDonationSuccess"
    assert second["donor"]["donationCount"] == 2
    assert second["donor"]["totals"] == [{"amount": "12.50", "currency": "GBP"}]
    assert count("donor-1") == 2


def test_unknown_donor_counts_zero_and_is_null() -> None:
    assert count("never-seen") == 0
    assert graphql(DONOR_QUERY, {"id": "never-seen"}).data == {"donor": None}


def test_retry_with_the_same_idempotency_key_counts_once() -> None:
    fields = {"idempotencyKey": "3f1c9a52-retry", "currency": "EUR"}
    original = record("donor-1", "25", **fields)

    replays = [record("donor-1", "25", **fields) for _ in range(3)]

    assert {replay["donation"]["id"] for replay in replays} == {original["donation"]["id"]}
    assert [replay["replayed"] for replay in replays] == [True, True, True]
    assert count("donor-1") == 1


def test_reused_key_with_a_different_payload_is_a_typed_error() -> None:
    record("donor-1", "25", idempotencyKey="3f1c9a52-retry")

    result = record("donor-1", "30", idempotencyKey="3f1c9a52-retry")

    assert result["__typename"] == "IdempotencyKeyReused"
    assert result["idempotencyKey"] == "3f1c9a52-retry"
    assert count("donor-1") == 1


@pytest.mark.parametrize(
    ("fields", "field", "code"),
    [
        ({"donorId": "bad id"}, "donorId", "FORMAT"),
        ({"donorId": "x" * 65}, "donorId", "LENGTH"),
        ({"amount": "0"}, "amount", "NOT_POSITIVE"),
        ({"amount": "-3"}, "amount", "NOT_A_NUMBER"),
        ({"amount": "1000000.01"}, "amount", "TOO_LARGE"),
        ({"amount": "NaN"}, "amount", "NOT_A_NUMBER"),
        ({"amount": "1.234"}, "amount", "TOO_MANY_DECIMALS"),
        ({"amount": "100.5", "currency": "JPY"}, "amount", "TOO_MANY_DECIMALS"),
        ({"currency": "ABC"}, "currency", "UNKNOWN_CURRENCY"),
        ({"donatedAt": "2999-01-01T00:00:00Z"}, "donatedAt", "IN_THE_FUTURE"),
        ({"donatedAt": "1990-01-01T00:00:00Z"}, "donatedAt", "TOO_EARLY"),
        ({"donatedAt": "2026-01-01T00:00:00"}, "donatedAt", "NO_TIME_ZONE"),
        ({"idempotencyKey": "short"}, "idempotencyKey", "FORMAT"),
    ],
)
def test_each_validation_rule_is_a_precise_client_error_and_writes_nothing(
    fields: dict[str, str], field: str, code: str
) -> None:
    response = graphql(
        "mutation($input: RecordDonationInput!) { recordDonation(input: $input) {"
        " ... on InvalidDonation { errors { field code message } } } }",
        {"input": {"donorId": "donor-1", "amount": "10", **fields}},
    )

    assert response.status == 200
    errors = response.data["recordDonation"]["errors"]
    assert [(error["field"], error["code"]) for error in errors] == [(field, code)]
    assert errors[0]["message"]
    assert table_items() == []


@pytest.mark.parametrize("amount", ["ten pounds", "", "1e"], ids=repr)
def test_a_string_amount_that_is_not_a_number_is_a_typed_refusal(amount: str) -> None:
    response = graphql(
        "mutation($input: RecordDonationInput!) { recordDonation(input: $input) {"
        " ... on InvalidDonation { errors { field code } } } }",
        {"input": {"donorId": "donor-1", "amount": amount}},
    )

    assert response.data["recordDonation"]["errors"] == [
        {"field": "amount", "code": "NOT_A_NUMBER"}
    ]
    assert table_items() == []


@pytest.mark.parametrize("amount", [True, None, {"pence": 5}, ["5"]], ids=repr)
def test_amount_that_is_neither_a_string_nor_a_number_is_a_graphql_client_error(
    amount: object,
) -> None:
    response = graphql(
        "mutation($input: RecordDonationInput!) { recordDonation(input: $input) { __typename } }",
        {"input": {"donorId": "donor-1", "amount": amount}},
    )

    assert response.status == 200
    assert response.json["data"] is None
    assert "amount" in response.json["errors"][0]["message"]
    assert table_items() == []


def test_json_number_amounts_are_read_as_written() -> None:
    result = graphql(
        'mutation { recordDonation(input: {donorId: "donor-1", amount: 19.99}) {'
        " ... on RecordDonationSuccess { donation { amount } } } }"
    )

    assert result.data["recordDonation"]["donation"]["amount"] == "19.99"


def test_donor_query_reads_count_totals_times_and_pages_newest_first() -> None:
    for day in range(1, 6):
        record("donor-1", f"{day}.00", donatedAt=f"2026-10-0{day}T09:00:00+00:00")

    pages, after = [], None
    while True:
        donor = graphql(DONOR_QUERY, {"id": "donor-1", "first": 2, "after": after}).data["donor"]
        pages.append([node["amount"] for node in donor["donations"]["nodes"]])
        after = donor["donations"]["pageInfo"]["endCursor"]
        if not donor["donations"]["pageInfo"]["hasNextPage"]:
            break

    assert pages == [["5.00", "4.00"], ["3.00", "2.00"], ["1.00"]]
    assert donor["donationCount"] == 5
    assert donor["totals"] == [{"amount": "15.00", "currency": "GBP"}]
    assert donor["firstDonatedAt"] == "2026-10-01T09:00:00+00:00"
    assert donor["lastDonatedAt"] == "2026-10-05T09:00:00+00:00"
    assert donor["thankedAt"] is None


def test_a_donor_whose_page_holds_every_donation_reads_its_times_from_that_page() -> None:
    # Idempotency markers live under their own key, never among the donor's items.
    for day in (3, 1, 2):
        record(
            "donor-1",
            f"{day}.00",
            donatedAt=f"2026-10-0{day}T09:00:00+00:00",
            idempotencyKey=f"key-day-{day}",
        )

    donor = graphql(DONOR_QUERY, {"id": "donor-1", "first": 10}).data["donor"]

    assert [node["amount"] for node in donor["donations"]["nodes"]] == ["3.00", "2.00", "1.00"]
    assert donor["donations"]["pageInfo"] == {"hasNextPage": False, "endCursor": None}
    assert (donor["firstDonatedAt"], donor["lastDonatedAt"]) == (
        "2026-10-01T09:00:00+00:00",
        "2026-10-03T09:00:00+00:00",
    )
    assert donor["donationCount"] == 3


@pytest.mark.parametrize(
    ("variables", "field"),
    [({"first": 0}, "first"), ({"first": 500}, "first"), ({"after": "not-a-cursor"}, "after")],
)
def test_bad_page_arguments_are_client_errors(variables: dict[str, Any], field: str) -> None:
    record("donor-1")

    response = graphql(DONOR_QUERY, {"id": "donor-1", **variables})

    assert response.status == 200
    assert response.json["errors"][0]["extensions"] == {
        "code": "BAD_USER_INPUT",
        "field": field,
        "reason": "OUT_OF_RANGE" if field == "first" else "INVALID_CURSOR",
    }


def test_bad_donor_id_in_a_query_is_a_client_error() -> None:
    response = graphql('{ donationCount(donorId: "no spaces please") }')

    assert response.json["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert response.json["errors"][0]["extensions"]["field"] == "donorId"


def test_get_serves_graphiql() -> None:
    response = invoke(http_api_event("http_api_graphql_get"))

    assert response.status == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "graphiql" in response.body.lower()


def test_mutation_over_get_is_refused_and_writes_nothing() -> None:
    query = 'mutation{recordDonation(input:{donorId:"donor-1",amount:"1"}){__typename}}'
    event = http_api_event(
        "http_api_graphql_get",
        headers={"accept": "application/json"},
        query_string=f"query={query}",
    )
    event["queryStringParameters"] = {"query": query}

    response = invoke(event)

    assert response.status >= 400
    assert table_items() == []


def test_totals_beyond_32_bits_of_minor_units_are_read_back_exactly() -> None:
    for _ in range(3):
        record("big-giver", "999999.999", currency="KWD")

    donor = graphql(DONOR_QUERY, {"id": "big-giver"}).data["donor"]

    assert donor["totals"] == [{"amount": "2999999.997", "currency": "KWD"}]
