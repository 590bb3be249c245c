"""`AUTH=jwt make run` over real HTTP, with real signed tokens: the gateway's refusals (401)
and the function's (FORBIDDEN), as a caller sees them."""

from __future__ import annotations

import time
import uuid

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from donations.constants import READ_SCOPE, WRITE_SCOPE
from local.issuer import DISCOVERY_PATH, JWKS_PATH, LOCAL_AUDIENCE, LocalIssuer
from tests.e2e.conftest import LocalServer

RECORD = """mutation Record($input: RecordDonationInput!) {
  recordDonation(input: $input) { __typename ... on RecordDonationSuccess { donation { id } } }
}"""
COUNT = "query Count($id: ID!) { donationCount(donorId: $id) }"


def record(server: LocalServer, donor: str, headers: dict[str, str]) -> httpx.Response:
    variables = {"input": {"donorId": donor, "amount": "3.00"}}
    return httpx.post(
        server.graphql_url, json={"query": RECORD, "variables": variables}, headers=headers
    )


def count(server: LocalServer, donor: str, headers: dict[str, str]) -> httpx.Response:
    return httpx.post(
        server.graphql_url, json={"query": COUNT, "variables": {"id": donor}}, headers=headers
    )


def codes(response: httpx.Response) -> list[str]:
    return [error["extensions"]["code"] for error in response.json().get("errors", [])]


def refused_tokens(issuer: LocalIssuer) -> dict[str, str]:
    """Tokens API Gateway's JWT authorizer would refuse, one reason each."""
    now = int(time.time())
    impostor = LocalIssuer(
        issuer.url, rsa.generate_private_key(public_exponent=65537, key_size=2048)
    )
    # The impostor's token under the genuine key id: only the signature gives it away.
    _, payload, signature = impostor.mint(scopes=[WRITE_SCOPE]).split(".")
    genuine_header = issuer.mint(scopes=[WRITE_SCOPE]).split(".")[0]
    claims = {"iss": issuer.url, "client_id": LOCAL_AUDIENCE, "scope": WRITE_SCOPE}
    return {
        "forged signature": f"{genuine_header}.{payload}.{signature}",
        "expired": issuer.mint(scopes=[WRITE_SCOPE], issued_at=now - 7200),
        "not valid yet": issuer.mint(scopes=[WRITE_SCOPE], issued_at=now + 600),
        "wrong audience": issuer.mint(scopes=[WRITE_SCOPE], audience="another-app"),
        "wrong issuer": LocalIssuer("https://issuer.example", issuer.private_key).mint(
            scopes=[WRITE_SCOPE]
        ),
        "no expiry": jwt.encode(
            claims, issuer.private_key, algorithm="RS256", headers={"kid": issuer.kid}
        ),
        "not RSA-signed": jwt.encode(
            {**claims, "exp": now + 60},
            "a shared secret that is long enough",
            algorithm="HS256",
            headers={"kid": issuer.kid},
        ),
        "not a JWT": "not-a-jwt",
    }


REASONS = [
    "forged signature",
    "expired",
    "not valid yet",
    "wrong audience",
    "wrong issuer",
    "no expiry",
    "not RSA-signed",
    "not a JWT",
]


def test_no_token_is_refused_by_the_gateway_with_401(protected_server: LocalServer) -> None:
    response = record(protected_server, "e2e-anonymous", {})

    assert response.status_code == 401
    assert response.json() == {"message": "Unauthorized"}
    assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize("reason", REASONS)
def test_an_invalid_token_is_refused_by_the_gateway_with_401(
    protected_server: LocalServer, reason: str
) -> None:
    assert protected_server.issuer is not None
    token = refused_tokens(protected_server.issuer)[reason]

    response = record(protected_server, "e2e-refused", {"authorization": f"Bearer {token}"})

    assert response.status_code == 401, reason
    assert response.json() == {"message": "Unauthorized"}
    assert 'error="invalid_token"' in response.headers["www-authenticate"]


def test_nothing_refused_by_the_gateway_was_recorded(protected_server: LocalServer) -> None:
    assert protected_server.issuer is not None
    for token in refused_tokens(protected_server.issuer).values():
        record(protected_server, "e2e-refused-only", {"authorization": f"Bearer {token}"})

    response = count(protected_server, "e2e-refused-only", protected_server.bearer(READ_SCOPE))

    assert response.json() == {"data": {"donationCount": 0}}


def test_a_writer_records_and_a_donor_reads_only_themself(protected_server: LocalServer) -> None:
    donor = f"e2e-{uuid.uuid4().hex[:10]}"
    writer = protected_server.bearer(WRITE_SCOPE)
    themself = protected_server.bearer(donor=donor)

    recorded = record(protected_server, donor, writer)
    own = count(protected_server, donor, themself)
    other = count(protected_server, "e2e-someone-else", themself)
    writer_reads = count(protected_server, donor, writer)

    assert recorded.json()["data"]["recordDonation"]["__typename"] == "RecordDonationSuccess"
    assert own.json() == {"data": {"donationCount": 1}}
    assert other.status_code == 200
    assert codes(other) == ["FORBIDDEN"]
    assert other.json()["data"] is None
    assert codes(writer_reads) == ["FORBIDDEN"]


def test_a_donor_and_a_reader_may_not_record(protected_server: LocalServer) -> None:
    donor = f"e2e-{uuid.uuid4().hex[:10]}"

    as_donor = record(protected_server, donor, protected_server.bearer(donor=donor))
    as_reader = record(protected_server, donor, protected_server.bearer(READ_SCOPE))

    assert codes(as_donor) == codes(as_reader) == ["FORBIDDEN"]
    response = count(protected_server, donor, protected_server.bearer(READ_SCOPE))
    assert response.json() == {"data": {"donationCount": 0}}


def test_the_token_may_be_sent_without_the_bearer_prefix(protected_server: LocalServer) -> None:
    headers = {"authorization": protected_server.token(READ_SCOPE)}

    assert count(protected_server, "e2e-bare", headers).json() == {"data": {"donationCount": 0}}


def test_graphiql_loads_without_a_token_and_the_issuer_publishes_its_keys(
    protected_server: LocalServer,
) -> None:
    assert protected_server.issuer is not None
    page = httpx.get(protected_server.graphql_url, headers={"accept": "text/html"})
    jwks = httpx.get(f"{protected_server.url}{JWKS_PATH}").json()
    discovery = httpx.get(f"{protected_server.url}{DISCOVERY_PATH}").json()

    assert page.status_code == 200
    assert "graphiql" in page.text.lower()
    assert [key["kid"] for key in jwks["keys"]] == [protected_server.issuer.kid]
    assert discovery["issuer"] == protected_server.url
    assert discovery["jwks_uri"] == f"{protected_server.url}{JWKS_PATH}"


def test_a_query_over_get_needs_a_token_too(protected_server: LocalServer) -> None:
    response = httpx.get(
        protected_server.graphql_url,
        params={"query": '{ donationCount(donorId: "e2e-get") }'},
        headers={"accept": "application/json"},
    )

    assert response.status_code == 401
