"""Privacy canary: donor data and credentials never reach a log line, whatever the path.

The whole product runs with recognisable data: the Lambda API handler, open and behind a
JWT authorizer (tokens in the Authorization header, claims in the event, refusals of every
kind), the local server (uvicorn, its request log and its local JWT authorizer, with good,
forged and expired tokens), bad input of every kind, injected faults, the thank-you path
through the table stream and SNS, and `make forget`. Every line written by any logger (the
service's Powertools logger, the root logger that libraries use, and anything printed to
stdout or stderr) is captured and searched. Donors may appear only as their keyed hash; no
token, no part of one and no claim value may appear at all.
"""

from __future__ import annotations

import io
import json
import logging
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from donations.constants import ENV_AUTHORIZATION, READ_SCOPE, WRITE_SCOPE
from donations.observability import donor_ref, logger
from local.inbox import ThankYouInbox
from local.issuer import LocalIssuer, issuer_url
from local.lambda_events import http_api_event, jwt_authorizer
from local.stream_pump import StreamPump
from schema.documents import sha256_hex
from tests.support.api import DONATION_COUNT, RECORD_DONATION, graphql, invoke, record
from tests.support.aws import EmulatedAccount

DONOR = "canary-donor-7f3a"
EMAIL = "jane.doe+canary@example.org"
AMOUNT = "4321.98"
KEY = "canary-key-5e1d9c0b"
CLIENT = "canary-client-31c7"  # a backend's subject and client id
ISSUER = "https://canary-issuer-9d2b.example.net"
CLAIM = "canary-claim-value-4b8e"  # any other claim a provider adds
CANARIES = [
    DONOR,
    "canary-donor",
    EMAIL,
    "jane.doe",
    "example.org",
    AMOUNT,
    "432198",
    KEY,
    CLIENT,
    "canary-client",
    "canary-issuer",
    CLAIM,
]

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


def token_canaries(token: str) -> list[str]:
    """The token, each of its parts, and every aligned 12 characters of its claims and
    signature: any 23 characters of either that reach a log contain one of them."""
    _, claims, signature = token.split(".")
    chunks = [
        part[i : i + 12] for part in (claims, signature) for i in range(0, len(part) - 11, 12)
    ]
    return [token, claims, signature, *chunks]


