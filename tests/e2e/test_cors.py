"""CORS on `make run` as the dev stage's gateway answers it: real preflights over HTTP.

The gateway's side is asserted in tests/infra/test_api.py from the same names
(donations.constants), so a page on http://localhost:3000 behaves the same against both.
"""

from __future__ import annotations

import asyncio

import httpx
import pytest
from starlette.responses import PlainTextResponse

from donations.constants import (
    CORS_ALLOWED_HEADERS,
    CORS_ALLOWED_METHODS,
    ENV_CORS_ORIGINS,
    ENV_STAGE,
)
from local.cors import GatewayCors, cors_origins
from tests.e2e.conftest import LocalServer

FRONT_END = "http://localhost:3000"


def preflight(url: str, headers: str) -> httpx.Response:
    return httpx.options(
        url,
        headers={
            "origin": FRONT_END,
            "access-control-request-method": "POST",
            "access-control-request-headers": headers,
        },
        timeout=10,
    )


@pytest.mark.parametrize("fixture", ["server", "protected_server"])
def test_a_preflight_is_answered_204_with_the_gateways_methods_and_headers(
    request: pytest.FixtureRequest, fixture: str
) -> None:
    # Behind the local JWT authorizer too: preflights carry no token, and never reach it.
    server: LocalServer = request.getfixturevalue(fixture)

    response = preflight(server.graphql_url, headers="content-type, authorization, x-request-id")

    assert response.status_code == 204
    assert response.content == b""
    assert response.headers["access-control-allow-origin"] == "*"
    assert response.headers["access-control-allow-methods"] == ", ".join(CORS_ALLOWED_METHODS)
    allowed = response.headers["access-control-allow-headers"].lower().split(", ")
    assert set(allowed) >= set(CORS_ALLOWED_HEADERS)
    assert response.headers["access-control-max-age"] == "3600"


def test_a_cross_origin_post_may_read_the_answer_and_its_request_id(server: LocalServer) -> None:
    response = httpx.post(
        server.graphql_url,
        json={"query": "{ __typename }"},
        headers={"origin": FRONT_END, "x-request-id": "cors-request-1"},
        timeout=10,
    )

    assert response.json() == {"data": {"__typename": "Query"}}
    assert response.headers["access-control-allow-origin"] == "*"
    assert response.headers["access-control-expose-headers"] == "x-request-id"
    assert response.headers["x-request-id"] == "cors-request-1"


def test_configured_origins_are_the_only_ones_allowed() -> None:
    origins = cors_origins({ENV_CORS_ORIGINS: f"{FRONT_END}, https://donate.example.org"})
    app = GatewayCors(PlainTextResponse("ok"), origins)

    async def preflights() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://local") as client:
            return [
                await client.options(
                    "/graphql", headers={"origin": origin, "access-control-request-method": "POST"}
                )
                for origin in (FRONT_END, "https://elsewhere.example")
            ]

    allowed, refused = asyncio.run(preflights())

    assert allowed.status_code == 204
    assert allowed.headers["access-control-allow-origin"] == FRONT_END
    assert refused.status_code == 400
    assert "access-control-allow-origin" not in refused.headers


def test_any_origin_on_dev_and_none_on_prod_unless_configured() -> None:
    assert cors_origins({}) == ("*",)
    assert cors_origins({ENV_STAGE: "prod"}) == ()
    assert cors_origins({ENV_STAGE: "prod", ENV_CORS_ORIGINS: FRONT_END}) == (FRONT_END,)
