"""The access policy on its own: who the gateway's authorizer context says the caller is."""

from __future__ import annotations

from typing import Any

import pytest

from donations.constants import READ_SCOPE, WRITE_SCOPE
from donations.domain.errors import AccessDeniedError
from donations.settings import Authorization
from local.lambda_events import iam_authorizer, jwt_authorizer
from resolvers.access import Caller, caller_from_event, require_reading, require_recording


def event(authorizer: dict[str, Any] | None) -> dict[str, Any]:
    return {"requestContext": {"requestId": "r-1", "authorizer": authorizer}}


def jwt_caller(claims: dict[str, Any], scopes: list[str] | None = None) -> Caller:
    return caller_from_event(event(jwt_authorizer(claims, scopes)), Authorization.JWT, "sub")


@pytest.mark.parametrize(
    ("claims", "scopes"),
    [
        ({"scope": f"openid {WRITE_SCOPE}"}, None),  # Cognito client credentials
        ({}, [WRITE_SCOPE]),  # scopes named on the route
        ({"scp": [WRITE_SCOPE, "openid"]}, None),  # an array claim, as "[a b]"
        ({"scope": f"[{WRITE_SCOPE}]"}, None),
    ],
)
def test_write_scope_is_found_wherever_the_gateway_puts_it(
    claims: dict[str, Any], scopes: list[str] | None
) -> None:
    assert jwt_caller({"sub": "client-1", **claims}, scopes).may_record()


def test_a_scope_must_match_whole_not_as_a_prefix() -> None:
    caller = jwt_caller({"sub": "c", "scope": "donations/write-not donations/reader"})

    assert not caller.may_record()
    assert not caller.may_read("donor-1")


def test_a_donor_token_reads_only_its_own_donor() -> None:
    caller = jwt_caller({"sub": "donor-42"})

    assert caller.may_read("donor-42")
    assert not caller.may_read("donor-43")
    assert not caller.may_record()


def test_a_token_without_the_donor_claim_is_nobody() -> None:
    caller = caller_from_event(
        event(jwt_authorizer({"sub": "x"})), Authorization.JWT, "custom:donor_id"
    )

    assert caller.donor_id is None
    assert not caller.may_read("")


def test_a_reader_reads_anyone_and_records_nothing() -> None:
    caller = jwt_caller({"sub": "office", "scope": READ_SCOPE})

    assert caller.may_read("donor-1")
    assert not caller.may_record()


@pytest.mark.parametrize(
    ("authorization", "authorizer"),
    [
        (Authorization.JWT, None),
        (Authorization.JWT, iam_authorizer()),
        (Authorization.IAM, None),
        (Authorization.IAM, jwt_authorizer({"sub": "x", "scope": WRITE_SCOPE})),
    ],
)
def test_a_protected_stage_fails_closed_without_the_expected_identity(
    authorization: Authorization, authorizer: dict[str, Any] | None
) -> None:
    caller = caller_from_event(event(authorizer), authorization, "sub")

    assert not caller.may_record()
    assert not caller.may_read("donor-1")


def test_an_open_stage_and_an_iam_principal_are_trusted() -> None:
    assert caller_from_event(None, Authorization.NONE, "sub").trusted
    assert caller_from_event(event(iam_authorizer()), Authorization.IAM, "sub").trusted


def test_a_refusal_names_the_operation_only() -> None:
    with pytest.raises(AccessDeniedError, match=r"^Not allowed to record donations\.$"):
        require_recording(Caller.unverified())
    with pytest.raises(AccessDeniedError, match=r"^Not allowed to read this donor\.$"):
        require_reading(Caller.unverified(), "donor-1")
