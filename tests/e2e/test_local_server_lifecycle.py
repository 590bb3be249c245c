"""Starting and stopping `make run`: signals, a busy port, a kept table, readable logs."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from local.persistence import CHANGES, SNAPSHOT
from local.process import PROJECT_ROOT, free_port, read_json_log, running_server
from tests.e2e.conftest import LOG_HASH_KEY, LocalServer

RECORD = """mutation Record($input: RecordDonationInput!) {
  recordDonation(input: $input) { __typename }
}"""
READ = "query Read($id: ID!) { donationCount(donorId: $id) donor(id: $id) { thankedAt } }"


def donate(base_url: str, donor: str) -> None:
    variables = {"input": {"donorId": donor, "amount": "5.00"}}
    response = httpx.post(f"{base_url}/graphql", json={"query": RECORD, "variables": variables})
    assert response.json()["data"]["recordDonation"]["__typename"] == "RecordDonationSuccess"


def donor(base_url: str, donor_id: str) -> dict[str, Any]:
    response = httpx.post(
        f"{base_url}/graphql", json={"query": READ, "variables": {"id": donor_id}}
    )
    data = response.json()["data"]
    return {
        "donationCount": data["donationCount"],
        "thankedAt": (data["donor"] or {}).get("thankedAt"),
    }


def wait_for(condition: Any, timeout: float = 10) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def thank_yous(log_path: Path, donor_id: str) -> int:
    ref = LocalServer.donor_ref(donor_id)
    return sum(
        1
        for line in read_json_log(log_path)
        if line.get("message") == "thank-you sent" and line.get("donor_ref") == ref
    )


@dataclass(frozen=True)
class StoppedRun:
    data_dir: Path
    log: str
    exit_code: int
    donor_id: str


@pytest.fixture(scope="module")
def stopped_run(tmp_path_factory: pytest.TempPathFactory) -> StoppedRun:
    """A server that recorded two donations for one donor (one thank-you), then got SIGTERM."""
    folder = tmp_path_factory.mktemp("sigterm")
    data_dir = folder / "data"
    donor_id = f"kept-{uuid.uuid4().hex[:8]}"
    codes: list[int] = []
    with running_server(
        LOG_HASH_KEY, folder, data_dir=data_dir, stop_signal=signal.SIGTERM, exit_codes=codes
    ) as (url, log_path):
        donate(url, donor_id)
        donate(url, donor_id)
        assert wait_for(lambda: thank_yous(log_path, donor_id) == 1)
    return StoppedRun(data_dir, log_path.read_text(), codes[0], donor_id)


def test_sigterm_stops_as_cleanly_as_ctrl_c_and_keeps_the_table(stopped_run: StoppedRun) -> None:
    snapshot = (stopped_run.data_dir / SNAPSHOT).read_text()

    assert stopped_run.exit_code == 0, stopped_run.log[-2000:]
    assert "Stopped. 3 items kept in" in stopped_run.log
    assert "Traceback" not in stopped_run.log
    assert snapshot.count(f"DONOR#{stopped_run.donor_id}") == 3  # the donor and two donations
    assert (stopped_run.data_dir / CHANGES).read_text() == ""


def test_a_restart_restores_the_table_and_thanks_no_one_again(
    stopped_run: StoppedRun, tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    shutil.copytree(stopped_run.data_dir, data_dir)

    with running_server(LOG_HASH_KEY, tmp_path, data_dir=data_dir) as (url, log_path):
        restored = donor(url, stopped_run.donor_id)
        donate(url, stopped_run.donor_id)
        time.sleep(1)  # five stream polls: long enough for a wrong thank-you to show
        after = donor(url, stopped_run.donor_id)
        sent = thank_yous(log_path, stopped_run.donor_id)
    log = log_path.read_text()

    assert restored["donationCount"] == 2
    assert restored["thankedAt"] is not None
    assert after["donationCount"] == 3
    assert sent == 0
    assert "Data: 3 items restored" in log


def test_fresh_starts_empty(stopped_run: StoppedRun, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    shutil.copytree(stopped_run.data_dir, data_dir)

    with running_server(LOG_HASH_KEY, tmp_path, data_dir=data_dir, env={"FRESH": "1"}) as (
        url,
        log_path,
    ):
        found = donor(url, stopped_run.donor_id)

    assert found["donationCount"] == 0
    assert "Data: starting empty (FRESH=1)" in log_path.read_text()


def test_a_killed_server_keeps_what_reached_its_change_log(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    for run in ("first", "second"):
        (tmp_path / run).mkdir()
    donor_id = f"killed-{uuid.uuid4().hex[:8]}"
    with running_server(
        LOG_HASH_KEY, tmp_path / "first", data_dir=data_dir, stop_signal=signal.SIGKILL
    ) as (url, _):
        donate(url, donor_id)
        changes = data_dir / CHANGES
        assert wait_for(lambda: changes.exists() and donor_id in changes.read_text())

    with running_server(LOG_HASH_KEY, tmp_path / "second", data_dir=data_dir) as (url, log_path):
        found = donor(url, donor_id)

    assert found["donationCount"] == 1
    assert "the last run did not stop cleanly" in log_path.read_text()


def server_that_cannot_start(**settings: str) -> tuple[int, list[str]]:
    """Run `make run`'s server expecting it to refuse to start; its exit code and output."""
    env = {**os.environ, "HOST": "127.0.0.1", "EMULATOR_PORT": str(free_port()), **settings}
    env.pop("FRESH", None)
    finished = subprocess.run(
        [sys.executable, "-m", "local.server"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    output = [line for line in (finished.stdout + finished.stderr).splitlines() if line.strip()]
    return finished.returncode, output


def test_a_busy_port_is_one_clear_line_and_a_failed_exit(tmp_path: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = str(taken.getsockname()[1])
        code, output = server_that_cannot_start(PORT=port, EMULATOR_DATA_DIR=str(tmp_path))

    assert code == 1
    assert len(output) == 1, output
    assert f"Cannot listen on 127.0.0.1:{port}" in output[0]
    assert "set PORT" in output[0]


def test_a_damaged_snapshot_is_one_clear_line_and_is_left_alone(tmp_path: Path) -> None:
    (tmp_path / SNAPSHOT).write_text("not a snapshot\n")

    code, output = server_that_cannot_start(PORT=str(free_port()), EMULATOR_DATA_DIR=str(tmp_path))

    assert code == 1
    assert len(output) == 1, output
    assert "FRESH=1" in output[0]
    assert (tmp_path / SNAPSHOT).read_text() == "not a snapshot\n"


def test_text_logs_are_one_readable_line_per_request_and_thank_you(tmp_path: Path) -> None:
    donor_id = f"text-{uuid.uuid4().hex[:8]}"
    with running_server(LOG_HASH_KEY, tmp_path, env={"LOG_FORMAT": "text"}) as (url, log_path):
        httpx.post(
            f"{url}/graphql",
            json={"query": RECORD, "variables": {"input": {"donorId": donor_id, "amount": "1"}}},
            headers={"x-request-id": "req-text-1"},
        )
        donate(url, donor_id)
        ref = LocalServer.donor_ref(donor_id)
        assert wait_for(
            lambda: f"thank-you sent donor_ref={ref} milestone=2" in log_path.read_text()
        )
    lines = log_path.read_text().splitlines()

    request_lines = [line for line in lines if " POST /graphql 200 " in line]
    assert any(line.endswith("req=req-text-1") and " ms " in line for line in request_lines)
    assert all(len(line) < 160 for line in request_lines)
    assert not any(line.startswith("{") for line in lines)  # no JSON, no metrics document
    assert donor_id not in log_path.read_text()
