"""The schema tier: documents run with ``schema.execute_sync`` over the in-memory store.

As Strawberry tests itself: no Lambda, no HTTP and no AWS, so every rule of the contract
(types, typed results, error codes, masking) is checked in milliseconds. The handler and
moto tiers (tests/integration) check what needs them.
"""

from __future__ import annotations

from typing import Any

import pytest

from donations.domain.errors import StoreUnavailableError
from donations.domain.ledger import DonationLedger
from resolvers.access import Caller
from resolvers.context import RequestContext
from schema import DonationsSchema, build_schema
from tests.support.memory import InMemoryDonationStore

RECORD = """
mutation Record($input: RecordDonationInput!) {
  recordDonation(input: $input) {
    __typename
    ... on RecordDonationSuccess {
      replayed donation { id amount currency } donor { donationCount }
    }
    ... on InvalidDonation { errors { field code } }
    ... on IdempotencyKeyReused { idempotencyKey }
  }
}
"""
DONOR = """
query Donor($id: ID!, $first: Int, $after: String) {
  donor(id: $id) {
    id donationCount totals { amount currency }
    donations(first: $first, after: $after) {
      nodes { amount } pageInfo { hasNextPage endCursor }
    }
  }
}
"""


class Api:
    """One schema over one in-memory ledger, as a container serves it."""

    def __init__(self, schema: DonationsSchema, store: InMemoryDonationStore) -> None:
        self.schema = schema
        self.ledger = DonationLedger(store)

    def run(self, document: str, **variables: Any) -> tuple[Any, list[dict[str, Any]]]:
        result = self.schema.execute_sync(
            document,
            variable_values=variables,
            context_value=RequestContext(
                ledger=self.ledger, request_id="req-schema", caller=Caller.open_stage()
            ),
        )
        errors = [error.formatted for error in result.errors or []]
        return result.data, errors

    def record(self, donor_id: str, amount: str = "10.00", **fields: Any) -> dict[str, Any]:
        data, errors = self.run(RECORD, input={"donorId": donor_id, "amount": amount, **fields})
        assert errors == []
        result: dict[str, Any] = data["recordDonation"]
        return result


SCHEMA = build_schema()


@pytest.fixture
def api() -> Api:
    return Api(SCHEMA, InMemoryDonationStore())


def test_a_second_donation_counts_two_and_totals_both(api: Api) -> None:
    api.record("donor-1", "10.00")

    second = api.record("donor-1", "2.50")

    assert second["donor"] == {"donationCount": 2}
    data, _ = api.run(DONOR, id="donor-1")
    assert data["donor"]["totals"] == [{"amount": "12.50", "currency": "GBP"}]


def test_a_retry_with_the_same_key_returns_the_original_and_counts_once(api: Api) -> None:
    first = api.record("donor-1", idempotencyKey="key-00000001")

    again = api.record("donor-1", idempotencyKey="key-00000001")

    assert again["replayed"] is True
    assert again["donation"]["id"] == first["donation"]["id"]
    assert again["donor"] == {"donationCount": 1}


def test_the_same_key_for_another_donation_is_a_typed_result(api: Api) -> None:
    api.record("donor-1", "5", idempotencyKey="key-00000002")

    reused = api.record("donor-1", "6", idempotencyKey="key-00000002")

    assert reused == {"__typename": "IdempotencyKeyReused", "idempotencyKey": "key-00000002"}


def test_every_broken_rule_is_listed_in_one_typed_result_and_nothing_is_recorded(
    api: Api,
) -> None:
    invalid = api.record("bad id", "1.234", currency="XXX")

    assert invalid["__typename"] == "InvalidDonation"
    assert [(e["field"], e["code"]) for e in invalid["errors"]] == [
        ("donorId", "FORMAT"),
        ("currency", "UNKNOWN_CURRENCY"),
    ]
    data, _ = api.run('{ donationCount(donorId: "bad-id") }')
    assert data == {"donationCount": 0}


