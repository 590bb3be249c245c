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
) -> dict[str, Any]:
    """A real HTTP API v2 payload from the samples, with the parts a test varies replaced."""
    event = copy.deepcopy(_load(name))
    if body is not None:
        event["body"] = body
        event["headers"]["content-length"] = str(len(body.encode()))
    event["headers"].update({key.lower(): value for key, value in (headers or {}).items()})
    event["rawQueryString"] = query_string
    if request_id is not None:
        event["requestContext"]["requestId"] = request_id
    return event


def graphql_event(
    query: str,
    variables: dict[str, Any] | None = None,
    *,
    headers: dict[str, str] | None = None,
    request_id: str | None = None,
) -> dict[str, Any]:
    payload: dict[str, Any] = {"query": query}
    if variables is not None:
        payload["variables"] = variables
    return http_api_event(body=json.dumps(payload), headers=headers, request_id=request_id)
