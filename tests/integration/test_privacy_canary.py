"""Privacy canary: donor data never reaches a log line, whatever path the request takes.

The whole product runs with recognisable data: the Lambda API handler, the local server
(uvicorn and its request log), bad input of every kind, injected faults, the thank-you
path through the table stream and SNS, and `make forget`. Every line written by any logger
(the service's Powertools logger, the root logger that libraries use, and anything printed
to stdout or stderr) is captured and searched. Donors may appear only as their keyed hash.
"""

from __future__ import annotations

import io
import json
import logging
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

from donations.observability import donor_ref, logger
from local.inbox import ThankYouInbox
from local.lambda_events import http_api_event
from local.stream_pump import StreamPump
from tests.support.api import DONATION_COUNT, RECORD_DONATION, graphql, invoke, record
from tests.support.aws import EmulatedAccount

DONOR = "canary-donor-7f3a"
EMAIL = "jane.doe+canary@example.org"
AMOUNT = "4321.98"
KEY = "canary-key-5e1d9c0b"
CANARIES = [DONOR, "canary-donor", EMAIL, "jane.doe", "example.org", AMOUNT, "432198", KEY]

DONOR_QUERY = """
query Donor($id: ID!, $after: String) {
  donor(id: $id) { id donationCount totals { amount } donations(first: 5, after: $after) {
    nodes { id amount donorId } pageInfo { endCursor } } }
}
"""


@contextmanager
def every_log_line(capfd: pytest.CaptureFixture[str]) -> Iterator[list[str]]:
    """Everything logged or printed inside the block, one entry per line."""
    service_stream, library_stream = io.StringIO(), io.StringIO()
    service_handler = logger.registered_handler
    original_stream = service_handler.setStream(service_stream)
    library_handler = logging.StreamHandler(library_stream)
    library_handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    root_level = root.level
    root.addHandler(library_handler)
    root.setLevel(logging.INFO)  # stricter than Lambda's default of WARNING for libraries
    # The test's own HTTP client is not the product: its request log would name the URL.
    httpx_log = logging.getLogger("httpx")
    httpx_level = httpx_log.level
    httpx_log.setLevel(logging.WARNING)
    lines: list[str] = []
    try:
        yield lines
    finally:
        root.removeHandler(library_handler)
        root.setLevel(root_level)
        httpx_log.setLevel(httpx_level)
        if original_stream is not None:
            service_handler.setStream(original_stream)
        printed = capfd.readouterr()
        for text in (service_stream.getvalue(), library_stream.getvalue(), *printed):
            lines += text.splitlines()


