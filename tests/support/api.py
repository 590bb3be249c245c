"""Calls the real Lambda API handler the way API Gateway does, and reads its answers."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from local.lambda_context import LocalLambdaContext
from local.lambda_events import graphql_event

RECORD_DONATION = """
mutation Record($input: RecordDonationInput!) {
  recordDonation(input: $input) {
    __typename
    ... on RecordDonationSuccess {
      replayed
      donation { id donorId amount currency donatedAt recordedAt }
      donor { id donationCount totals { amount currency } thankedAt }
    }
    ... on InvalidDonation { message errors { field code message } }
    ... on IdempotencyKeyReused { message idempotencyKey }
  }
}
"""

RECORD_DONATION_LEAN = """
mutation Record($input: RecordDonationInput!) {
  recordDonation(input: $input) { __typename ... on RecordDonationSuccess { donation { id } } }
}
"""

DONATION_COUNT = "query Count($id: ID!) { donationCount(donorId: $id) }"


@dataclass
class ApiResponse:
    status: int
    headers: dict[str, str]
    body: str

    @property
    def json(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.body)
        return parsed

    @property
    def data(self) -> dict[str, Any]:
        data: dict[str, Any] = self.json["data"]
        return data


_handler: list[Callable[[dict[str, Any], Any], dict[str, Any]]] = []


def serve_with(api_handler: Callable[[dict[str, Any], Any], dict[str, Any]]) -> None:
    """Send this module's requests to ``api_handler`` (the ``aws`` fixture's, per test)."""
    _handler[:] = [api_handler]


def invoke(event: dict[str, Any]) -> ApiResponse:
    """Call the API handler the way API Gateway does, with an HTTP API v2 event."""
    response = _handler[0](event, LocalLambdaContext())
    return ApiResponse(response["statusCode"], response.get("headers", {}), response["body"])


def graphql(
    query: str,
    variables: dict[str, Any] | None = None,
    *,
    request_id: str | None = None,
    authorizer: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> ApiResponse:
    """Send a GraphQL request; ``authorizer`` is what the route's authorizer verified."""
    return invoke(
        graphql_event(
            query, variables, request_id=request_id, authorizer=authorizer, headers=headers
        )
    )


def record(donor_id: str, amount: str = "10.00", **fields: Any) -> dict[str, Any]:
    """Record a donation through the handler; returns the recordDonation result."""
    response = graphql(
        RECORD_DONATION, {"input": {"donorId": donor_id, "amount": amount, **fields}}
    )
    assert response.status == 200, response.body
    assert "errors" not in response.json, response.body
    result: dict[str, Any] = response.data["recordDonation"]
    return result


def count(donor_id: str) -> int:
    response = graphql(DONATION_COUNT, {"id": donor_id})
    assert response.status == 200, response.body
    value: int = response.data["donationCount"]
    return value
