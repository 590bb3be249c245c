"""Warm CPU per request: what Lambda runs, DynamoDB's latency excluded, against two references.

Times are this process's CPU time (``time.process_time``), not wall time: the machine is
shared, and CPU time leaves out the moments another process has the core.

Measured in a child interpreter in Lambda mode (``bench.environment``: tracing on, the entry
point built at import as Lambda's init builds it), where ``handler.api_handler``, the very
function Lambda calls, serves HTTP API v2 events. Its DynamoDB client is real and configured
as in production; botocore's HTTP send is answered by canned responses (``bench.canned``), so
botocore's CPU (validation, serialisation, signing, parsing) is timed and the network is not.
Each invocation gets a fresh ``_X_AMZN_TRACE_ID`` as the runtime sets it, unsampled as most
requests are (X-Ray samples 1 request/s + 5 %); one extra row times sampled requests.

The references, timed in the same rounds:

- **graphql-core + the same DynamoDB calls** (``bench.graphql_core_reference``):
  ``graphql_sync`` parsing, validating and executing the same document, uncached, against
  our SDL with plain resolvers making the same calls through our DynamoDB adapter, over a
  client with botocore's defaults. The goal is a ratio to this.
- **the same-stack minimal app** (``bench.minimal_app``), for ``donationCount``.
- **Strawberry without HTTP**: our schema's ``execute_sync`` (caches and limits included),
  with no Lambda, Mangum, ASGI or Powertools around it: what the layers around it cost.
"""

from __future__ import annotations

import gc
import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bench import documents
from bench.canned import DONOR_ID as SEEDED_DONOR
from bench.environment import (
    GATEWAY_AUTHORIZER,
    run_measurement,
    stdout_discarded,
    trace_header,
)
from bench.stats import summary

GOAL = 0.70
TRACE_HEADER = "_X_AMZN_TRACE_ID"


@dataclass(frozen=True)
class Operation:
    name: str
    document: str
    variables: Callable[[int], dict[str, Any]]


def _record_variables(index: int) -> dict[str, Any]:
    # Many donors, a fresh idempotency key each time: every call records a new donation.
    return documents.record_variables(f"bench-donor-{index % 997}", f"bench-key-{index:09d}")


OPERATIONS = (
    Operation("recordDonation", documents.RECORD_DONATION, _record_variables),
    Operation("donationCount", documents.DONATION_COUNT, lambda _: {"donorId": SEEDED_DONOR}),
    Operation("donor", documents.DONOR_WITH_DONATIONS, lambda _: {"id": SEEDED_DONOR}),
)
SAMPLED_ROW = "donationCount, trace sampled"


@dataclass(frozen=True)
class Contestants:
    """What one round times, each over the same canned DynamoDB."""

    handler: Any  # handler.api_handler: what Lambda calls
    minimal_app: Any  # bench.minimal_app.handler
    strawberry_schema: Any  # our schema, over a client configured as ours
    ledger: Any
    reference_schema: Any  # bench.graphql_core_reference, over a default client
    reference_root: Any


def _compose() -> Contestants:
    from bench.canned import answer_from_canned, canned_dynamodb_client

    answer_from_canned()  # before the import: the handler builds its client then
    import handler
    from bench import minimal_app
    from bench.graphql_core_reference import Root, reference_schema
    from donations.adapters.dynamodb import DynamoDBDonationStore
    from donations.container import build_services
    from donations.settings import Settings

    # One more composition over the same canned answers; the handler has read the key.
    settings = Settings.from_env()
    ours = build_services(settings, log_hash_key_later=True)
    default_client = canned_dynamodb_client(as_the_service_configures_it=False)
    return Contestants(
        handler=handler.api_handler,
        minimal_app=minimal_app.handler,
        strawberry_schema=handler.create_app(ours).schema,
        ledger=ours.ledger,
        reference_schema=reference_schema(),
        reference_root=Root(DynamoDBDonationStore(default_client, settings.table_name)),
    )


def graphql_events(operation: Operation, start: int, count: int) -> list[dict[str, Any]]:
    from local.lambda_events import graphql_event

    return [
        graphql_event(
            operation.document,
            operation.variables(start + i),
            authorizer=dict(GATEWAY_AUTHORIZER),
        )
        for i in range(count)
    ]


def _time_lambda(function: Any, events: list[dict[str, Any]], *, sampled: bool = False) -> float:
    from local.lambda_context import LocalLambdaContext

    context = LocalLambdaContext()
    headers = [trace_header(sampled=sampled) for _ in events]
    gc.collect()
    started = time.process_time()
    for event, header in zip(events, headers, strict=True):
        os.environ[TRACE_HEADER] = header
        response = function(event, context)
    elapsed = time.process_time() - started
    _check(json.loads(response["body"]), response["statusCode"])
    return elapsed / len(events)


