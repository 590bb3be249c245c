"""The second round of hostile input (issue 11), each finding through the Lambda handler and
through `make run`'s server alike: a precise 4xx or a coded GraphQL error, nothing written."""

from __future__ import annotations

import base64
import json
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import boto3
import httpx
import pytest

from local.lambda_events import http_api_event
from tests.support.api import RECORD_DONATION_LEAN, invoke
from tests.support.aws import EmulatedAccount

DONATION = {"input": {"donorId": "donor-hostile", "amount": "5.00"}}
MUTATION_BODY = json.dumps({"query": RECORD_DONATION_LEAN, "variables": DONATION})
GATEWAY_REQUEST_ID = "Ab1CdEfGhIjKlMn="  # requestContext.requestId of the sample POST event


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: dict[str, Any]

    @property
    def codes(self) -> list[str]:
        return [error["extensions"]["code"] for error in self.body.get("errors", [])]


Send = Callable[..., Reply]


def through_lambda(
    body: bytes = b"", *, path: str = "/graphql", method: str = "POST", **headers: str
) -> Reply:
    """As API Gateway delivers it: the body base64-encoded, as it does for any binary body."""
    event = http_api_event(headers={"content-type": "application/json", **headers})
    event["rawPath"] = event["requestContext"]["http"]["path"] = path
    event["requestContext"]["http"]["method"] = method
    event["routeKey"] = event["requestContext"]["routeKey"] = "$default"
    event["headers"]["content-length"] = str(len(body))
    event["body"] = base64.b64encode(body).decode()
    event["isBase64Encoded"] = True
    response = invoke(event)
    return Reply(response.status, response.headers, response.json)


@pytest.fixture(params=["lambda", "make run"])
def send(request: pytest.FixtureRequest) -> Send:
    """Sends one request through the Lambda handler or through `make run`'s uvicorn server."""
    if request.param == "lambda":
        request.getfixturevalue("aws")
        return through_lambda
    base_url = request.getfixturevalue("local_url").removesuffix("/graphql")

    def through_uvicorn(
        body: bytes = b"", *, path: str = "/graphql", method: str = "POST", **headers: str
    ) -> Reply:
        raw = {name: value.encode() for name, value in headers.items()}  # UTF-8, as sent
        raw.setdefault("content-type", b"application/json")
        response = httpx.request(method, base_url + path, content=body, headers=raw)
        return Reply(response.status_code, dict(response.headers), response.json())

    return through_uvicorn


def table_items() -> int:
    return len(boto3.client("dynamodb").scan(TableName="donations-test")["Items"])


# --- 1. bodies that are not UTF-8 ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"query": "\xff\xfe"}', "The request body is not valid UTF-8."),
        (MUTATION_BODY.encode("utf-16"), "The request body is not valid UTF-8."),
        (MUTATION_BODY.encode("utf-16-le"), "Unable to parse request body as JSON"),
        (MUTATION_BODY.encode("utf-32"), "The request body is not valid UTF-8."),
        (MUTATION_BODY.encode("utf-8-sig"), "Send the request body without a byte order mark."),
        (MUTATION_BODY.encode("latin-1") + b"\xe9", "The request body is not valid UTF-8."),
    ],
    ids=["invalid-utf8", "utf16-bom", "utf16-no-bom", "utf32", "utf8-bom", "latin1"],
)
def test_a_body_that_is_not_utf8_is_400_and_writes_nothing(
    send: Send, body: bytes, message: str
) -> None:
    reply = send(body)

    assert reply.status == 400
    assert reply.codes == ["BAD_REQUEST"]
    assert reply.body["errors"][0]["message"] == message
    assert table_items() == 0


# --- 6. paths, request ids, Accept ---------------------------------------------------------------


@pytest.mark.parametrize("path", ["/", "/donor-42", "/graphql/", "/GRAPHQL", "/graphql/x"])
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_only_the_graphql_path_is_served(send: Send, path: str, method: str) -> None:
    reply = send(MUTATION_BODY.encode(), path=path, method=method, accept="text/html")

    assert reply.status == 404
    assert reply.headers["content-type"].startswith("application/json")
    assert reply.codes == ["NOT_FOUND"]
    assert table_items() == 0


@pytest.mark.parametrize(
    "caller_id",
    ["x" * 200, "", "tab\there", "naïve", "ok-id-1"],
    ids=["long", "empty", "tab", "non-ascii", "usable"],
)
def test_the_response_header_and_the_error_carry_the_same_request_id(
    send: Send, caller_id: str
) -> None:
    reply = send(b"{", **{"x-request-id": caller_id})

    header = reply.headers["x-request-id"]
    assert reply.body["errors"][0]["extensions"]["requestId"] == header
    if send is through_lambda:
        assert header == GATEWAY_REQUEST_ID  # API Gateway's id wins under Lambda
    elif caller_id == "ok-id-1":
        assert header == caller_id
    else:
        assert header != caller_id


