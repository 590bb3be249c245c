"""`make load`: drive the local server with a bounded load, then check every count.

Starts `python -m local.server` (emulated DynamoDB, stream and SNS) on a free
port, sends a mix of recordDonation / donationCount / donor requests from concurrent
clients (many donors, a few very hot ones, an idempotency key on every donation, some
replays), then checks that:

- every donor's donationCount equals the donations the clients had recorded, and
- every donor who reached the threshold was thanked exactly once: one "thank-you sent" line
  per donor in the server's log (the consumer writes it after each SNS publish, keyed by
  the donor's log hash), none for the others, and donor { thankedAt } set. thankedAt alone
  could not show a duplicate: a second publish finds it already set.

    uv run --frozen python -m scripts.load [--clients 20] [--requests 1000] [--donors 400]

With ``AUTH=jwt`` (``--auth jwt``) the server runs behind the local JWT authorizer, as
`AUTH=jwt make run` does, and every client calls as a backend whose token carries
``donations/write`` and ``donations/read``; the same counts are checked.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import secrets
import statistics
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from donations.constants import DEFAULT_THANK_YOU_THRESHOLD, GRAPHQL_PATH, READ_SCOPE, WRITE_SCOPE
from local.issuer import LocalIssuer
from local.process import read_json_log, running_server

PROJECT_ROOT = Path(__file__).resolve().parent.parent

RECORD = """mutation Record($input: RecordDonationInput!) {
  recordDonation(input: $input) {
    __typename
    ... on RecordDonationSuccess { replayed donation { id } }
    ... on InvalidDonation { message }
    ... on IdempotencyKeyReused { message }
  }
}"""
COUNT = "query Count($id: ID!) { donationCount(donorId: $id) }"
DONOR = """query Donor($id: ID!) {
  donor(id: $id) { donationCount thankedAt donations(first: 5) { nodes { id amount } } }
}"""
THANKED = "query Thanked($id: ID!) { donor(id: $id) { thankedAt } }"


@dataclass(frozen=True)
class LoadPlan:
    clients: int = 20
    requests: int = 1000
    donors: int = 400
    hot_donors: int = 3
    hot_share: float = 0.25
    replay_share: float = 0.05
    seed: int = 7


@dataclass
class LoadResult:
    run: str
    seconds: float = 0.0
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: Counter[str] = field(default_factory=Counter)
    recorded: Counter[str] = field(default_factory=Counter)
    uncertain: set[str] = field(default_factory=set)
    touched: set[str] = field(default_factory=set)
    replays: int = 0
    replay_mismatches: int = 0

    @property
    def requests(self) -> int:
        return sum(len(values) for values in self.latencies.values())


@dataclass
class Verification:
    donors_checked: int = 0
    count_mismatches: int = 0
    thank_you_expected: int = 0
    thank_you_exactly_once: int = 0
    thank_you_missing: int = 0
    thank_you_duplicates: int = 0
    thank_you_unexpected: int = 0
    thanked_at_missing: int = 0

    @property
    def mismatches(self) -> int:
        return (
            self.count_mismatches
            + self.thank_you_missing
            + self.thank_you_duplicates
            + self.thank_you_unexpected
            + self.thanked_at_missing
        )


class _Client:
    """One GraphQL client; records latency per operation and every kind of failure."""

    def __init__(self, http: httpx.AsyncClient, url: str, result: LoadResult) -> None:
        self._http = http
        self._url = url
        self._result = result

    async def call(self, name: str, query: str, variables: dict[str, Any]) -> dict[str, Any] | None:
        started = time.perf_counter()
        try:
            response = await self._http.post(
                self._url, json={"query": query, "variables": variables}
            )
        except httpx.HTTPError as error:
            self._result.errors[f"{name}: {type(error).__name__}"] += 1
            return None
        finally:
            self._result.latencies[name].append((time.perf_counter() - started) * 1e3)
        if response.status_code != 200:
            self._result.errors[f"{name}: HTTP {response.status_code}"] += 1
            return None
        body: dict[str, Any] = response.json()
        if body.get("errors"):
            codes = {e.get("extensions", {}).get("code", "?") for e in body["errors"]}
            self._result.errors[f"{name}: GraphQL {','.join(sorted(codes))}"] += 1
            return None
        data: dict[str, Any] = body["data"]
        return data


def _work(plan: LoadPlan, run: str) -> list[tuple[str, str]]:
    rng = random.Random(plan.seed)  # noqa: S311 - a repeatable plan, not a secret
    hot = [f"load-{run}-hot-{i}" for i in range(plan.hot_donors)]
    regular = [f"load-{run}-d{i}" for i in range(plan.donors)]
    work = []
    for _ in range(plan.requests):
        donor = rng.choice(hot) if rng.random() < plan.hot_share else rng.choice(regular)
        operation = rng.choices(("record", "count", "donor"), weights=(60, 25, 15))[0]
        work.append((operation, donor))
    return work


async def _record(client: _Client, result: LoadResult, donor: str, key: str, replay: bool) -> None:
    variables = {"input": {"donorId": donor, "amount": "5.00", "idempotencyKey": key}}
    first_id = None
    # A client that gets no answer retries with the same key: the retry is then safe.
    for _ in range(3):
        data = await client.call("recordDonation", RECORD, variables)
        if data is not None:
            outcome = data["recordDonation"]
            if outcome["__typename"] != "RecordDonationSuccess":
                result.errors[f"recordDonation: {outcome['__typename']}"] += 1
                return
            first_id = outcome["donation"]["id"]
            break
    else:
        result.uncertain.add(donor)
        return
    result.recorded[donor] += 1
    if replay:
        result.replays += 1
        data = await client.call("recordDonation", RECORD, variables)
        outcome = data["recordDonation"] if data else {}
        if not outcome.get("replayed") or outcome.get("donation", {}).get("id") != first_id:
            result.replay_mismatches += 1


async def run_load(
    graphql_url: str, plan: LoadPlan, headers: dict[str, str] | None = None
) -> LoadResult:
    """Send the planned requests from ``plan.clients`` concurrent clients."""
    run = secrets.token_hex(4)
    result = LoadResult(run=run)
    queue: asyncio.Queue[tuple[int, str, str]] = asyncio.Queue()
    for index, (operation, donor) in enumerate(_work(plan, run)):
        queue.put_nowait((index, operation, donor))
    rng = random.Random(plan.seed + 1)  # noqa: S311
    limits = httpx.Limits(max_connections=plan.clients, max_keepalive_connections=plan.clients)

    async def worker(client: _Client) -> None:
        while not queue.empty():
            index, operation, donor = queue.get_nowait()
            result.touched.add(donor)
            if operation == "record":
                replay = rng.random() < plan.replay_share
                await _record(client, result, donor, f"load-{run}-{index:06d}", replay)
            elif operation == "count":
                await client.call("donationCount", COUNT, {"id": donor})
            else:
                await client.call("donor", DONOR, {"id": donor})

    async with httpx.AsyncClient(timeout=30, limits=limits, headers=headers) as http:
        client = _Client(http, graphql_url, result)
        started = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(plan.clients)))
        result.seconds = time.perf_counter() - started
    return result


def _thank_you_lines(log_lines: list[dict[str, Any]]) -> tuple[Counter[str], Counter[str]]:
    sent: Counter[str] = Counter()
    twice: Counter[str] = Counter()
    for line in log_lines:
        if line.get("message") == "thank-you sent":
            sent[line.get("donor_ref", "")] += 1
        elif line.get("message") == "thank-you sent twice":
            twice[line.get("donor_ref", "")] += 1
    return sent, twice


def verify(
    graphql_url: str,
    result: LoadResult,
    log_lines: Callable[[], list[dict[str, Any]]],
    hash_key: str,
    *,
    threshold: int = DEFAULT_THANK_YOU_THRESHOLD,
    timeout: float = 60,
    headers: dict[str, str] | None = None,
) -> Verification:
    """Compare what the server holds, and what it published, with what was sent."""
    from donations.observability import configure_donor_hashing, donor_ref

    configure_donor_hashing(hash_key)
    check = Verification()
    donors = sorted(result.touched - result.uncertain)
    with httpx.Client(timeout=30, headers=headers) as http:

        def ask(query: str, donor: str) -> dict[str, Any]:
            response = http.post(graphql_url, json={"query": query, "variables": {"id": donor}})
            response.raise_for_status()
            data: dict[str, Any] = response.json()["data"]
            return data

        for donor in donors:
            check.donors_checked += 1
            if ask(COUNT, donor)["donationCount"] != result.recorded[donor]:
                check.count_mismatches += 1
        due = {donor for donor in donors if result.recorded[donor] >= threshold}
        refs = {donor_ref(donor): donor for donor in donors}
        due_refs = {donor_ref(donor) for donor in due}
        check.thank_you_expected = len(due)
        # The stream pump polls every 0.2 s; wait until every due donor was thanked (or
        # the timeout), then a little longer so a late duplicate would be seen too.
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            sent, _ = _thank_you_lines(log_lines())
            if due_refs <= set(sent):
                break
            time.sleep(0.25)
        time.sleep(1.0)
        sent, twice = _thank_you_lines(log_lines())
        for ref, donor in refs.items():
            times = sent[ref] + twice[ref]
            if donor in due:
                check.thank_you_exactly_once += times == 1
                check.thank_you_missing += times == 0
                check.thank_you_duplicates += max(times - 1, 0)
                if ask(THANKED, donor)["donor"]["thankedAt"] is None:
                    check.thanked_at_missing += 1
            else:
                check.thank_you_unexpected += times
    return check


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else 0.0


def report(plan: LoadPlan, result: LoadResult, check: Verification) -> str:
    everything = [value for values in result.latencies.values() for value in values]
    errors = sum(result.errors.values()) + len(result.uncertain)
    mismatches = check.mismatches + result.replay_mismatches
    lines = [
        f"make load: {plan.clients} clients, {result.requests} requests, "
        f"{plan.donors} donors + {plan.hot_donors} hot ones ({plan.hot_share:.0%} of traffic)",
        f"  throughput  {result.requests / result.seconds:.0f} requests/s "
        f"({result.requests} in {result.seconds:.1f} s)",
        f"  latency     p50 {statistics.median(everything):.1f} ms, "
        f"p99 {_percentile(everything, 0.99):.1f} ms",
    ]
    for name, values in sorted(result.latencies.items()):
        lines.append(
            f"    {name:<15} {len(values):>5} requests, p50 {statistics.median(values):.1f} ms,"
            f" p99 {_percentile(values, 0.99):.1f} ms"
        )
    lines += [
        f"  errors      {errors}"
        + (f" ({', '.join(f'{k} x{v}' for k, v in result.errors.items())})" if errors else ""),
        f"  counts      {check.donors_checked} donors checked, {check.count_mismatches} mismatches"
        f" ({sum(result.recorded.values())} donations recorded)",
        f"  thank-yous  {check.thank_you_expected} donors reached the threshold: "
        f"{check.thank_you_exactly_once} thanked exactly once, {check.thank_you_missing} missing,"
        f" {check.thank_you_duplicates} duplicates, {check.thank_you_unexpected} unexpected,"
        f" {check.thanked_at_missing} without thankedAt",
        f"  replays     {result.replays} replayed with the same key, "
        f"{result.replay_mismatches} mismatches",
        f"  result      {'PASS' if errors == 0 and mismatches == 0 else 'FAIL'}: "
        f"{errors} errors, {mismatches} mismatches",
    ]
    return "\n".join(lines)


@dataclass(frozen=True)
class Target:
    """The server under load: where to send requests, its log, and how to call it."""

    url: str
    log_path: Path
    headers: dict[str, str] = field(default_factory=dict)


@contextlib.contextmanager
def local_server(hash_key: str, auth: str = "none") -> Iterator[Target]:
    """`make run`'s server on a free port (behind the local JWT authorizer if ``auth`` is
    ``jwt``, with a backend's token to call it)."""
    with contextlib.ExitStack() as stack:
        issuer_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="issuer-")))
        base_url, log_path = stack.enter_context(
            running_server(hash_key, auth=auth, issuer_dir=issuer_dir)
        )
        headers = {}
        if auth == "jwt":
            token = LocalIssuer.load_or_create(base_url, issuer_dir).mint(
                scopes=[WRITE_SCOPE, READ_SCOPE]
            )
            headers["authorization"] = f"Bearer {token}"
        yield Target(f"{base_url}{GRAPHQL_PATH}", log_path, headers)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.load", description=__doc__)
    env = os.environ.get
    parser.add_argument("--clients", type=int, default=int(env("LOAD_CLIENTS", "20")))
    parser.add_argument("--requests", type=int, default=int(env("LOAD_REQUESTS", "1000")))
    parser.add_argument("--donors", type=int, default=int(env("LOAD_DONORS", "400")))
    parser.add_argument("--hot-donors", type=int, default=3)
    parser.add_argument("--replay-share", type=float, default=0.05)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--auth", choices=("none", "jwt"), default=(env("AUTH", "") or "none").lower()
    )
    args = parser.parse_args(argv)
    plan = LoadPlan(
        clients=args.clients,
        requests=args.requests,
        donors=args.donors,
        hot_donors=args.hot_donors,
        replay_share=args.replay_share,
        seed=args.seed,
    )
    hash_key = secrets.token_hex(16)
    with local_server(hash_key, args.auth) as target:
        access = "behind the local JWT authorizer" if target.headers else "open"
        print(f"Local server at {target.url}, {access} (log: {target.log_path})")
        result = asyncio.run(run_load(target.url, plan, target.headers))
        check = verify(
            target.url,
            result,
            lambda: read_json_log(target.log_path),
            hash_key,
            headers=target.headers,
        )
    print(report(plan, result, check))
    failed = sum(result.errors.values()) + len(result.uncertain) + check.mismatches
    return 1 if failed + result.replay_mismatches else 0


if __name__ == "__main__":
    sys.exit(main())
