"""Warm overhead: our handler end to end, DynamoDB's latency excluded, against graphql-core.

The handler is the real one (Powertools logger and metrics, Mangum, Strawberry's ASGI app
with its extensions, our resolvers, domain and DynamoDB adapter) called with a real HTTP API
v2 event. Its DynamoDB client is real too, answered at botocore's HTTP send by canned
responses (``bench.canned``), so botocore's CPU (validation, serialisation, signing,
parsing) is timed as Lambda spends it, and the network is not.

The yardstick is graphql-core parsing, validating and executing the same document against
the same schema and resolvers, with no cache: what a plain GraphQL server spends.
"""

from __future__ import annotations

import contextlib
import gc
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from bench import documents
from bench.canned import DONOR_ID as SEEDED_DONOR
from bench.canned import canned_dynamodb_client
from bench.environment import GATEWAY_AUTHORIZER, LAMBDA_LIKE_ENV, environment, stdout_discarded
from bench.stats import summary
from donations.constants import ENV_TOPIC_ARN


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


@contextlib.contextmanager
def canned_handler() -> Iterator[tuple[Any, Any, Any]]:
    """The real API handler and its ledger, composed over a canned DynamoDB client."""
    with environment({**LAMBDA_LIKE_ENV, ENV_TOPIC_ARN: None}):
        import handler
        from donations.container import AwsClients, build_services
        from donations.settings import Settings

        services = build_services(Settings.from_env(), AwsClients(canned_dynamodb_client()))
        yield handler.create_api_handler(services), handler.create_app(services), services.ledger


def _events(operation: Operation, start: int, count: int) -> list[dict[str, Any]]:
    from local.lambda_events import graphql_event

    return [
        graphql_event(
            operation.document,
            operation.variables(start + i),
            authorizer=dict(GATEWAY_AUTHORIZER),
        )
        for i in range(count)
    ]


def _time_handler(api_handler: Any, events: list[dict[str, Any]]) -> float:
    from local.lambda_context import LocalLambdaContext

    context = LocalLambdaContext()
    gc.collect()
    started = time.perf_counter()
    for event in events:
        response = api_handler(event, context)
    elapsed = time.perf_counter() - started
    _check(json.loads(response["body"]), response["statusCode"])
    return elapsed / len(events)


def _time_graphql_core(
    gql_schema: Any, ledger: Any, operation: Operation, start: int, count: int
) -> float:
    from graphql import graphql_sync

    from resolvers.access import Caller
    from resolvers.context import RequestContext

    variables = [operation.variables(start + i) for i in range(count)]
    gc.collect()
    started = time.perf_counter()
    for values in variables:
        result = graphql_sync(
            gql_schema,
            operation.document,
            variable_values=values,
            context_value=RequestContext(
                ledger=ledger, request_id="bench", caller=Caller.open_stage()
            ),
        )
    elapsed = time.perf_counter() - started
    _check({"data": result.data, "errors": result.errors}, 200)
    return elapsed / count


def _time_strawberry(
    strawberry_schema: Any, ledger: Any, operation: Operation, start: int, count: int
) -> float:
    """The same schema with its extensions (caches, limits), without Lambda, ASGI or HTTP."""
    from resolvers.access import Caller
    from resolvers.context import RequestContext

    variables = [operation.variables(start + i) for i in range(count)]
    gc.collect()
    started = time.perf_counter()
    for values in variables:
        result = strawberry_schema.execute_sync(
            operation.document,
            variable_values=values,
            context_value=RequestContext(
                ledger=ledger, request_id="bench", caller=Caller.open_stage()
            ),
        )
    elapsed = time.perf_counter() - started
    _check({"data": result.data, "errors": result.errors}, 200)
    return elapsed / count


def _check(body: dict[str, Any], status: int) -> None:
    if status != 200 or body.get("errors") or not body.get("data"):
        raise RuntimeError(f"benchmark request failed ({status}): {body}")


def measure_warm(*, rounds: int = 9, iterations: int = 300, warmup: int = 50) -> dict[str, Any]:
    """Per operation: µs per request through the handler and through graphql-core, and
    their ratio, each a median over ``rounds`` interleaved rounds of ``iterations``."""
    results: dict[str, Any] = {}
    with canned_handler() as (handler, app, ledger), stdout_discarded():
        # The schema the handler serves, as graphql-core sees it: same types, same resolvers.
        strawberry_schema = app.schema
        gql_schema = strawberry_schema._schema
        counter = 0
        for operation in OPERATIONS:
            _time_handler(handler, _events(operation, counter, warmup))
            _time_graphql_core(gql_schema, ledger, operation, counter + warmup, warmup)
            counter += 2 * warmup
            ours: list[float] = []
            theirs: list[float] = []
            ratios: list[float] = []
            executes: list[float] = []
            for _ in range(rounds):
                events = _events(operation, counter, iterations)
                handler_time = _time_handler(handler, events)
                core_time = _time_graphql_core(
                    gql_schema, ledger, operation, counter + iterations, iterations
                )
                execute_time = _time_strawberry(
                    strawberry_schema, ledger, operation, counter + 2 * iterations, iterations
                )
                counter += 3 * iterations
                executes.append(execute_time * 1e6)
                ours.append(handler_time * 1e6)
                theirs.append(core_time * 1e6)
                ratios.append(handler_time / core_time)
            results[operation.name] = {
                "handler_us": summary(ours, 1),
                "graphql_core_uncached_us": summary(theirs, 1),
                "strawberry_cached_no_http_us": summary(executes, 1),
                "ratio": summary(ratios),
            }
    results["goal"] = 0.25
    results["worst_ratio"] = max(results[op.name]["ratio"]["median"] for op in OPERATIONS)
    return results
