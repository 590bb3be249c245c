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

Before the load, ``--seed-donations N`` (default 10,000) fills the table with N donations
of earlier donors, written in batches through the server's emulated AWS endpoint, so the
figures are those of a table that has been in use, not of an empty one.

    uv run --frozen python -m scripts.load [--clients 20] [--requests 1000] [--donors 400]
                                           [--seed-donations 10000]

With ``AUTH=jwt`` (``--auth jwt``) the server runs behind the local JWT authorizer, as
`AUTH=jwt make run` does, and every client calls as a backend whose token carries
``donations/write`` and ``donations/read``; the same counts are checked.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import os
import random
import secrets
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import httpx

from donations.adapters.dynamodb import donor_key, to_wire
from donations.constants import (
    AMOUNT_MINOR_ATTRIBUTE,
    CURRENCY_ATTRIBUTE,
    DEFAULT_THANK_YOU_THRESHOLD,
    DONATED_AT_ATTRIBUTE,
    DONATION_COUNT_ATTRIBUTE,
    DONATION_ID_ATTRIBUTE,
    DONATION_KEY_PREFIX,
    DONOR_ID_ATTRIBUTE,
    DONOR_KEY_PREFIX,
    EXPIRES_AT_ATTRIBUTE,
    FINGERPRINT_ATTRIBUTE,
    GRAPHQL_PATH,
    IDEMPOTENCY_KEY_ATTRIBUTE,
    IDEMPOTENCY_KEY_PREFIX,
    IDEMPOTENCY_SORT_KEY,
    LAST_RECORDED_AT_ATTRIBUTE,
    PARTITION_KEY,
    READ_SCOPE,
    RECORDED_AT_ATTRIBUTE,
    SORT_KEY,
    THANK_YOU_MESSAGE_ID_ATTRIBUTE,
    THANKED_AT_ATTRIBUTE,
    TOTAL_ATTRIBUTE_PREFIX,
    WRITE_SCOPE,
)
from local.emulator import LOCAL_REGION, LOCAL_TABLE
from local.issuer import LocalIssuer
from local.process import cpu_seconds, free_port, read_json_log, running_server

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
    # CPU the server used while the clients ran, where the platform tells (Linux's /proc).
    server_cpu_seconds: float | None = None

    @property
    def requests(self) -> int:
        return sum(len(values) for values in self.latencies.values())


@dataclass(frozen=True)
class Seeded:
    """What ``seed_table`` wrote: earlier donors' donations, already in the table."""

    donations: int
    donors: int
    seconds: float
    # Written last, with two donations and no thank-you yet: its thank-you shows that the
    # stream pump has read past every seeded record.
    sentinel: str
    # A few seeded donors and their donation counts, read back through the API afterwards.
    sample: tuple[tuple[str, int], ...]


@dataclass
class Verification:
    donors_checked: int = 0
    seeded_checked: int = 0
    seeded_mismatches: int = 0
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
            + self.seeded_mismatches
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


# Items as the DynamoDB adapter writes them (donations/adapters/dynamodb.py): a donation,
# its idempotency marker, and the donor's counters. Written directly, 25 to a
# BatchWriteItem, because recording 10,000 donations through the API would take minutes;
# ``verify`` reads a sample back through the API, so a drift in layout fails the run.
_SEED_EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
_SEED_AMOUNT_MINOR = 500
_BATCH_WRITE_LIMIT = 25


def _seed_items(donor: str, donations: int, *, thanked: bool, index: int) -> list[dict[str, Any]]:
    """The wire items of one earlier donor with ``donations`` donations."""
    items: list[dict[str, Any]] = []
    recorded = _SEED_EPOCH + timedelta(minutes=index)
    for number in range(donations):
        donation_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{donor}/{number}"))
        key = f"seed-{donation_id}"
        at = (recorded + timedelta(seconds=number)).isoformat()
        values = {
            DONATION_ID_ATTRIBUTE: donation_id,
            DONOR_ID_ATTRIBUTE: donor,
            AMOUNT_MINOR_ATTRIBUTE: _SEED_AMOUNT_MINOR,
            CURRENCY_ATTRIBUTE: "GBP",
            DONATED_AT_ATTRIBUTE: at,
            RECORDED_AT_ATTRIBUTE: at,
            IDEMPOTENCY_KEY_ATTRIBUTE: key,
        }
        donation = {
            PARTITION_KEY: DONOR_KEY_PREFIX + donor,
            SORT_KEY: f"{DONATION_KEY_PREFIX}{at}#{donation_id}",
            **values,
        }
        marker = {
            PARTITION_KEY: IDEMPOTENCY_KEY_PREFIX + key,
            SORT_KEY: IDEMPOTENCY_SORT_KEY,
            FINGERPRINT_ATTRIBUTE: hashlib.sha256(key.encode()).hexdigest(),
            # Long lapsed, as a marker from an earlier run would be.
            EXPIRES_AT_ATTRIBUTE: int((recorded + timedelta(days=1)).timestamp()),
            **values,
        }
        items += [to_wire(donation), to_wire(marker)]
    donor_item: dict[str, Any] = {
        DONATION_COUNT_ATTRIBUTE: donations,
        TOTAL_ATTRIBUTE_PREFIX + "GBP": donations * _SEED_AMOUNT_MINOR,
        DONOR_ID_ATTRIBUTE: donor,
        LAST_RECORDED_AT_ATTRIBUTE: recorded.isoformat(),
    }
    if thanked:
        # Earlier donors past the threshold were thanked back then: the stream consumer
        # reads the mark and sends nothing again.
        donor_item[THANKED_AT_ATTRIBUTE] = recorded.isoformat()
        donor_item[THANK_YOU_MESSAGE_ID_ATTRIBUTE] = f"seed-{index}"
    items.append({**donor_key(donor), **to_wire(donor_item)})
    return items