@contextmanager
def local_server(aws: EmulatedAccount) -> Iterator[str]:
    """`make run`'s app (with its request log) on a real uvicorn, on 127.0.0.1."""
    import uvicorn

    from local.app import build_asgi_app

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # As local.server.main() runs it: no access log (it would print query strings).
    config = uvicorn.Config(
        build_asgi_app(aws.services),
        host="127.0.0.1",
        port=port,
        log_config=None,
        access_log=False,
        lifespan="off",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        while not server.started:
            assert thread.is_alive(), "uvicorn did not start"
            threading.Event().wait(0.02)
        yield f"http://127.0.0.1:{port}/graphql"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@contextmanager
def dynamodb_fault(aws: EmulatedAccount, code: str) -> Iterator[None]:
    """Every TransactWriteItems answers with `code`, after botocore's own retries."""

    def fail(**_: Any) -> tuple[Any, dict[str, Any]]:
        return SimpleNamespace(status_code=400, headers={}), {
            "Error": {"Code": code, "Message": f"{code} injected"},
            "ResponseMetadata": {},
        }

    events = aws.clients.dynamodb.meta.events
    events.register_first("before-call.dynamodb.TransactWriteItems", fail)
    try:
        yield
    finally:
        events.unregister("before-call.dynamodb.TransactWriteItems", fail)


def exercise_the_lambda_api(aws: EmulatedAccount) -> None:
    record(DONOR, AMOUNT, idempotencyKey=KEY)
    record(DONOR, AMOUNT, idempotencyKey=KEY)  # a replay
    record(DONOR, "1.00", idempotencyKey=KEY)  # the key reused for another payload
    record(EMAIL, AMOUNT)  # an e-mail address is not a donor id
    record(DONOR, AMOUNT + "7")  # too many decimals
    record(DONOR, AMOUNT, idempotencyKey=EMAIL)
    record(DONOR, AMOUNT, donatedAt="2099-01-01T00:00:00Z")
    graphql(DONATION_COUNT, {"id": DONOR})
    graphql(DONATION_COUNT, {"id": EMAIL})
    graphql(DONOR_QUERY, {"id": DONOR})
    graphql(DONOR_QUERY, {"id": DONOR, "after": f"{DONOR}/{EMAIL}"})
    graphql(f'{{ donor(id: "{DONOR}") {{ id nope }} }}')  # validation error
    graphql(f'{{ donationCount(donorId: "{EMAIL}" }}')  # syntax error
    graphql(DONATION_COUNT, {"id": {"email": EMAIL, "amount": AMOUNT}})  # variable error
    graphql(RECORD_DONATION, {"input": {"donorId": DONOR, "amount": {"gbp": AMOUNT}}})
    aliased = (
        f'a{i}: recordDonation(input: {{donorId: "{DONOR}", amount: "{AMOUNT}"}}) {{ __typename }}'
        for i in range(16)
    )
    graphql(f"mutation {{ {' '.join(aliased)} }}")  # over the alias limit
    invoke(http_api_event(body=json.dumps({"query": DONOR, "pad": EMAIL * 5000})))  # 413
    invoke(http_api_event(body=f"{DONOR} {EMAIL}", headers={"content-type": "text/plain"}))
    invoke(http_api_event(body=f'{{"query": "{DONOR}", "variables": "{EMAIL}"}}'))
    invoke(http_api_event(body=json.dumps([{"query": DONOR}])))  # batched
    get = http_api_event("http_api_graphql_get", headers={"accept": "application/json"})
    get["rawQueryString"] = (
        f'query=mutation{{recordDonation(input:{{donorId:"{DONOR}",amount:"{AMOUNT}"}}){{__typename}}}}'
    )
    invoke(get)
    with dynamodb_fault(aws, "ThrottlingException"):
        donation = {"donorId": DONOR, "amount": AMOUNT, "idempotencyKey": KEY + "-throttled"}
        graphql(RECORD_DONATION, {"input": donation})
    with dynamodb_fault(aws, "TransactionCanceledException"):
        graphql(RECORD_DONATION, {"input": {"donorId": DONOR, "amount": AMOUNT}})


def exercise_the_local_server(url: str) -> None:
    with httpx.Client(headers={"x-request-id": "req-local-1"}) as client:
        body = {
            "query": RECORD_DONATION,
            "variables": {"input": {"donorId": DONOR, "amount": AMOUNT}},
        }
        assert client.post(url, json=body).status_code == 200
        client.get(url, params={"query": f'{{ donationCount(donorId: "{DONOR}") }}'})
        client.post(url, content=f"{{{EMAIL}", headers={"content-type": "application/json"})
        client.put(url, json={"query": DONOR})


def exercise_the_thank_you_path(aws: EmulatedAccount) -> None:
    sns = aws.clients.sns
    assert sns is not None
    outage = {"left": 2}

    def refuse_twice(**_: Any) -> tuple[Any, dict[str, Any]] | None:
        if outage["left"] == 0:
            return None
        outage["left"] -= 1
        return SimpleNamespace(status_code=500, headers={}), {
            "Error": {"Code": "InternalError", "Message": "SNS unavailable"},
            "ResponseMetadata": {},
        }

    sns.meta.events.register_first("before-call.sns.Publish", refuse_twice)
    StreamPump(aws.stream_arn, aws.thank_you_handler, retry_delay=0).drain()
    inbox = ThankYouInbox(aws.queue_url)
    while inbox.collect():
        pass
    assert len(inbox.received) == 1  # the canary donor crossed the threshold once


def exercise_the_erasure(aws: EmulatedAccount) -> None:
    from scripts.forget import main as forget

    assert forget([DONOR]) == 0
    assert forget([DONOR]) == 0  # nothing left to find
    assert forget([EMAIL]) == 2  # not a donor id
    StreamPump(aws.stream_arn, aws.thank_you_handler, retry_delay=0).drain()  # the removals


def test_no_log_line_carries_donor_ids_emails_or_amounts(
    aws: EmulatedAccount, capfd: pytest.CaptureFixture[str]
) -> None:
    with every_log_line(capfd) as lines:
        exercise_the_lambda_api(aws)
        with local_server(aws) as url:
            exercise_the_local_server(url)
        exercise_the_thank_you_path(aws)
        exercise_the_erasure(aws)

    leaking = [line for line in lines if any(canary in line for canary in CANARIES)]
    assert leaking == [], "\n".join(leaking)
    # The logs were captured, and they name the donor only by its keyed hash.
    assert len(lines) > 50
    assert any(donor_ref(DONOR) in line for line in lines)
    assert any("thank-you sent" in line for line in lines)
    assert any("donor forgotten" in line for line in lines)
    assert any(
        "graphql server error" not in line and "storage unavailable" in line for line in lines
    )
    print(f"\nprivacy canary: {len(lines)} log lines, {len(CANARIES)} canary strings, 0 found")  # noqa: T201