def test_a_donor_never_seen_counts_zero_and_is_null(api: Api) -> None:
    data, errors = api.run('{ donationCount(donorId: "nobody") donor(id: "nobody") { id } }')

    assert errors == []
    assert data == {"donationCount": 0, "donor": None}


def test_pages_run_newest_first_and_a_cursor_leads_to_the_next(api: Api) -> None:
    for day in range(1, 4):
        api.record("donor-1", f"{day}.00", donatedAt=f"2026-10-0{day}T09:00:00+00:00")

    first, _ = api.run(DONOR, id="donor-1", first=2)
    after = first["donor"]["donations"]["pageInfo"]["endCursor"]
    second, _ = api.run(DONOR, id="donor-1", first=2, after=after)

    assert [n["amount"] for n in first["donor"]["donations"]["nodes"]] == ["3.00", "2.00"]
    assert [n["amount"] for n in second["donor"]["donations"]["nodes"]] == ["1.00"]
    assert second["donor"]["donations"]["pageInfo"] == {"hasNextPage": False, "endCursor": None}


@pytest.mark.parametrize(
    ("document", "variables", "extensions"),
    [
        (
            '{ donationCount(donorId: "no spaces") }',
            {},
            {"code": "BAD_USER_INPUT", "field": "donorId", "reason": "FORMAT"},
        ),
        (
            DONOR,
            {"id": "donor-1", "first": 0},
            {"code": "BAD_USER_INPUT", "field": "first", "reason": "OUT_OF_RANGE"},
        ),
        (
            DONOR,
            {"id": "donor-1", "after": "nope"},
            {"code": "BAD_USER_INPUT", "field": "after", "reason": "INVALID_CURSOR"},
        ),
        (DONOR, {"id": "donor-1", "first": None}, {"code": "BAD_USER_INPUT"}),
        ("{ donationCount(donorId: ", {}, {"code": "GRAPHQL_PARSE_FAILED"}),
        ('{ donationCont(donorId: "a") }', {}, {"code": "GRAPHQL_VALIDATION_FAILED"}),
        (
            '{ a: donationCount(donorId: "a") '
            + " ".join(f'a{i}: donationCount(donorId: "a")' for i in range(16))
            + " }",
            {},
            {"code": "QUERY_TOO_COMPLEX"},
        ),
    ],
    ids=["donor id", "page size", "cursor", "explicit null", "syntax", "unknown field", "aliases"],
)
def test_a_client_mistake_is_an_error_with_a_code(
    api: Api, document: str, variables: dict[str, Any], extensions: dict[str, str]
) -> None:
    api.record("donor-1")

    _, errors = api.run(document, **variables)

    assert [error["extensions"] for error in errors] == [extensions]


def test_storage_that_stays_busy_is_a_retryable_error(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    def busy(*_: object) -> int:
        raise StoreUnavailableError("ThrottlingException")

    monkeypatch.setattr(api.ledger, "donation_count", busy)

    data, errors = api.run('{ donationCount(donorId: "donor-1") }')

    assert data is None
    assert [error["extensions"] for error in errors] == [
        {"code": "SERVICE_UNAVAILABLE", "retryable": True, "requestId": "req-schema"}
    ]
    assert "Throttling" not in errors[0]["message"]


def test_an_unexpected_fault_is_masked_with_the_request_id(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_: object) -> int:
        raise KeyError("DONOR#donor-1 /var/task/donations/ledger.py")

    monkeypatch.setattr(api.ledger, "donation_count", broken)

    _, errors = api.run('{ donationCount(donorId: "donor-1") }')

    assert errors == [
        {
            "message": "Internal server error. Quote the request id when reporting it.",
            "locations": [{"line": 1, "column": 3}],
            "path": ["donationCount"],
            "extensions": {"code": "INTERNAL_SERVER_ERROR", "requestId": "req-schema"},
        }
    ]