def seed_table(
    endpoint_url: str, donations: int, run: str, *, threshold: int = DEFAULT_THANK_YOU_THRESHOLD
) -> Seeded:
    """Write ``donations`` donations of earlier donors (one to three each) to the table."""
    rng = random.Random(donations)  # noqa: S311 - a repeatable table, not a secret
    client: Any = boto3.client(
        "dynamodb",
        endpoint_url=endpoint_url,
        region_name=LOCAL_REGION,
        aws_access_key_id="seed",
        aws_secret_access_key="seed",  # noqa: S106 - the emulator accepts any credential
    )
    started = time.perf_counter()
    pending: list[dict[str, Any]] = []
    written = donors = 0
    sample: list[tuple[str, int]] = []

    def flush(at_least: int) -> None:
        while pending and len(pending) >= at_least:
            chunk = pending[:_BATCH_WRITE_LIMIT]
            del pending[:_BATCH_WRITE_LIMIT]
            requests = [{"PutRequest": {"Item": item}} for item in chunk]
            while requests:
                response = client.batch_write_item(RequestItems={LOCAL_TABLE: requests})
                requests = response.get("UnprocessedItems", {}).get(LOCAL_TABLE, [])

    sentinel = f"seed-{run}-last"
    while written < donations - threshold:
        count = min(rng.randint(1, 3), donations - threshold - written)
        donor = f"seed-{run}-{donors}"
        pending += _seed_items(donor, count, thanked=count >= threshold, index=donors)
        if donors % 97 == 0 and len(sample) < 20:
            sample.append((donor, count))
        written += count
        donors += 1
        flush(_BATCH_WRITE_LIMIT)
    if donations >= threshold:
        pending += _seed_items(sentinel, threshold, thanked=False, index=donors)
        written += threshold
        donors += 1
    flush(1)
    return Seeded(
        donations=written,
        donors=donors,
        seconds=time.perf_counter() - started,
        sentinel=sentinel,
        sample=tuple(sample),
    )


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
    seeded: Seeded | None = None,
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
        for donor, count in seeded.sample if seeded else ():
            check.seeded_checked += 1
            found = ask(DONOR, donor)["donor"]
            if (
                found["donationCount"] != count
                or len(found["donations"]["nodes"]) != count
                or (found["thankedAt"] is not None) != (count >= threshold)
            ):
                check.seeded_mismatches += 1
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