@pytest.mark.parametrize(
    "accept",
    [
        "application/json;q=-1, */*;q=0",
        "application/json;q=2",
        "application/json;q=nan",
        "application/json;q=1e0",
        "application/json;q=0.0001",
        "application/graphql-response+json;q=-0.5, application/json;q=0",
    ],
)
def test_an_accept_header_with_an_invalid_weight_is_406(send: Send, accept: str) -> None:
    reply = send(MUTATION_BODY.encode(), accept=accept)

    assert reply.status == 406
    assert reply.codes == ["NOT_ACCEPTABLE"]
    assert table_items() == 0


def test_a_weight_with_three_decimals_is_honoured(send: Send) -> None:
    reply = send(
        b'{"query": "{ __typename }"}',
        accept="application/json;q=0.5, application/graphql-response+json;q=0.501",
    )

    assert reply.status == 200
    assert reply.headers["content-type"] == "application/graphql-response+json"


# --- 6. make run: the request log and slow clients -----------------------------------------------


def test_the_request_log_names_the_route_never_the_path(
    local_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    base_url = local_url.removesuffix("/graphql")

    httpx.get(f"{base_url}/donor-secret-42?token=abc")
    httpx.post(local_url, json={"query": "{ __typename }"})

    lines = [record.__dict__ for record in caplog.records if record.getMessage() == "http request"]
    assert [(line["route"], line["status"]) for line in lines] == [
        ("unmatched", 404),
        ("/graphql", 200),
    ]
    assert "donor-secret" not in caplog.text
    assert all("path" not in line for line in lines)


def closed_within(connection: socket.socket, seconds: float) -> bool:
    """Whether the server closes the connection (recv gives b"") within `seconds`."""
    connection.settimeout(seconds)
    try:
        while connection.recv(4096):
            pass
    except TimeoutError:
        return False
    return True


@pytest.fixture
def short_deadlines(monkeypatch: pytest.MonkeyPatch) -> None:
    """The same deadlines, shortened so the tests don't wait five seconds each."""
    monkeypatch.setattr("local.server.HEADERS_TIMEOUT", 0.5)
    monkeypatch.setattr("local.server.BODY_TIMEOUT", 0.5)


def connect(local_url: str) -> socket.socket:
    host, port = local_url.removeprefix("http://").removesuffix("/graphql").split(":")
    return socket.create_connection((host, int(port)))


@pytest.mark.usefixtures("short_deadlines")
def test_make_run_closes_a_connection_that_sends_nothing(local_url: str) -> None:
    with connect(local_url) as connection:
        assert closed_within(connection, 5)


@pytest.mark.usefixtures("short_deadlines")
def test_make_run_closes_a_connection_whose_headers_never_finish(local_url: str) -> None:
    with connect(local_url) as connection:
        connection.sendall(b"POST /graphql HTTP/1.1\r\nHost: localhost\r\nX-Slow: ")
        time.sleep(0.2)
        connection.sendall(b"still typing")

        assert closed_within(connection, 5)


@pytest.mark.usefixtures("short_deadlines")
def test_make_run_closes_a_connection_whose_body_never_finishes_and_executes_nothing(
    local_url: str,
) -> None:
    body = MUTATION_BODY.encode()
    head = (
        f"POST /graphql HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body) + 10}\r\n\r\n"
    )
    with connect(local_url) as connection:
        # The whole mutation arrives, but not the ten bytes the request promised.
        connection.sendall(head.encode() + body)

        assert closed_within(connection, 5)
    assert table_items() == 0


@pytest.mark.usefixtures("short_deadlines")
def test_make_run_keeps_serving_requests_on_a_kept_alive_connection(local_url: str) -> None:
    with httpx.Client() as client:
        first = client.post(local_url, json={"query": "{ __typename }"})
        time.sleep(0.8)  # longer than the deadlines: they time a request arriving, not idling
        second = client.post(local_url, json={"query": "{ __typename }"})

    assert first.status_code == second.status_code == 200


def test_the_lambda_handler_reads_the_gateway_request_id_for_a_404(aws: EmulatedAccount) -> None:
    reply = through_lambda(b"", path="/anything", method="GET")

    assert reply.status == 404
    assert reply.headers["x-request-id"] == GATEWAY_REQUEST_ID
    assert reply.body["errors"][0]["extensions"]["requestId"] == GATEWAY_REQUEST_ID
