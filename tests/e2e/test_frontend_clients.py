"""Apollo Client 4 and urql 6 from npm against `make run`, configured as docs/clients.md says.

The Node script (clients/frontend.mjs) records, replays with an idempotency key, counts,
pages a donor with Apollo's merge policy and sends one query of its own; this test checks
what each client got, which requests went over the wire, and that the clients printed no
warning. Against a stage that requires trusted documents, the same clients run the shipped
operations with their default hashing and no manifest of their own.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from donations.constants import ENV_TRUSTED_DOCUMENTS
from local.process import running_server
from tests.e2e.conftest import LOG_HASH_KEY, ROOT, LocalServer

SCRIPT = Path(__file__).with_name("clients") / "frontend.mjs"
NODE = shutil.which("node")

if NODE is None:
    pytest.skip("Node.js is not installed", allow_module_level=True)
if not (ROOT / "node_modules" / "@apollo" / "client" / "package.json").is_file():
    pytest.skip("node_modules is missing: run `npm ci`", allow_module_level=True)


def run_clients(graphql_url: str, *flags: str) -> dict[str, Any]:
    """Run the script; fail with its stderr if it failed or printed anything there."""
    assert NODE is not None
    done = subprocess.run(
        [NODE, str(SCRIPT), graphql_url, uuid.uuid4().hex[:12], *flags],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    # Apollo's and urql's warnings (missing possibleTypes, cache data lost without a merge
    # function or an id, a React peer dependency) all go to console.warn/error: stderr.
    assert done.stderr == "", done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


@pytest.fixture(scope="module")
def clients(server: LocalServer) -> dict[str, Any]:
    return run_clients(server.graphql_url)


@pytest.fixture(scope="module")
def locked_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`TRUSTED_DOCUMENTS=require make run`: a stage deployed with -c trustedDocuments=require."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(ENV_TRUSTED_DOCUMENTS, "require")
        with running_server(LOG_HASH_KEY, tmp_path_factory.mktemp("locked")) as (url, _):
            yield f"{url}/graphql"


def test_apollo_records_replays_counts_and_pages_a_donor(clients: dict[str, Any]) -> None:
    apollo = clients["apollo"]

    assert apollo["first"]["__typename"] == "RecordDonationSuccess"
    assert apollo["first"]["replayed"] is False
    assert apollo["replay"]["replayed"] is True
    assert apollo["replay"]["donation"]["id"] == apollo["first"]["donation"]["id"]
    assert apollo["count"] == 3
    # Two pages of two, merged by the typePolicies' merge function into one list of three.
    assert apollo["firstPage"] == 2
    assert [node["amount"] for node in apollo["merged"]["nodes"]] == ["2.50", "5.00", "10.00"]
    assert apollo["merged"]["pageInfo"]["hasNextPage"] is False
    assert apollo["cachedDonor"].startswith("Donor:apollo-")
    assert apollo["totals"] == [{"__typename": "Money", "amount": "17.50", "currency": "GBP"}]


def test_apollos_link_sends_hashes_and_the_document_only_when_asked(
    clients: dict[str, Any],
) -> None:
    network = clients["apollo"]["network"]
    own = [(r["method"], r["withDocument"], r["code"]) for r in network[-3:]]

    # The shipped operations are trusted documents: found by hash at once, queries by GET.
    assert {(r["method"], r["withDocument"]) for r in network[:-3]} == {
        ("POST", False),
        ("GET", False),
    }
    # Its own query: unknown hash, then the document by POST, then the hash alone by GET.
    assert own[0] == ("GET", False, "PERSISTED_QUERY_NOT_FOUND")
    assert own[1] == ("POST", True, None)
    assert clients["apollo"]["ownNetwork"] == [
        {"method": "GET", "withDocument": False, "status": 200, "code": None}
    ]


def test_urql_records_replays_counts_and_pages_by_hash(clients: dict[str, Any]) -> None:
    urql = clients["urql"]

    assert urql["first"]["replayed"] is False
    assert urql["replay"]["replayed"] is True
    assert urql["count"] == 1
    assert [node["amount"] for node in urql["page"]["nodes"]] == ["7.50"]
    assert urql["totals"] == [{"amount": "7.50", "currency": "GBP", "__typename": "Money"}]
    # Every request went by hash: the shipped ones are trusted, the own one Apollo registered.
    assert all(not request["withDocument"] for request in urql["network"])
    assert all(request["status"] == 200 for request in urql["network"])


def test_a_stage_that_requires_trusted_documents_serves_both_clients_unchanged(
    locked_server: str,
) -> None:
    clients = run_clients(locked_server, "--trusted-only")

    for name in ("apollo", "urql"):
        assert clients[name]["replay"]["replayed"] is True
        assert clients[name]["refused"] == "TRUSTED_DOCUMENT_REQUIRED"
    assert clients["apollo"]["count"] == 3
    assert clients["urql"]["count"] == 1
