"""`make smoke` works before the first deploy: run it against the local server."""

from __future__ import annotations

import subprocess
import sys

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
