"""`make forget` against a running `make run`: operator commands reach its emulated AWS."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import httpx
import pytest

from donations.constants import (
    DONOR_ID_ATTRIBUTE,
    ENV_AWS_ENDPOINT_URL,
    ENV_LOG_HASH_KEY,
    ENV_TABLE_NAME,
    ENV_TOPIC_ARN,
    PARTITION_KEY,
)
from local.emulator import LOCAL_REGION, LOCAL_TABLE
from local.endpoint import ENV_EMULATOR_PORT
from local.process import PROJECT_ROOT, free_port, running_server
from tests.e2e.conftest import LOG_HASH_KEY, LocalServer

RECORD = """
mutation Record($input: RecordDonationInput!) {
  recordDonation(input: $input) {
    __typename
    ... on RecordDonationSuccess { donor { donationCount thankedAt } }
  }
}
"""
READ = "query Read($id: ID!) { donationCount(donorId: $id) donor(id: $id) { donationCount } }"


@pytest.fixture(scope="module")
def emulator_port() -> int:
    return free_port()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, emulator_port: int) -> Iterator[LocalServer]:
    log_dir = tmp_path_factory.mktemp("forget-server")
    with running_server(LOG_HASH_KEY, log_dir, emulator_port=emulator_port) as (url, log_path):
        yield LocalServer(url, log_path)


def operator_command(
    module: str, *args: str, emulator_port: int
) -> subprocess.CompletedProcess[str]:
    """Run `make forget`/`make redrive`'s module as a developer would: no table configured."""
    env = {**os.environ, ENV_EMULATOR_PORT: str(emulator_port), ENV_LOG_HASH_KEY: LOG_HASH_KEY}
    for name in (ENV_TABLE_NAME, ENV_TOPIC_ARN, ENV_AWS_ENDPOINT_URL):
        env.pop(name, None)
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def graphql(server: LocalServer, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    response = httpx.post(
        server.graphql_url, json={"query": query, "variables": variables}, timeout=10
    )
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


def donate(server: LocalServer, donor_id: str, **fields: str) -> dict[str, Any]:
    variables = {"input": {"donorId": donor_id, "amount": "12.50", **fields}}
    result: dict[str, Any] = graphql(server, RECORD, variables)["recordDonation"]
    assert result["__typename"] == "RecordDonationSuccess"
    return result


def thank_yous(server: LocalServer, donor_id: str) -> int:
    return sum(
        1
        for line in server.log_lines()
        if line.get("message") == "thank-you sent"
        and line.get("donor_ref") == server.donor_ref(donor_id)
    )


def settle(server: LocalServer) -> None:
    """Wait until the stream pump has handled every change made so far.

    The emulated table has one stream shard, read in order: once a fresh donor's crossing
    has been thanked, every earlier record (the erasure's removals included) was handled.
    """
    sentinel = f"sentinel-{uuid.uuid4().hex[:12]}"
    donate(server, sentinel)
    donate(server, sentinel)
    deadline = time.monotonic() + 30
    while not thank_yous(server, sentinel):
        assert time.monotonic() < deadline, "the stream pump never thanked the sentinel"
        time.sleep(0.1)


def items_naming(donor_id: str, emulator_port: int) -> list[dict[str, Any]]:
    """What `aws --endpoint-url ... dynamodb scan` shows of the donor in the running server."""
    dynamodb = boto3.client(
        "dynamodb",
        endpoint_url=f"http://127.0.0.1:{emulator_port}",
        region_name=LOCAL_REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    pages = dynamodb.get_paginator("scan").paginate(TableName=LOCAL_TABLE)
    return [
        item
        for page in pages
        for item in page["Items"]
        if donor_id in item[PARTITION_KEY]["S"]
        or item.get(DONOR_ID_ATTRIBUTE, {}).get("S") == donor_id
    ]


def test_make_forget_erases_a_donor_of_the_running_server_and_thanks_no_one(
    server: LocalServer, emulator_port: int
) -> None:
    donor = f"forget-{uuid.uuid4().hex[:12]}"
    donate(server, donor, idempotencyKey=f"{donor}-a")
    donate(server, donor, idempotencyKey=f"{donor}-b")
    settle(server)
    assert thank_yous(server, donor) == 1
    assert len(items_naming(donor, emulator_port)) == 5

    first = operator_command("scripts.forget", donor, emulator_port=emulator_port)
    second = operator_command("scripts.forget", donor, emulator_port=emulator_port)

    assert first.returncode == 0, first.stderr
    assert f"the running `make run` at http://127.0.0.1:{emulator_port}" in first.stderr
    assert "5 found and removed: 1 donor item, 2 donations, 2 idempotency markers" in first.stderr
    assert second.returncode == 0, second.stderr
    assert "0 found" in second.stderr
    assert donor not in first.stderr + first.stdout  # named by its reference only
    assert items_naming(donor, emulator_port) == []
    assert graphql(server, READ, {"id": donor}) == {"donationCount": 0, "donor": None}

    # The removals went through the stream consumer and thanked no one; a new donation
    # starts the count from 1, and the thank-you is earned afresh at 2.
    again = donate(server, donor)
    settle(server)
    assert again["donor"] == {"donationCount": 1, "thankedAt": None}
    assert thank_yous(server, donor) == 1

    donate(server, donor)
    settle(server)
    assert thank_yous(server, donor) == 2
    assert not [line for line in server.log_lines() if line.get("level") == "ERROR"]


def test_make_redrive_reaches_the_running_server_too(
    server: LocalServer, emulator_port: int
) -> None:
    redrive = operator_command("scripts.redrive", emulator_port=emulator_port)

    assert redrive.returncode == 0, redrive.stderr
    assert f"http://127.0.0.1:{emulator_port}" in redrive.stderr
    assert "0 found" in redrive.stderr
