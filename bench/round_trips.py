"""DynamoDB and SNS requests per operation, counted with botocore events against moto.

The real handler and composition root run against the emulated table; every API call the
service's clients make is recorded by a ``before-parameter-build`` hook on the boto3
session the clients are built from, and every HTTP attempt by ``request-created``, so a
retry would show up as an extra attempt. The thank-you path is the real stream consumer,
fed the emulated table's stream records by ``StreamPump``, as Lambda would.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from bench import documents
from bench.environment import GATEWAY_AUTHORIZER, SERVICE_ENV, environment, stdout_discarded

WRITES = frozenset({"TransactWriteItems", "PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem"})
READS = frozenset({"GetItem", "Query", "Scan", "BatchGetItem", "TransactGetItems"})
COUNTED_SERVICES = ("dynamodb", "sns")


@dataclass
class RequestLog:
    """What the service's clients asked DynamoDB and SNS for."""

    calls: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    attempts: int = 0

    def on_call(self, params: dict[str, Any], event_name: str, **_: Any) -> None:
        _, service, operation = event_name.split(".", 2)
        if service in COUNTED_SERVICES:
            self.calls.append((service, operation, params))

    def on_attempt(self, event_name: str, **_: Any) -> None:
        if event_name.split(".")[1] in COUNTED_SERVICES:
            self.attempts += 1

    @contextlib.contextmanager
    def window(self) -> Iterator[RequestLog]:
        """A fresh log for one operation."""
        self.calls.clear()
        self.attempts = 0
        yield self

    def summary(self) -> dict[str, Any]:
        dynamodb = [(op, params) for service, op, params in self.calls if service == "dynamodb"]
        return {
            "requests": [_describe(service, op, params) for service, op, params in self.calls],
            "dynamodb_writes": sum(op in WRITES for op, _ in dynamodb),
            "dynamodb_reads": sum(op in READS for op, _ in dynamodb),
            "consistent_reads": sum(
                op in READS and bool(params.get("ConsistentRead")) for op, params in dynamodb
            ),
            "conditional_writes": sum(
                op in WRITES and _is_conditional(op, params) for op, params in dynamodb
            ),
            "sns_publishes": sum(
                service == "sns" and op == "Publish" for service, op, _ in self.calls
            ),
            "http_attempts": self.attempts,
        }


def _is_conditional(operation: str, params: dict[str, Any]) -> bool:
    if operation == "TransactWriteItems":
        return any(
            "ConditionExpression" in next(iter(item.values())) for item in params["TransactItems"]
        )
    return "ConditionExpression" in params


def _describe(service: str, operation: str, params: dict[str, Any]) -> str:
    notes = []
    if operation == "TransactWriteItems":
        notes.append(f"{len(params['TransactItems'])} items")
    if params.get("ConsistentRead"):
        notes.append("consistent")
    if operation in WRITES and _is_conditional(operation, params):
        notes.append("conditional")
    detail = f" ({', '.join(notes)})" if notes else ""
    return f"{service}:{operation}{detail}"


@contextlib.contextmanager
def emulated_service() -> Iterator[tuple[Any, Any, RequestLog]]:
    """moto, the emulated resources, a counting boto3 session and a fresh composition root.

    Everything global it touches (environment, boto3's default session, the handler's
    caches) is put back afterwards, so it can run inside a test session.
    """
    import boto3
    from moto import mock_aws

    import handler
    from donations.container import build_services
    from donations.settings import Settings
    from local.emulator import create_resources
    from local.stream_pump import StreamPump

    log = RequestLog()
    previous_session = boto3.DEFAULT_SESSION
    # In this process, not in Lambda mode: moto has no X-Ray daemon to trace to.
    service_env = {**SERVICE_ENV, "AWS_ENDPOINT_URL": None, "POWERTOOLS_TRACE_DISABLED": "true"}
    with environment(service_env), mock_aws():
        session = boto3.setup_default_session()  # noqa: F841 - sets boto3.DEFAULT_SESSION
        events = boto3.DEFAULT_SESSION.events  # type: ignore[union-attr]
        events.register("before-parameter-build", log.on_call)
        events.register("request-created", log.on_attempt)
        try:
            resources = create_resources(f"donations-bench-{uuid.uuid4().hex[:8]}")
            # Clients from the counting session, as a cold start in Lambda would build them.
            services = build_services(Settings.from_env())
            api = handler.create_api_handler(services)
            pump = StreamPump(
                resources.stream_arn, handler.create_thank_you_handler(services), retry_delay=0
            )
            yield api, pump, log
        finally:
            boto3.DEFAULT_SESSION = previous_session


