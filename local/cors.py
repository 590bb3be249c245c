"""CORS for `make run`, answered as the dev stage's gateway answers it.

In AWS the HTTP API answers preflights itself (infra/constructs/api.py); locally Starlette's
``CORSMiddleware`` does, with the same allowed methods, headers, exposed headers and max age
(donations.constants) and the origins of ``CORS_ORIGINS`` (comma-separated; ``*`` by default
on a dev stage, none on prod, as the stack's `corsOrigins`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import Response
from starlette.types import ASGIApp

from donations.constants import (
    CORS_ALLOWED_HEADERS,
    CORS_ALLOWED_METHODS,
    CORS_EXPOSED_HEADERS,
    CORS_MAX_AGE_SECONDS,
    ENV_CORS_ORIGINS,
    ENV_STAGE,
)
from donations.settings import parse_list


def cors_origins(env: Mapping[str, str]) -> tuple[str, ...]:
    """The origins browsers may call from: ``CORS_ORIGINS``, else the stage's default."""
    configured = env.get(ENV_CORS_ORIGINS, "").strip()
    if configured:
        return parse_list(configured)
    return () if env.get(ENV_STAGE, "dev").strip() == "prod" else ("*",)


class GatewayCors(CORSMiddleware):
    """Starlette's CORS with API Gateway's preflight answer: 204 and no body (Starlette: 200 OK)."""

    def __init__(self, app: ASGIApp, origins: Sequence[str]) -> None:
        super().__init__(
            app,
            allow_origins=origins,
            allow_methods=CORS_ALLOWED_METHODS,
            allow_headers=CORS_ALLOWED_HEADERS,
            expose_headers=CORS_EXPOSED_HEADERS,
            max_age=CORS_MAX_AGE_SECONDS,
        )

    def preflight_response(self, request_headers: Headers) -> Response:
        response = super().preflight_response(request_headers)
        if response.status_code != 200:  # a refused origin, method or header keeps its 400
            return response
        body_headers = ("content-length", "content-type")
        headers = {k: v for k, v in response.headers.items() if k not in body_headers}
        return Response(status_code=204, headers=headers)
