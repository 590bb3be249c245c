"""Loads the API Gateway HTTP API v2 sample events kept as JSON under local/events/."""

from __future__ import annotations

import copy
import functools
import json
from pathlib import Path
from typing import Any

EVENTS = Path(__file__).resolve().parent / "events"


@functools.cache
def _load(name: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((EVENTS / f"{name}.json").read_text())
    return event


def http_api_event(
    name: str = "http_api_graphql_post",
    *,
    body: str | None = None,
    headers: dict[str, str] | None = None,
    query_string: str = "",
    request_id: str | None = None,
    authorizer: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A real HTTP API v2 payload from the samples, with the parts a test varies replaced.

    ``authorizer`` is what the route's authorizer verified (``jwt_authorizer`` or
    ``iam_authorizer``); without it the event is what an open route receives.
    """
    event = copy.deepcopy(_load(name))
    if body is not None:
        event["body"] = body
        event["headers"]["content-length"] = str(len(body.encode()))
    event["headers"].update({key.lower(): value for key, value in (headers or {}).items()})
    event["rawQueryString"] = query_string
    if request_id is not None:
        event["requestContext"]["requestId"] = request_id
    if authorizer is not None:
        event["requestContext"]["authorizer"] = authorizer
    return event


def graphql_event(
    query: str,
    variables: dict[str, Any] | None = None,
    *,
    headers: dict[str, str] | None = None,
    request_id: str | None = None,
    authorizer: dict[str, Any] | None = None,
) -> dict[str, Any]:
    payload: dict[str, Any] = {"query": query}
    if variables is not None:
        payload["variables"] = variables
    return http_api_event(
        body=json.dumps(payload), headers=headers, request_id=request_id, authorizer=authorizer
    )


def jwt_authorizer(claims: dict[str, Any], scopes: list[str] | None = None) -> dict[str, Any]:
    """``requestContext.authorizer`` as API Gateway's JWT authorizer writes it (payload 2.0).

    The gateway passes every claim as a string: numbers and booleans in their JSON spelling,
    arrays as ``[a b c]``. ``scopes`` is null unless the route itself names scopes.
    """
    return {
        "jwt": {
            "claims": {name: _claim_text(value) for name, value in claims.items()},
            "scopes": scopes,
        }
    }


def iam_authorizer(
    user_arn: str = "arn:aws:iam::123456789012:role/payment-service",
    account_id: str = "123456789012",
) -> dict[str, Any]:
    """``requestContext.authorizer`` for a request signed with SigV4 by an IAM principal."""
    return {
        "iam": {
            "accessKey": "ASIAEXAMPLEKEY000000",
            "accountId": account_id,
            "callerId": "AROAEXAMPLEROLEID0000:payment-service",
            "cognitoIdentity": None,
            "principalOrgId": None,
            "userArn": user_arn,
            "userId": "AROAEXAMPLEROLEID0000:payment-service",
        }
    }


def _claim_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return "[" + " ".join(_claim_text(item) for item in value) + "]"
    if isinstance(value, dict):
        pairs = " ".join(f"{key}:{_claim_text(value[key])}" for key in sorted(value))
        return f"map[{pairs}]"
    return str(value)
