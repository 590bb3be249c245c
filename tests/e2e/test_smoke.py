"""`make smoke` works before the first deploy: run it against the local server."""

from __future__ import annotations

import os
import subprocess
import sys

from donations.constants import READ_SCOPE, WRITE_SCOPE
from tests.e2e.conftest import ROOT, LocalServer

CHECKS = (
    "reachable",
    "schema answers",
    "donation recorded",
    "donation counted",
    "replay idempotent",
    "bad input rejected",
    "broken query rejected",
    "nothing extra written",
)


def test_smoke_passes_against_the_local_server(server: LocalServer) -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "scripts.smoke", server.graphql_url],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    report = completed.stdout
    assert completed.returncode == 0, report + completed.stderr
    for check in CHECKS:
        assert any(line.startswith("PASS") and check in line for line in report.splitlines()), (
            report
        )
    assert "smoke test passed: 8 checks" in report


def smoke(url: str, token: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if key != "SMOKE_TOKEN"}
    if token is not None:
        env["SMOKE_TOKEN"] = token
    return subprocess.run(
        [sys.executable, "-m", "scripts.smoke", url],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_smoke_passes_against_a_protected_stage_with_a_writer_token(
    protected_server: LocalServer,
) -> None:
    completed = smoke(
        protected_server.graphql_url, protected_server.token(f"{WRITE_SCOPE} {READ_SCOPE}")
    )

    report = completed.stdout
    assert completed.returncode == 0, report + completed.stderr
    assert any(line.startswith("PASS  no token refused") for line in report.splitlines()), report
    assert "smoke test passed: 9 checks" in report
    assert "SKIP" not in report


def test_smoke_with_a_write_only_token_skips_the_reads(protected_server: LocalServer) -> None:
    completed = smoke(protected_server.graphql_url, protected_server.token(WRITE_SCOPE))

    report = completed.stdout
    assert completed.returncode == 0, report + completed.stderr
    assert "smoke test passed: 9 checks (2 skipped)" in report
    assert "SKIP  donation counted" in report


def test_smoke_without_a_token_says_the_stage_needs_one(protected_server: LocalServer) -> None:
    completed = smoke(protected_server.graphql_url)

    assert completed.returncode == 1
    assert "FAIL  reachable" in completed.stdout
    assert "pass TOKEN=" in completed.stdout


def test_smoke_fails_cleanly_when_nothing_answers() -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "scripts.smoke", "http://127.0.0.1:9/graphql", "--timeout", "1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert completed.returncode == 1
    assert "FAIL  reachable" in completed.stdout
    assert "Traceback" not in completed.stderr