def _graphql(api: Any, document: str, variables: dict[str, Any]) -> dict[str, Any]:
    import json

    from local.lambda_context import LocalLambdaContext
    from local.lambda_events import graphql_event

    event = graphql_event(document, variables, authorizer=dict(GATEWAY_AUTHORIZER))
    response = api(event, LocalLambdaContext())
    body: dict[str, Any] = json.loads(response["body"])
    if response["statusCode"] != 200 or body.get("errors"):
        raise RuntimeError(f"request failed ({response['statusCode']}): {body}")
    return body


def _expect(figures: dict[str, Any], expected: str, ok: bool) -> dict[str, Any]:
    return {**figures, "expected": expected, "ok": ok}


def measure_round_trips() -> dict[str, Any]:
    """Requests per operation, each checked against what the design promises."""
    results: dict[str, Any] = {}
    run = uuid.uuid4().hex[:8]
    with emulated_service() as (api, pump, log), stdout_discarded():
        donor, key = f"rt-{run}", f"rt-key-{run}"
        with log.window():
            _graphql(api, documents.RECORD_DONATION, documents.record_variables(donor, key))
            figures = log.summary()
        results["recordDonation"] = _expect(
            figures,
            "1 conditional write, no read",
            figures["dynamodb_writes"] == 1
            and figures["conditional_writes"] == 1
            and figures["dynamodb_reads"] == 0,
        )

        with log.window():
            body = _graphql(api, documents.RECORD_DONATION, documents.record_variables(donor, key))
            figures = log.summary()
        replayed = body["data"]["recordDonation"]["replayed"]
        results["recordDonation (replayed key)"] = _expect(
            figures,
            "1 write (cancelled, returns the original), no read",
            replayed and figures["dynamodb_writes"] == 1 and figures["dynamodb_reads"] == 0,
        )

        with log.window():
            _graphql(
                api,
                documents.RECORD_DONATION_WITH_DONOR,
                documents.record_variables(donor, f"{key}-2"),
            )
            figures = log.summary()
        results["recordDonation selecting donor"] = _expect(
            figures,
            "1 write + 1 consistent read (the donor alone)",
            figures["dynamodb_writes"] == 1
            and figures["dynamodb_reads"] == 1
            and figures["consistent_reads"] == 1,
        )

        with log.window():
            _graphql(api, documents.DONATION_COUNT, {"donorId": donor})
            figures = log.summary()
        results["donationCount"] = _expect(
            figures,
            "1 read",
            figures["dynamodb_reads"] == 1 and figures["dynamodb_writes"] == 0,
        )

        with log.window():
            _graphql(api, documents.DONOR_WITH_DONATIONS, {"id": donor})
            figures = log.summary()
        results["donor with donations"] = _expect(
            figures,
            "1 consistent Query (the donor, then its first page)",
            figures["requests"] == ["dynamodb:Query (consistent)"],
        )

        with log.window():
            _graphql(api, documents.DONOR_WITH_TIMES, {"id": donor})
            figures = log.summary()
        results["donor with first/last times"] = _expect(
            figures,
            "the same 1 Query while the page holds every donation",
            figures["requests"] == ["dynamodb:Query (consistent)"],
        )

        # The donor above has crossed the threshold (2): the stream carries the crossing.
        with log.window():
            pump.drain()
            figures = log.summary()
        results["thank-you"] = _expect(
            figures,
            "at most 1 conditional write + 1 publish",
            figures["sns_publishes"] == 1
            and figures["dynamodb_writes"] <= 1
            and figures["conditional_writes"] == figures["dynamodb_writes"],
        )

        # Lambda may deliver a batch again: the consumer must not publish twice.
        with log.window():
            for batch in list(pump.delivered_batches):
                pump.deliver(batch)
            figures = log.summary()
        results["thank-you (batch redelivered)"] = _expect(
            figures,
            "no publish, no write",
            figures["sns_publishes"] == 0 and figures["dynamodb_writes"] == 0,
        )
    results["all_ok"] = all(value["ok"] for value in results.values())
    return results
