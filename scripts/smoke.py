"""`make smoke URL=https://.../graphql`: a short production check of a live endpoint.

Uses only httpx. Checks that the endpoint is reachable, the schema answers, a synthetic
donor's donation (donor ``smoke-<random>``, one donation, so it never reaches the thank-you
threshold) is recorded with an idempotency key and counted, a replay of it is idempotent,
and bad input is rejected cleanly (a typed InvalidDonation, no 5xx, nothing written). Each
response's latency is reported against a budget; the first request may be a cold start and
gets its own. Exit status 0 when every check passes, 1 otherwise.

A protected stage needs a token (``TOKEN=...``, read from ``SMOKE_TOKEN``): a writer's
(``donations/write``), ideally also with ``donations/read``. Every request then carries it,
and one more check confirms that the same request without it is refused with 401. With a
write-only token the two count checks are reported as skipped: the API rightly refuses to
let it read.
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

RECORD = """mutation Smoke($input: RecordDonationInput!) {
  recordDonation(input: $input) {
    __typename
    ... on RecordDonationSuccess { replayed donation { id donorId amount currency } }
    ... on InvalidDonation { message errors { field code } }
    ... on IdempotencyKeyReused { message }
  }
}"""
COUNT = "query SmokeCount($id: ID!) { donationCount(donorId: $id) }"


class CheckFailed(Exception):
    """A smoke check saw something a healthy deployment would not do."""


class CheckSkipped(Exception):
    """A check the caller's token has no right to make; not a failure."""


@dataclass
class Smoke:
    url: str
    budget_ms: float
    cold_budget_ms: float
    timeout: float
    # Never printed: only whether there is one.
    token: str | None = field(default=None, repr=False)
    run: str = field(default_factory=lambda: secrets.token_hex(6))
    lines: list[str] = field(default_factory=list)
    failures: int = 0
    skipped: int = 0
    calls: int = 0

    def post(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        *,
        with_token: bool = True,
    ) -> tuple[Any, float]:
        self.calls += 1
        payload: dict[str, Any] = {"query": query}
        if variables is not None:
            payload["variables"] = variables
        headers = {"x-request-id": f"smoke-{self.run}-{self.calls}"}
        if self.token and with_token:
            headers["authorization"] = f"Bearer {self.token}"
        started = time.perf_counter()
        response = httpx.post(self.url, json=payload, headers=headers, timeout=self.timeout)
        return response, (time.perf_counter() - started) * 1e3

    def check(
        self, name: str, step: Callable[[], tuple[float, str]], *, cold: bool = False
    ) -> None:
        budget = self.cold_budget_ms if cold else self.budget_ms
        try:
            latency, detail = step()
        except CheckSkipped as skip:
            self.skipped += 1
            self.lines.append(f"SKIP  {name:<22} {skip}")
            return
        except (CheckFailed, httpx.HTTPError, ValueError, KeyError, TypeError) as error:
            self.failures += 1
            self.lines.append(f"FAIL  {name:<22} {type(error).__name__}: {error}")
            return
        slow = latency > budget
        self.failures += slow
        verdict = "SLOW" if slow else "PASS"
        self.lines.append(
            f"{verdict}  {name:<22} {latency:7.0f} ms (budget {budget:,.0f} ms)  {detail}"
        )


def _json(response: httpx.Response) -> dict[str, Any]:
    if response.status_code >= 500:
        raise CheckFailed(f"HTTP {response.status_code}")
    if response.status_code == 401:
        raise CheckFailed("HTTP 401: the stage checks callers; pass TOKEN=<a writer's token>")
    body: dict[str, Any] = response.json()
    return body


def _record_result(response: httpx.Response) -> dict[str, Any]:
    body = _json(response)
    if "FORBIDDEN" in _codes(body):
        raise CheckFailed("the token may not record donations: it needs donations/write")
    result: dict[str, Any] = body["data"]["recordDonation"]
    return result


def _codes(body: dict[str, Any]) -> set[str]:
    return {error.get("extensions", {}).get("code") for error in body.get("errors") or []}


def _data(response: httpx.Response) -> dict[str, Any]:
    body = _json(response)
    if "FORBIDDEN" in _codes(body):
        raise CheckSkipped("the token may not read donors (it has no donations/read)")
    data: dict[str, Any] = body["data"]
    return data


