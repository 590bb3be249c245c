"""What each layer and each botocore setting costs a warm request: ``python -m bench.layers``.

In one Lambda-mode interpreter (as ``bench.warm``), over the same canned AWS answers, the
API handler is composed several ways: as deployed; over DynamoDB clients with botocore's
defaults plus one of our settings at a time; without Powertools' three decorators; and the
schema alone (``execute_sync``). Batches of requests rotate between the variants so that
each sees the same moments of a busy machine; each figure is CPU time per request, and the
ratio to the deployed handler is the median over batches.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

from bench.environment import (
    run_measurement,
    stdout_discarded,
    trace_header,
)
from bench.warm import OPERATIONS, Operation, graphql_events

Variant = Callable[[Operation, int, int], float]


def _lambda_variant(function: Any) -> Variant:
    from local.lambda_context import LocalLambdaContext

    context = LocalLambdaContext()

    def run(operation: Operation, start: int, count: int) -> float:
        events = graphql_events(operation, start, count)
        headers = [trace_header(sampled=False) for _ in events]
        started = time.process_time()
        for event, header in zip(events, headers, strict=True):
            os.environ["_X_AMZN_TRACE_ID"] = header
            function(event, context)
        return (time.process_time() - started) / count

    return run


def _schema_variant(services: Any) -> Variant:
    import handler
    from resolvers.access import Caller
    from resolvers.context import RequestContext

    schema = handler.create_app(services).schema

    def run(operation: Operation, start: int, count: int) -> float:
        variables = [operation.variables(start + i) for i in range(count)]
        started = time.process_time()
        for values in variables:
            schema.execute_sync(
                operation.document,
                variable_values=values,
                context_value=RequestContext(
                    ledger=services.ledger, request_id="layers", caller=Caller.open_stage()
                ),
            )
        return (time.process_time() - started) / count

    return run


def _variants() -> dict[str, Variant]:
    from aws_lambda_powertools.utilities.typing import LambdaContext
    from botocore.config import Config
    from mangum import Mangum

    from bench.canned import answer_from_canned

    answer_from_canned()
    import boto3

    import handler
    from donations.container import AwsClients, build_services
    from donations.observability import count
    from donations.settings import Settings
    from schema.http import TEXT_MIME_TYPES

    def services(config: Config | None = None) -> Any:
        clients = AwsClients(boto3.client("dynamodb", config=config)) if config else None
        return build_services(Settings.from_env(), clients, log_hash_key_later=True)

    deployed = services()
    asgi = Mangum(handler.create_app(deployed), lifespan="off", text_mime_types=[*TEXT_MIME_TYPES])

    def undecorated(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        count("ApiRequests")
        response: dict[str, Any] = asgi(event, context)  # type: ignore[arg-type]
        return response

    user_agent = "donations"
    return {
        "as deployed": _lambda_variant(handler.create_api_handler(deployed)),
        "botocore defaults": _lambda_variant(handler.create_api_handler(services(Config()))),
        "defaults + fixed user_agent": _lambda_variant(
            handler.create_api_handler(services(Config(user_agent=user_agent)))
        ),
        "defaults + parameter_validation off": _lambda_variant(
            handler.create_api_handler(services(Config(parameter_validation=False)))
        ),
        "no Powertools decorators": _lambda_variant(undecorated),
        "schema only (execute_sync)": _schema_variant(deployed),
    }


def run_layers(*, batches: int, batch: int) -> dict[str, Any]:
    results: dict[str, Any] = {}
    with stdout_discarded():
        variants = _variants()
        names = list(variants)
        start = 0
        for operation in OPERATIONS[:2]:  # recordDonation, donationCount
            samples: dict[str, list[float]] = {name: [] for name in names}
            for name in names:  # warm-up
                variants[name](operation, start, batch)
                start += batch
            for index in range(batches):
                for name in names[index % len(names) :] + names[: index % len(names)]:
                    samples[name].append(variants[name](operation, start, batch))
                    start += batch
            deployed = samples["as deployed"]
            results[operation.name] = {
                name: {
                    "us": round(statistics.median(values) * 1e6),
                    "ratio": round(
                        statistics.median(v / d for v, d in zip(values, deployed, strict=True)),
                        3,
                    ),
                }
                for name, values in samples.items()
            }
    return results


def measure_layers(*, batches: int = 80, batch: int = 20) -> dict[str, Any]:
    return run_measurement("bench.layers", "--child", batches, batch, what="layers measurement")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.layers", description=__doc__)
    parser.add_argument("--batches", type=int, default=80, help="batches per variant")
    parser.add_argument("--batch", type=int, default=20, help="requests per batch")
    args = parser.parse_args()
    for operation, variants in measure_layers(batches=args.batches, batch=args.batch).items():
        print(f"\n{operation}: CPU µs per request, and ratio to the deployed handler")
        for name, figures in variants.items():
            print(f"   {name:<38}{figures['us']:>7}   {figures['ratio']:.3f}")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        figures = run_layers(batches=int(sys.argv[2]), batch=int(sys.argv[3]))
        sys.stdout.write(json.dumps(figures) + "\n")
    else:
        main()
