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
from collections.abc import Iterator, Mapping
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
from local.log_format import ENV_LOG_FORMAT
from local.persistence import ENV_DATA_DIR, ENV_FRESH

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
    data_dir: Path | None = None,
    env: Mapping[str, str] | None = None,
    stop_signal: signal.Signals = signal.SIGINT,
    exit_codes: list[int] | None = None,
    pids: list[int] | None = None,
) -> Iterator[tuple[str, Path]]:
    """Start the emulated server; yield its base URL and log file; stop it with Ctrl-C.

    Its emulated AWS listens on ``emulator_port`` (a free port unless given), never on the
    default a developer's own `make run` may hold, and keeps its table in ``data_dir`` (a
    new folder next to the log unless given), never in the developer's .local/emulator/.
    ``auth="jwt"`` starts it as `AUTH=jwt make run` does, with its issuer's key pair in
    ``issuer_dir`` (``local.issuer.LocalIssuer.load_or_create`` mints tokens for it).
    ``env`` adds to the server's environment; ``stop_signal`` is what stops it. Its process
    id is appended to ``pids``, its exit code to ``exit_codes``.
    """
    port = free_port()
    folder = log_dir or Path(tempfile.mkdtemp(prefix="donations-server-"))
    log_path = folder / "server.log"
    server_env = {
        **os.environ,
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "AUTH": auth,
        # Unbuffered, so log lines reach the file as they are written.
        "PYTHONUNBUFFERED": "1",
        ENV_LOG_HASH_KEY: hash_key,
        ENV_EMULATOR_PORT: str(emulator_port or free_port()),
        ENV_DATA_DIR: str(data_dir or folder / "emulator-data"),
    }
    if issuer_dir is not None:
        server_env[ENV_ISSUER_DIR] = str(issuer_dir)
    # Real-table settings would switch emulation off; AUTH alone decides who is let in; a
    # developer's FRESH=1 or LOG_FORMAT would change what the tests read.
    for name in (
        ENV_TABLE_NAME,
        ENV_TOPIC_ARN,
        ENV_AWS_ENDPOINT_URL,
        ENV_AUTHORIZATION,
        ENV_FRESH,
        ENV_LOG_FORMAT,
    ):
        server_env.pop(name, None)
    server_env.update(env or {})
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "local.server"],
            cwd=PROJECT_ROOT,
            env=server_env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    if pids is not None:
        pids.append(process.pid)
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
        process.send_signal(stop_signal)
        try:
            code = process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            code = process.wait()
        if exit_codes is not None:
            exit_codes.append(code)


def cpu_seconds(pid: int) -> float | None:
    """CPU time a process has used so far (user + system), where /proc tells; else None."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    # utime and stime, fields 14 and 15 of proc(5), counting from the state field as 3.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
