"""Runs `make run`'s server as a child process on a free port: for tests and `make load`."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from donations.constants import (
    ENV_AUTHORIZATION,
    ENV_AWS_ENDPOINT_URL,
    ENV_LOG_HASH_KEY,
    ENV_TABLE_NAME,
    ENV_TOPIC_ARN,
)
from local.endpoint import ENV_EMULATOR_PORT
from local.issuer import ENV_ISSUER_DIR

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def read_json_log(log_path: Path) -> list[dict[str, Any]]:
    """Every JSON line of a server log; a line still being written is skipped."""
    lines = []
    for raw in log_path.read_text().splitlines():
        if raw.startswith("{"):
            with contextlib.suppress(json.JSONDecodeError):
                lines.append(json.loads(raw))
    return lines


@contextlib.contextmanager
def running_server(
    hash_key: str,
    log_dir: Path | None = None,
    *,
    emulator_port: int | None = None,
    auth: str = "none",
    issuer_dir: Path | None = None,
) -> Iterator[tuple[str, Path]]:
    """Start the emulated server; yield its base URL and log file; stop it with Ctrl-C.

    Its emulated AWS listens on ``emulator_port`` (a free port unless given), never on the
    default a developer's own `make run` may hold. ``auth="jwt"`` starts it as `AUTH=jwt
    make run` does, with its issuer's key pair in ``issuer_dir``
    (``local.issuer.LocalIssuer.load_or_create`` mints tokens for it).
    """
    port = free_port()
    log_path = (log_dir or Path(tempfile.mkdtemp(prefix="donations-server-"))) / "server.log"
    env = {
        **os.environ,
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "AUTH": auth,
        # Unbuffered, so log lines reach the file as they are written.
        "PYTHONUNBUFFERED": "1",
        ENV_LOG_HASH_KEY: hash_key,
        ENV_EMULATOR_PORT: str(emulator_port or free_port()),
    }
    if issuer_dir is not None:
        env[ENV_ISSUER_DIR] = str(issuer_dir)
    # Real-table settings would switch emulation off; AUTH alone decides who is let in.
    for name in (ENV_TABLE_NAME, ENV_TOPIC_ARN, ENV_AWS_ENDPOINT_URL, ENV_AUTHORIZATION):
        env.pop(name, None)
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "local.server"],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{base_url}/graphql", headers={"accept": "text/html"}, timeout=1)
                break
            except httpx.TransportError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"server did not start:\n{log_path.read_text()}") from None
                time.sleep(0.2)
        yield base_url, log_path
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
