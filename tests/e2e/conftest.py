"""Starts the real `make run` server (python -m donations.local.server) on a free port."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from donations.constants import ENV_LOG_HASH_KEY

ROOT = Path(__file__).resolve().parents[2]


LOG_HASH_KEY = "e2e-log-hash-key"


@dataclass
class LocalServer:
    url: str
    log_path: Path

    @staticmethod
    def donor_ref(donor_id: str) -> str:
        """How this server's logs name the donor (the keyed hash, with the fixture's key)."""
        return hmac.new(LOG_HASH_KEY.encode(), donor_id.encode(), hashlib.sha256).hexdigest()[:16]

    @property
    def graphql_url(self) -> str:
        return f"{self.url}/graphql"

    def log_lines(self) -> list[dict[str, Any]]:
        """Every JSON line the server has logged so far."""
        lines = []
        for raw in self.log_path.read_text().splitlines():
            if raw.startswith("{"):
                lines.append(json.loads(raw))
        return lines

    def wait_for_log(
        self, message: str, count: int = 1, timeout: float = 10.0
    ) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while True:
            found = [line for line in self.log_lines() if line.get("message") == message]
            if len(found) >= count or time.monotonic() > deadline:
                return found
            time.sleep(0.1)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalServer]:
    port = _free_port()
    log_path = tmp_path_factory.mktemp("server") / "server.log"
    # Unbuffered, so log lines reach the file as they are written.
    env = {
        **os.environ,
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "PYTHONUNBUFFERED": "1",
        ENV_LOG_HASH_KEY: LOG_HASH_KEY,
    }
    for name in ("DONATIONS_TABLE_NAME", "THANK_YOU_TOPIC_ARN", "AWS_ENDPOINT_URL"):
        env.pop(name, None)
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "donations.local.server"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{url}/graphql", headers={"accept": "text/html"}, timeout=1)
                break
            except httpx.TransportError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"server did not start:\n{log_path.read_text()}") from None
                time.sleep(0.2)
        yield LocalServer(url, log_path)
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture(scope="session")
def local_server(server: LocalServer) -> str:
    """The base URL of the running server, e.g. http://127.0.0.1:54321."""
    return server.url