def run_checks(smoke: Smoke) -> None:  # noqa: PLR0915 - one short step per check, in order
    donor = f"smoke-{smoke.run}"
    key = f"smoke-key-{smoke.run}"
    donation = {"donorId": donor, "amount": "1.00", "currency": "GBP", "idempotencyKey": key}
    recorded: dict[str, Any] = {}

    def reachable() -> tuple[float, str]:
        response, latency = smoke.post("{ __typename }")
        _json(response)
        if response.status_code != 200:
            raise CheckFailed(f"HTTP {response.status_code}")
        return latency, f"HTTP {response.status_code}"

    def refuses_no_token() -> tuple[float, str]:
        response, latency = smoke.post("{ __typename }", with_token=False)
        if response.status_code != 401:
            raise CheckFailed(f"HTTP {response.status_code} without a token, expected 401")
        return latency, "HTTP 401 without a token"

    def schema_answers() -> tuple[float, str]:
        response, latency = smoke.post("query SmokeTypename { __typename }")
        typename = _json(response).get("data", {}).get("__typename")
        if typename != "Query":
            raise CheckFailed(f"__typename is {typename!r}")
        return latency, "__typename = Query"

    def record() -> tuple[float, str]:
        response, latency = smoke.post(RECORD, {"input": donation})
        result = _record_result(response)
        if result["__typename"] != "RecordDonationSuccess" or result["replayed"]:
            raise CheckFailed(f"got {result}")
        recorded.update(result["donation"])
        return latency, f"donation {result['donation']['id']} for {donor}"

    def counted(expected: int) -> Callable[[], tuple[float, str]]:
        def step() -> tuple[float, str]:
            response, latency = smoke.post(COUNT, {"id": donor})
            count = _data(response)["donationCount"]
            if count != expected:
                raise CheckFailed(f"donationCount is {count}, expected {expected}")
            return latency, f"donationCount = {count}"

        return step

    def replay() -> tuple[float, str]:
        response, latency = smoke.post(RECORD, {"input": donation})
        result = _record_result(response)
        if not result.get("replayed") or result["donation"]["id"] != recorded.get("id"):
            raise CheckFailed(f"replay was not idempotent: {result}")
        return latency, "replayed = true, same donation id"

    def rejects_bad_input() -> tuple[float, str]:
        bad = {**donation, "amount": "-5", "idempotencyKey": f"{key}-bad"}
        response, latency = smoke.post(RECORD, {"input": bad})
        result = _record_result(response)
        if result["__typename"] != "InvalidDonation":
            raise CheckFailed(f"expected InvalidDonation, got {result['__typename']}")
        fields = ", ".join(f"{e['field']} {e['code']}" for e in result["errors"])
        return latency, f"HTTP {response.status_code}, InvalidDonation ({fields})"

    def rejects_broken_document() -> tuple[float, str]:
        response, latency = smoke.post("{ donationCount(donorId: ")
        body = _json(response)
        if not body.get("errors") or response.status_code >= 500:
            raise CheckFailed(f"HTTP {response.status_code}: {body}")
        if "Traceback" in response.text:
            raise CheckFailed("the error leaks a stack trace")
        return latency, f"HTTP {response.status_code}, GraphQL error, no stack trace"

    smoke.check("reachable", reachable, cold=True)
    if smoke.token:
        smoke.check("no token refused", refuses_no_token)
    smoke.check("schema answers", schema_answers)
    smoke.check("donation recorded", record)
    smoke.check("donation counted", counted(1))
    smoke.check("replay idempotent", replay)
    smoke.check("bad input rejected", rejects_bad_input)
    smoke.check("broken query rejected", rejects_broken_document)
    smoke.check("nothing extra written", counted(1))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.smoke", description=__doc__)
    parser.add_argument("url", help="the GraphQL endpoint, e.g. https://abc.execute-api.../graphql")
    parser.add_argument("--budget-ms", type=float, default=1000)
    parser.add_argument("--cold-budget-ms", type=float, default=5000)
    parser.add_argument("--timeout", type=float, default=10)
    args = parser.parse_args(argv)
    # From the environment rather than argv, where other users of the machine could see it.
    token = os.environ.get("SMOKE_TOKEN", "").strip() or None
    smoke = Smoke(args.url, args.budget_ms, args.cold_budget_ms, args.timeout, token=token)
    access = "with a token" if token else "without a token"
    print(f"Smoke test of {args.url} (run {smoke.run}, {access})")
    run_checks(smoke)
    print("\n".join(smoke.lines))
    if smoke.failures:
        print(f"smoke test FAILED: {smoke.failures} of {len(smoke.lines)} checks")
        return 1
    skipped = f" ({smoke.skipped} skipped)" if smoke.skipped else ""
    print(f"smoke test passed: {len(smoke.lines)} checks{skipped}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