@contextmanager
def local_server(aws: EmulatedAccount, issuer_dir: Path | None = None) -> Iterator[str]:
    """`make run`'s app (with its request log, and given ``issuer_dir`` its local JWT
    authorizer) on a real uvicorn, on 127.0.0.1."""
    import uvicorn

    from local.app import build_asgi_app

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    issuer = None
    if issuer_dir is not None:
        issuer = LocalIssuer.load_or_create(issuer_url("127.0.0.1", port), issuer_dir)
    # As local.server.main() runs it: no access log (it would print query strings).
    config = uvicorn.Config(
        build_asgi_app(aws.services, issuer),
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
    # Persisted queries: unknown hash, registration, a literal donor id (never registered),
    # a "hash" that is an e-mail address.
    literal = f'{{ donationCount(donorId: "{DONOR}") }}'
    for query, sha256 in [
        (None, sha256_hex(DONATION_COUNT)),
        (DONATION_COUNT, sha256_hex(DONATION_COUNT)),
        (literal, sha256_hex(literal)),
        (literal, EMAIL),
    ]:
        persisted = {"persistedQuery": {"version": 1, "sha256Hash": sha256}}
        body = {"query": query, "variables": {"id": DONOR}, "extensions": persisted}
        invoke(http_api_event(body=json.dumps(body)))
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


def exercise_the_protected_lambda_api(aws: EmulatedAccount, tokens: list[str]) -> None:
    """Behind API Gateway's JWT authorizer: the token in the headers, its claims in the event."""
    donation = {"input": {"donorId": DONOR, "amount": AMOUNT, "idempotencyKey": KEY + "-jwt"}}
    callers = [
        (token_claims(CLIENT, f"{WRITE_SCOPE} {READ_SCOPE}"), tokens[0]),
        (token_claims(CLIENT, WRITE_SCOPE), tokens[1]),  # may not read the donor back
        (token_claims(DONOR), tokens[2]),  # a donor: may read themself only
        (token_claims(EMAIL, "openid email"), tokens[3]),  # nobody's donor
    ]
    for claims, token in callers:
        authorizer = jwt_authorizer(claims)
        headers = {"authorization": f"Bearer {token}"}
        graphql(RECORD_DONATION, donation, authorizer=authorizer, headers=headers)
        graphql(DONATION_COUNT, {"id": DONOR}, authorizer=authorizer, headers=headers)
        graphql(DONOR_QUERY, {"id": EMAIL}, authorizer=authorizer, headers=headers)
    graphql(DONATION_COUNT, {"id": DONOR}, headers={"authorization": f"Bearer {tokens[0]}"})


def exercise_the_local_authorizer(url: str, issuer: LocalIssuer, tokens: list[str]) -> None:
    body = {"query": DONATION_COUNT, "variables": {"id": DONOR}}
    with httpx.Client() as client:
        for token in tokens:  # accepted, refused by the policy, or refused by the authorizer
            client.post(url, json=body, headers={"authorization": f"Bearer {token}"})
            client.post(url, json=body, headers={"authorization": token})
        client.post(url, json=body)  # no token at all


def signed_tokens(issuer: LocalIssuer) -> list[str]:
    """Real tokens carrying the canaries: valid ones, a forged one, an expired one."""
    valid = [
        issuer.mint(scopes=[WRITE_SCOPE, READ_SCOPE], donor=CLIENT),
        issuer.mint(scopes=[WRITE_SCOPE], donor=CLIENT),
        issuer.mint(donor=DONOR),
        issuer.mint(donor=EMAIL),
    ]
    impostor = LocalIssuer(
        issuer.url, rsa.generate_private_key(public_exponent=65537, key_size=2048)
    )
    return [
        *valid,
        impostor.mint(scopes=[WRITE_SCOPE], donor=DONOR),
        issuer.mint(donor=DONOR, issued_at=1_700_000_000),  # long expired
        issuer.mint(donor=DONOR, audience=CLAIM),
        LocalIssuer(ISSUER, issuer.private_key).mint(donor=DONOR),
    ]


def token_claims(sub: str, scope: str | None = None) -> dict[str, Any]:
    claims: dict[str, Any] = {
        "sub": sub,
        "iss": ISSUER,
        "client_id": CLIENT,
        "email": EMAIL,
        "custom:tier": CLAIM,
        "exp": 1_900_000_000,
    }
    if scope:
        claims["scope"] = scope
    return claims


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


def test_no_log_line_carries_donor_ids_emails_amounts_tokens_or_claims(
    aws: EmulatedAccount,
    capfd: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    canaries = list(CANARIES)
    with every_log_line(capfd) as lines:
        exercise_the_lambda_api(aws)
        with local_server(aws) as url:
            exercise_the_local_server(url)
        # The same account, as a stage deployed with authorization=jwt
        monkeypatch.setenv(ENV_AUTHORIZATION, "jwt")
        aws.compose()
        with local_server(aws, tmp_path) as url:
            issuer = LocalIssuer.load_or_create(url.removesuffix("/graphql"), tmp_path)
            tokens = signed_tokens(issuer)
            canaries += [part for token in tokens for part in token_canaries(token)]
            exercise_the_protected_lambda_api(aws, tokens)
            exercise_the_local_authorizer(url, issuer, tokens)
        exercise_the_thank_you_path(aws)
        exercise_the_erasure(aws)

    leaking = [line for line in lines if any(canary in line for canary in canaries)]
    assert leaking == [], "\n".join(leaking)
    # Refusals happened, on both sides of the gateway, and were logged without the canaries.
    assert any("access denied" in line for line in lines)
    assert any("request unauthorized" in line for line in lines)
    # The logs were captured, and they name the donor only by its keyed hash.
    assert len(lines) > 50
    assert any(donor_ref(DONOR) in line for line in lines)
    assert any("thank-you sent" in line for line in lines)
    assert any("donor forgotten" in line for line in lines)
    assert any(
        "graphql server error" not in line and "storage unavailable" in line for line in lines
    )
    print(f"\nprivacy canary: {len(lines)} log lines, {len(canaries)} canary strings, 0 found")  # noqa: T201