def _time_graphql_core(
    gql_schema: Any, root: Any, operation: Operation, start: int, count: int
) -> float:
    from graphql import graphql_sync

    variables = [operation.variables(start + i) for i in range(count)]
    gc.collect()
    started = time.process_time()
    for values in variables:
        result = graphql_sync(
            gql_schema, operation.document, root_value=root, variable_values=values
        )
    elapsed = time.process_time() - started
    _check({"data": result.data, "errors": result.errors}, 200)
    return elapsed / count


def _time_strawberry(
    strawberry_schema: Any, ledger: Any, operation: Operation, start: int, count: int
) -> float:
    from resolvers.access import Caller
    from resolvers.context import RequestContext

    variables = [operation.variables(start + i) for i in range(count)]
    gc.collect()
    started = time.process_time()
    for values in variables:
        result = strawberry_schema.execute_sync(
            operation.document,
            variable_values=values,
            context_value=RequestContext(
                ledger=ledger, request_id="bench", caller=Caller.open_stage()
            ),
        )
    elapsed = time.process_time() - started
    _check({"data": result.data, "errors": result.errors}, 200)
    return elapsed / count


def _check(body: dict[str, Any], status: int) -> None:
    if status != 200 or body.get("errors") or not body.get("data"):
        raise RuntimeError(f"benchmark request failed ({status}): {body}")


def _one_round(
    contestants: Contestants, operation: Operation, start: int, count: int
) -> dict[str, float]:
    """Seconds per request of each contestant, one after the other, fresh variables each."""
    figures = {
        "handler": _time_lambda(contestants.handler, graphql_events(operation, start, count)),
        "graphql_core": _time_graphql_core(
            contestants.reference_schema, contestants.reference_root, operation, start, count
        ),
        "strawberry": _time_strawberry(
            contestants.strawberry_schema, contestants.ledger, operation, start, count
        ),
    }
    if operation.name == "donationCount":
        events = graphql_events(operation, start, count)
        figures["minimal_app"] = _time_lambda(contestants.minimal_app, events)
        figures["sampled"] = _time_lambda(contestants.handler, events, sampled=True)
    return figures


def run_warm(*, rounds: int, iterations: int, warmup: int) -> dict[str, Any]:
    """The measurement itself, in this (Lambda-mode) interpreter."""
    results: dict[str, Any] = {}
    with stdout_discarded():
        contestants = _compose()
        counter = 0
        for operation in OPERATIONS:
            _one_round(contestants, operation, counter, warmup)
            samples = []
            for _ in range(rounds):
                # Fresh keys every round: each recordDonation is a new donation.
                counter += 10 * iterations
                samples.append(_one_round(contestants, operation, counter, iterations))
            results[operation.name] = _summarise(samples)
            if operation.name == "donationCount":
                results[SAMPLED_ROW] = _summarise(samples, handler="sampled")
    results["goal"] = GOAL
    results["worst_ratio"] = max(results[op.name]["ratio"]["median"] for op in OPERATIONS)
    return results


def _summarise(samples: list[dict[str, float]], handler: str = "handler") -> dict[str, Any]:
    def us(name: str) -> dict[str, Any]:
        return summary([sample[name] * 1e6 for sample in samples], 1)

    figures = {
        "handler_us": us(handler),
        "graphql_core_us": us("graphql_core"),
        "strawberry_no_http_us": us("strawberry"),
        "ratio": summary([sample[handler] / sample["graphql_core"] for sample in samples]),
    }
    if "minimal_app" in samples[0] and handler == "handler":
        figures["minimal_app_us"] = us("minimal_app")
        figures["ratio_to_minimal_app"] = summary(
            [sample["handler"] / sample["minimal_app"] for sample in samples]
        )
    return figures


def measure_warm(*, rounds: int = 9, iterations: int = 300, warmup: int = 50) -> dict[str, Any]:
    """Per operation, µs per request through the handler and each reference, and the ratios:
    medians over ``rounds`` interleaved rounds of ``iterations`` requests each."""
    return run_measurement("bench.warm", rounds, iterations, warmup, what="warm measurement")


if __name__ == "__main__":
    rounds, iterations, warmup = (int(arg) for arg in sys.argv[1:4])
    figures = run_warm(rounds=rounds, iterations=iterations, warmup=warmup)
    sys.stdout.write(json.dumps(figures) + "\n")
