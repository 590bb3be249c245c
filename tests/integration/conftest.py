"""Fixtures for the integration tier: `make run`'s server, in-process, over the emulated table."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from tests.support.aws import EmulatedAccount


@pytest.fixture
def local_url(aws: EmulatedAccount) -> Iterator[str]:
    """`make run`'s app and uvicorn configuration on a free port of 127.0.0.1, in a thread."""
    import uvicorn

    from local.app import build_asgi_app
    from local.connections import server_config
    from local.process import free_port

    server = uvicorn.Server(server_config(build_asgi_app(aws.services), "127.0.0.1", free_port()))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        while not server.started:
            if not thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            threading.Event().wait(0.02)
        yield f"http://127.0.0.1:{server.config.port}/graphql"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
