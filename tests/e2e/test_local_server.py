"""The `make run` server over real HTTP on 127.0.0.1, with a real GraphQL client."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from gql import Client, GraphQLRequest, gql
from gql.transport.httpx import HTTPXTransport

from donations.constants import READ_SCOPE, WRITE_SCOPE
from tests.e2e.conftest import LocalServer
from tests.support.api import RECORD_DONATION_LEAN

RECORD = gql(
    """
    mutation Record($input: RecordDonationInput!) {
      recordDonation(input: $input) {
        __typename
        ... on RecordDonationSuccess { replayed donation { id amount } donor { donationCount } }
        ... on InvalidDonation { errors { field code } }
      }
    }
    """
)
COUNT = gql("query Count($id: ID!) { donationCount(donorId: $id) }")


@pytest.fixture(params=["open", "jwt"])
def any_server(request: pytest.FixtureRequest) -> LocalServer:
    """`make run` as it starts, and `AUTH=jwt make run`: the product behaves the same."""
    fixture = "server" if request.param == "open" else "protected_server"
    server: LocalServer = request.getfixturevalue(fixture)
    return server


@pytest.fixture
def client(any_server: LocalServer) -> Iterator[Client]:
    # Behind the authorizer, as a backend that records and reads.
    headers = any_server.bearer(f"{WRITE_SCOPE} {READ_SCOPE}") if any_server.issuer else None
    transport = HTTPXTransport(url=any_server.graphql_url, timeout=10, headers=headers)
    with Client(transport=transport, fetch_schema_from_transport=True) as session:
        yield session  # type: ignore[misc]


def donate(client: Any, donor_id: str, **fields: Any) -> dict[str, Any]:
    variables = {"input": {"donorId": donor_id, "amount": "7.50", **fields}}
    result: dict[str, Any] = client.execute(GraphQLRequest(RECORD, variable_values=variables))
    return result["recordDonation"]


def thank_yous_for(server: LocalServer, donor_id: str) -> list[dict[str, Any]]:
    return [
        line
        for line in server.log_lines()
        if line.get("message") == "thank-you sent"
        and line.get("donor_ref") == server.donor_ref(donor_id)
    ]


def test_two_donations_count_two_and_a_retry_counts_nothing(client: Any) -> None:
    donor = f"http-{uuid.uuid4().hex[:12]}"

    donate(client, donor, idempotencyKey=f"{donor}-a")
    again = donate(client, donor, idempotencyKey=f"{donor}-a")
    donate(client, donor)

    assert again["replayed"] is True
    count = client.execute(GraphQLRequest(COUNT, variable_values={"id": donor}))
    assert count == {"donationCount": 2}


def test_bad_input_is_a_typed_client_error(client: Any) -> None:
    result = donate(client, "http-bad", amount="0.001")

    assert result == {
        "__typename": "InvalidDonation",
        "errors": [{"field": "amount", "code": "TOO_MANY_DECIMALS"}],
    }


def test_second_donation_logs_one_thank_you_and_the_third_none(
    client: Any, any_server: LocalServer
) -> None:
    server = any_server
    donor = f"http-{uuid.uuid4().hex[:12]}"

    donate(client, donor)
    donate(client, donor)
    deadline = time.monotonic() + 10
    while not thank_yous_for(server, donor) and time.monotonic() < deadline:
        time.sleep(0.1)
    donate(client, donor)
    time.sleep(1)  # five stream polls: long enough for a wrong second thank-you to show

    sent = thank_yous_for(server, donor)
    assert len(sent) == 1, server.log_path.read_text()[-4000:]
    assert sent[0]["milestone"] == 2
    assert sent[0]["sns_message_id"]
    delivered = [
        line
        for line in server.log_lines()
        if line.get("message") == "thank-you delivered to subscriber"
        and line.get("sns_message_id") == sent[0]["sns_message_id"]
    ]
    assert delivered


def test_every_log_line_is_json_with_a_correlation_id(server: LocalServer) -> None:
    response = httpx.post(
        server.graphql_url,
        json={"query": '{ donationCount(donorId: "corr-check") }'},
        headers={"x-request-id": "trace-me-123"},
    )

    assert response.headers["x-request-id"] == "trace-me-123"
    # The request's log line is written just after the response has gone out.
    deadline = time.monotonic() + 10
    while True:
        lines = [
            line for line in server.log_lines() if line.get("correlation_id") == "trace-me-123"
        ]
        if lines or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert lines
    assert all("level" in line and "timestamp" in line for line in lines)


def test_http_lines_carry_no_fields_of_the_stream_consumers_invocations(
    server: LocalServer,
) -> None:
    # Given the stream pump has run the thank-you handler, whose Powertools decorator adds
    # the invocation's fields to the process-wide log keys
    donor = f"http-{uuid.uuid4().hex[:12]}"
    for _ in range(2):
        httpx.post(
            server.graphql_url,
            json={
                "query": RECORD_DONATION_LEAN,
                "variables": {"input": {"donorId": donor, "amount": "7.50"}},
            },
        )
    deadline = time.monotonic() + 10
    while not thank_yous_for(server, donor):
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert "function_request_id" in thank_yous_for(server, donor)[0]

    # When an HTTP request is served afterwards
    request_id = f"after-pump-{uuid.uuid4().hex[:8]}"
    httpx.post(
        server.graphql_url,
        json={"query": '{ donationCount(donorId: "after-pump") }'},
        headers={"x-request-id": request_id},
    )

    # Then its lines carry the request's fields only
    deadline = time.monotonic() + 10
    while not (lines := [x for x in server.log_lines() if x.get("correlation_id") == request_id]):
        assert time.monotonic() < deadline
        time.sleep(0.1)
    for line in lines:
        assert not {"function_request_id", "function_arn", "cold_start", "function_name"} & set(
            line
        )
    [request_line] = [line for line in lines if line["message"] == "http request"]
    assert request_line["route"] == "/graphql"
    assert "path" not in request_line
