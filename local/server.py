"""`make run`: the API and GraphiQL on http://127.0.0.1:8000/graphql.

By default DynamoDB, its stream, SNS and a subscriber queue are emulated in-process by
moto, and background threads play the part of Lambda's stream event source and of a
topic subscriber. Set DONATIONS_TABLE_NAME (and AWS credentials, or AWS_ENDPOINT_URL for a
DynamoDB-compatible endpoint) to serve a real table instead.
"""

from __future__ import annotations

import os
import sys
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from contextlib import ExitStack
from typing import Any

from donations.constants import ENV_AWS_ENDPOINT_URL, ENV_TABLE_NAME, GRAPHQL_PATH
from donations.container import Services, services
from donations.observability import logger
from schema.http import is_usable_request_id

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class RequestLogMiddleware:
    """One JSON line per request, with a correlation id; never the query string or body."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        headers = dict(scope.get("headers", []))
        request_id = headers.get(b"x-request-id", b"").decode("latin-1")
        if not is_usable_request_id(request_id):
            request_id = str(uuid.uuid4())
            scope["headers"] = [*scope.get("headers", []), (b"x-request-id", request_id.encode())]
        # Per thread: the stream pump and the inbox log from their own threads meanwhile.
        logger.thread_safe_append_keys(correlation_id=request_id)
        started = time.perf_counter()
        status = 500

        async def send_with_status(message: MutableMapping[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", []).append((b"x-request-id", request_id.encode()))
            await send(message)

        try:
            await self._app(scope, receive, send_with_status)
        finally:
            logger.info(
                "http request",
                extra={
                    "method": scope.get("method"),
                    "path": scope.get("path"),
                    "status": status,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                },
            )
            logger.thread_safe_remove_keys(["correlation_id"])


class LocalStack:
    """The emulated AWS resources plus the threads that stand in for Lambda and SNS."""

    def __init__(self, *, stream_interval: float = 0.2) -> None:
        self._stack = ExitStack()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._interval = stream_interval
        self.pump: Any = None
        self.inbox: Any = None

    def start(self) -> None:
        from moto import mock_aws

        from local.emulator import create_resources, use_fake_credentials
        from local.inbox import ThankYouInbox
        from local.stream_pump import StreamPump

        use_fake_credentials()
        self._stack.enter_context(mock_aws())
        resources = create_resources()
        import handler

        self.pump = StreamPump(resources.stream_arn, handler.thank_you_handler)
        self.inbox = ThankYouInbox(resources.queue_url)
        for name, target in (("stream-pump", self.pump.run), ("thank-you-inbox", self.inbox.run)):
            thread = threading.Thread(
                target=target, args=(self._stop, self._interval), name=name, daemon=True
            )
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=5)
        self._stack.close()


def emulating() -> bool:
    return not (os.environ.get(ENV_TABLE_NAME) or os.environ.get(ENV_AWS_ENDPOINT_URL))


def build_asgi_app(services: Services) -> ASGIApp:
    """The Lambda function's app over these services, with a request log in front."""
    from handler import create_app

    return RequestLogMiddleware(create_app(services))


def main() -> int:
    import uvicorn

    host = os.environ.get("HOST", "127.0.0.1")
    port = int(os.environ.get("PORT", "8000"))
    os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    local = LocalStack() if emulating() else None
    if local is not None:
        local.start()
    try:
        app = build_asgi_app(services())
        config = uvicorn.Config(
            app, host=host, port=port, log_config=None, access_log=False, lifespan="off"
        )
        server = uvicorn.Server(config)
        mode = "emulated AWS (moto, in-process)" if local else "the configured AWS table"
        sys.stderr.write(
            f"\n  Donations API with {mode}\n"
            f"  GraphiQL and POST endpoint: http://{host}:{port}{GRAPHQL_PATH}\n"
            "  Press Ctrl-C to stop.\n\n"
        )
        server.run()
    finally:
        if local is not None:
            local.stop()
        sys.stderr.write("  Stopped.\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