def report(
    plan: LoadPlan, result: LoadResult, check: Verification, seeded: Seeded | None = None
) -> str:
    everything = [value for values in result.latencies.values() for value in values]
    errors = sum(result.errors.values()) + len(result.uncertain)
    mismatches = check.mismatches + result.replay_mismatches
    recorded = sum(result.recorded.values())
    lines = [
        f"make load: {plan.clients} clients, {result.requests} requests, "
        f"{plan.donors} donors + {plan.hot_donors} hot ones ({plan.hot_share:.0%} of traffic)",
    ]
    if seeded:
        lines.append(
            f"  seeded      {seeded.donations} donations of {seeded.donors} earlier donors "
            f"in {seeded.seconds:.1f} s, before the clients started"
        )
    lines += [
        f"  recorded    {recorded / result.seconds:.1f} donations/s "
        f"({recorded} new donations in {result.seconds:.1f} s)",
        f"  throughput  {result.requests / result.seconds:.1f} requests/s",
        *_server_cpu(result),
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
        f" ({recorded} donations recorded)",
        f"  seed        {check.seeded_checked} earlier donors read back, "
        f"{check.seeded_mismatches} mismatches",
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


def _server_cpu(result: LoadResult) -> list[str]:
    if result.server_cpu_seconds is None or not result.requests:
        return []
    per_request = result.server_cpu_seconds / result.requests * 1000
    share = result.server_cpu_seconds / result.seconds
    # The server runs on one core at most (one Python process); what it got of that core
    # says how busy the rest of the machine kept it.
    return [
        f"  server CPU  {per_request:.1f} ms per request, {share:.0%} of one core "
        f"(at 100 %: {1000 / per_request:.0f} requests/s)"
    ]


def wait_for_thank_you(
    log_lines: Callable[[], list[dict[str, Any]]], ref: str, timeout: float
) -> bool:
    """Whether a "thank-you sent" line for the donor with this log ref appeared in time."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        sent, _ = _thank_you_lines(log_lines())
        if sent[ref]:
            return True
        time.sleep(0.25)
    return False


@dataclass(frozen=True)
class Target:
    """The server under load: where to send requests, its log, and how to call it."""

    url: str
    log_path: Path
    headers: dict[str, str] = field(default_factory=dict)
    # Its emulated AWS, where seed_table writes.
    emulator_url: str = ""
    # Its process, whose CPU time the report gives.
    pid: int | None = None


@contextlib.contextmanager
def local_server(hash_key: str, auth: str = "none") -> Iterator[Target]:
    """`make run`'s server on a free port (behind the local JWT authorizer if ``auth`` is
    ``jwt``, with a backend's token to call it)."""
    emulator_port = free_port()
    pids: list[int] = []
    with contextlib.ExitStack() as stack:
        issuer_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="issuer-")))
        base_url, log_path = stack.enter_context(
            running_server(
                hash_key,
                auth=auth,
                issuer_dir=issuer_dir,
                emulator_port=emulator_port,
                pids=pids,
            )
        )
        headers = {}
        if auth == "jwt":
            token = LocalIssuer.load_or_create(base_url, issuer_dir).mint(
                scopes=[WRITE_SCOPE, READ_SCOPE]
            )
            headers["authorization"] = f"Bearer {token}"
        yield Target(
            f"{base_url}{GRAPHQL_PATH}",
            log_path,
            headers,
            f"http://127.0.0.1:{emulator_port}",
            pids[0],
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.load", description=__doc__)
    env = os.environ.get
    parser.add_argument("--clients", type=int, default=int(env("LOAD_CLIENTS", "20")))
    parser.add_argument("--requests", type=int, default=int(env("LOAD_REQUESTS", "1000")))
    parser.add_argument("--donors", type=int, default=int(env("LOAD_DONORS", "400")))
    parser.add_argument("--hot-donors", type=int, default=3)
    parser.add_argument("--replay-share", type=float, default=0.05)
    parser.add_argument("--seed", type=int, default=7, help="random seed of the request plan")
    parser.add_argument(
        "--seed-donations",
        type=int,
        default=int(env("LOAD_SEED_DONATIONS", "10000")),
        help="donations of earlier donors written to the table before the load (0: none)",
    )
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
        print(f"Local server at {target.url}, {access} (log: {target.log_path})", flush=True)
        seeded = None
        if args.seed_donations > 0:
            seeded = seed_table(target.emulator_url, args.seed_donations, secrets.token_hex(4))
            print(
                f"Seeded {seeded.donations} donations in {seeded.seconds:.1f} s; "
                "waiting for the stream pump to read past them",
                flush=True,
            )
            from donations.observability import configure_donor_hashing, donor_ref

            configure_donor_hashing(hash_key)

            def log_lines() -> list[dict[str, Any]]:
                return read_json_log(target.log_path)

            if not wait_for_thank_you(log_lines, donor_ref(seeded.sentinel), timeout=600):
                print("The stream pump did not catch up with the seed within 10 minutes")
                return 1
        cpu_before = cpu_seconds(target.pid) if target.pid else None
        result = asyncio.run(run_load(target.url, plan, target.headers))
        cpu_after = cpu_seconds(target.pid) if target.pid else None
        if cpu_before is not None and cpu_after is not None:
            result.server_cpu_seconds = cpu_after - cpu_before
        check = verify(
            target.url,
            result,
            lambda: read_json_log(target.log_path),
            hash_key,
            seeded=seeded,
            headers=target.headers,
        )
    print(report(plan, result, check, seeded))
    failed = sum(result.errors.values()) + len(result.uncertain) + check.mismatches
    return 1 if failed + result.replay_mismatches else 0


if __name__ == "__main__":
    sys.exit(main())
