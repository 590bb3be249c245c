"""Who may do what, through the real handler: HTTP API v2 events carrying what API Gateway's
JWT or IAM authorizer verified, for every role and every root field, on a protected stage."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from donations.constants import ENV_AUTHORIZATION, ENV_DONOR_ID_CLAIM, READ_SCOPE, WRITE_SCOPE
from local.lambda_events import iam_authorizer, jwt_authorizer
from tests.support.api import ApiResponse, graphql
from tests.support.aws import EmulatedAccount

OWN = "donor-own"
GHOST = "donor-never-seen"
NOW = 1_795_327_200

RECORD = """
mutation Record($input: RecordDonationInput!) {
  recordDonation(input: $input) { __typename ... on RecordDonationSuccess { donation { id } } }
}
"""
RECORD_AND_READ = """
mutation Record($input: RecordDonationInput!) {
  recordDonation(input: $input) {
    __typename ... on RecordDonationSuccess { donation { id } donor { donationCount } }
  }
}
"""
COUNT = "query Count($id: ID!) { donationCount(donorId: $id) }"
DONOR = "query Donor($id: ID!) { donor(id: $id) { donationCount donations { nodes { id } } } }"


def token_claims(sub: str, scope: str | None = None, **extra: Any) -> dict[str, Any]:
    """The claims of a Cognito access token, as the authorizer verified them."""
    claims: dict[str, Any] = {
        "sub": sub,
        "iss": "https://cognito-idp.eu-west-2.amazonaws.com/eu-west-2_example",
        "client_id": "donations-client",
        "token_use": "access",
        "iat": NOW,
        "exp": NOW + 3600,
        **extra,
    }
    if scope is not None:
        claims["scope"] = scope
    return claims


ROLES: dict[str, dict[str, Any]] = {
    "writer": jwt_authorizer(token_claims("payment-service", WRITE_SCOPE)),
    "reader": jwt_authorizer(token_claims("back-office", READ_SCOPE)),
    "writer and reader": jwt_authorizer(token_claims("import-job", f"{WRITE_SCOPE} {READ_SCOPE}")),
    "own donor": jwt_authorizer(token_claims(OWN, "openid email")),
    "other donor": jwt_authorizer(token_claims("donor-other", "openid email")),
    "no scope": jwt_authorizer(token_claims("some-client")),
}

# Which root field each role may use, for donor OWN (the rest get FORBIDDEN).
ALLOWED: dict[str, set[str]] = {
    "writer": {"recordDonation"},
    "reader": {"donationCount", "donor"},
    "writer and reader": {"recordDonation", "donationCount", "donor"},
    "own donor": {"donationCount", "donor"},
    "other donor": set(),
    "no scope": set(),
}


@pytest.fixture
def protected(aws: EmulatedAccount, monkeypatch: pytest.MonkeyPatch) -> EmulatedAccount:
    """The account's API as a jwt stage deploys it, with OWN's first donation on record."""
    graphql(RECORD, {"input": {"donorId": OWN, "amount": "5.00"}})  # still open: seed
    monkeypatch.setenv(ENV_AUTHORIZATION, "jwt")
    aws.compose()
    return aws


def table_items() -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = boto3.client("dynamodb").scan(TableName="donations-test")["Items"]
    return items


def call(field: str, authorizer: dict[str, Any] | None, donor_id: str = OWN) -> ApiResponse:
    if field == "recordDonation":
        return graphql(
            RECORD, {"input": {"donorId": donor_id, "amount": "1.00"}}, authorizer=authorizer
        )
    if field == "recordDonation+donor":
        return graphql(
            RECORD_AND_READ,
            {"input": {"donorId": donor_id, "amount": "1.00"}},
            authorizer=authorizer,
        )
    return graphql(
        COUNT if field == "donationCount" else DONOR, {"id": donor_id}, authorizer=authorizer
    )


def error_codes(response: ApiResponse) -> list[str]:
    return [error["extensions"]["code"] for error in response.json.get("errors", [])]


@pytest.mark.usefixtures("protected")
@pytest.mark.parametrize("field", ["recordDonation", "donationCount", "donor"])
@pytest.mark.parametrize("role", list(ROLES))
def test_each_role_may_use_exactly_its_fields(role: str, field: str) -> None:
    # Given a protected stage and a donor on record
    before = table_items()

    # When the role calls the field for that donor
    response = call(field, ROLES[role])

    # Then it is answered if the role may, and refused with FORBIDDEN otherwise
    assert response.status == 200
    if field in ALLOWED[role]:
        assert "FORBIDDEN" not in error_codes(response), response.body
        assert response.data[field] is not None
    else:
        assert error_codes(response) == ["FORBIDDEN"], response.body
        assert (response.json["data"] or {}).get(field) is None
        assert response.json["errors"][0]["path"] == [field]
        assert table_items() == before


@pytest.mark.usefixtures("protected")
def test_a_writer_records_but_sees_no_donor_state_without_the_read_scope() -> None:
    # When a writer without donations/read asks for the donor in the mutation's result
    response = call("recordDonation+donor", ROLES["writer"])

    # Then the donation is recorded, and only the donor's state is withheld
    result = response.data["recordDonation"]
    assert result["__typename"] == "RecordDonationSuccess"
    assert result["donor"] is None
    assert error_codes(response) == ["FORBIDDEN"]
    assert response.json["errors"][0]["path"] == ["recordDonation", "donor"]
    reader = call("donationCount", ROLES["reader"])
    assert reader.data == {"donationCount": 2}


@pytest.mark.usefixtures("protected")
def test_a_writer_who_may_also_read_sees_the_donor_after_recording() -> None:
    response = call("recordDonation+donor", ROLES["writer and reader"])

    assert "errors" not in response.json
    assert response.data["recordDonation"]["donor"] == {"donationCount": 2}


@pytest.mark.usefixtures("protected")
@pytest.mark.parametrize("field", ["donationCount", "donor"])
@pytest.mark.parametrize("role", ["other donor", "no scope"])
def test_a_refusal_is_the_same_whether_or_not_the_donor_exists(role: str, field: str) -> None:
    existing = call(field, ROLES[role], OWN)
    missing = call(field, ROLES[role], GHOST)

    assert existing.json == missing.json
    assert existing.status == missing.status


@pytest.mark.usefixtures("protected")
def test_a_reader_sees_a_donor_never_seen_as_zero_and_null() -> None:
    assert call("donationCount", ROLES["reader"], GHOST).data == {"donationCount": 0}
    assert call("donor", ROLES["reader"], GHOST).data == {"donor": None}


@pytest.mark.usefixtures("protected")
@pytest.mark.parametrize("field", ["recordDonation", "donationCount", "donor"])
def test_an_event_without_a_verified_caller_gets_nothing(field: str) -> None:
    # A route deployed without its authorizer, say: the function fails closed.
    response = call(field, None)

    assert error_codes(response) == ["FORBIDDEN"]


@pytest.mark.usefixtures("protected")
def test_a_token_in_the_headers_alone_grants_nothing() -> None:
    # Only what the gateway verified counts; a header could say anything.
    forged = {"x-amzn-oidc-data": WRITE_SCOPE, "authorization": f"Bearer {WRITE_SCOPE}"}

    response = graphql(
        RECORD, {"input": {"donorId": OWN, "amount": "1.00"}}, headers=forged, authorizer=None
    )

    assert error_codes(response) == ["FORBIDDEN"]


@pytest.mark.usefixtures("protected")
@pytest.mark.parametrize(
    "authorizer",
    [
        # The route names scopes: API Gateway passes them as a list.
        jwt_authorizer(token_claims("payment-service"), scopes=[WRITE_SCOPE]),
        # An array claim reaches the function as "[a b]".
        jwt_authorizer(token_claims("payment-service", scp=[WRITE_SCOPE, "openid"])),
    ],
    ids=["route scopes list", "scp array claim"],
)
def test_scopes_are_read_from_the_route_list_or_the_token_claims(
    authorizer: dict[str, Any],
) -> None:
    response = call("recordDonation", authorizer)

    assert response.data["recordDonation"]["__typename"] == "RecordDonationSuccess"


def test_the_donor_claim_is_configurable(
    aws: EmulatedAccount, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a stage whose donors are named by a custom claim
    monkeypatch.setenv(ENV_AUTHORIZATION, "jwt")
    monkeypatch.setenv(ENV_DONOR_ID_CLAIM, "custom:donor_id")
    aws.compose()
    donor_token = jwt_authorizer(token_claims("user-uuid-1", **{"custom:donor_id": OWN}))
    sub_only = jwt_authorizer(token_claims(OWN))

    # Then that claim, not sub, decides whose data the token may read
    assert call("donationCount", donor_token).data == {"donationCount": 0}
    assert error_codes(call("donationCount", sub_only)) == ["FORBIDDEN"]


@pytest.mark.parametrize("field", ["recordDonation", "donationCount", "donor"])
def test_an_iam_principal_may_use_every_field_and_an_unsigned_call_none(
    aws: EmulatedAccount, monkeypatch: pytest.MonkeyPatch, field: str
) -> None:
    # Given a stage deployed with authorization=iam
    monkeypatch.setenv(ENV_AUTHORIZATION, "iam")
    aws.compose()

    # Then a SigV4 caller the gateway verified may, and a JWT-shaped identity may not
    assert "errors" not in call(field, iam_authorizer()).json
    assert error_codes(call(field, ROLES["writer and reader"])) == ["FORBIDDEN"]


def test_an_open_stage_lets_everyone_in(aws: EmulatedAccount) -> None:
    # dev's default, unchanged: no authorizer, every field answers
    for field in ("recordDonation", "donationCount", "donor"):
        assert "errors" not in call(field, None).json


def test_every_response_says_no_store(aws: EmulatedAccount) -> None:
    response = call("donationCount", None)

    assert response.headers["cache-control"] == "no-store"
