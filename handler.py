"""AWS Lambda entry points: the GraphQL API and the thank-you stream consumer.

This is where the container is composed: ``donations.container`` builds clients, adapters
and services; ``create_api_handler`` and ``create_thank_you_handler`` put the schema, the
HTTP app and the Powertools decorators around them. The module-level ``api_handler`` and
``thank_you_handler`` (what Lambda calls) build theirs once, on first use, from the
environment. The handlers only translate between Lambda events and the service.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from donations.container import Services, services
from donations.observability import count, logger, metrics, report_thank_you, tracer
from schema import build_schema
from schema.http import TEXT_MIME_TYPES, DonationsGraphQL

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import (
        DynamoDBRecord,
    )

LambdaHandler = Callable[[dict[str, Any], LambdaContext], dict[str, Any]]


def create_app(services: Services) -> DonationsGraphQL:
    """The ASGI app over these services: what Mangum serves in Lambda and uvicorn locally."""
    settings = services.settings
    schema = build_schema(introspection=settings.introspection)
    return DonationsGraphQL(
        schema,
        services.ledger,
        graphiql=settings.graphiql,
        authorization=settings.authorization,
        donor_id_claim=settings.donor_id_claim,
    )


def create_api_handler(services: Services) -> LambdaHandler:
    from mangum import Mangum

    # Strawberry's app has no lifespan events; "auto" would log an error on every call.
    asgi = Mangum(create_app(services), lifespan="off", text_mime_types=[*TEXT_MIME_TYPES])

    @logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
    @tracer.capture_lambda_handler(capture_response=False)
    @metrics.log_metrics(capture_cold_start_metric=True)
    def api_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        count("ApiRequests")
        response: dict[str, Any] = asgi(event, context)  # type: ignore[arg-type]
        return response

    decorated: LambdaHandler = api_handler  # Powertools' decorators return untyped wrappers
    return decorated


def create_thank_you_handler(services: Services) -> LambdaHandler:
    # The stream consumer's modules load here, not at import: the API function runs this
    # file too, and they would add ~70 ms to each of its cold starts.
    from aws_lambda_powertools.utilities.batch import (
        BatchProcessor,
        EventType,
        process_partial_response,
    )

    from donations.adapters.stream import donor_change_from_record

    thank_you = services.thank_you
    if thank_you is None:
        raise ValueError("the thank-you topic is not configured")
    # Report a batch whose every record failed like any other partial failure, instead of
    # raising: the failure is then logged and counted, and Lambda retries the same records.
    processor = BatchProcessor(
        event_type=EventType.DynamoDBStreams, raise_on_entire_batch_failure=False
    )

    @tracer.capture_method(capture_response=False)
    def thank_if_due(record: DynamoDBRecord) -> None:
        change = donor_change_from_record(record)
        if change is not None:
            report_thank_you(thank_you.handle(change), correlation_id=change.correlation_id)

    @logger.inject_lambda_context
    @tracer.capture_lambda_handler(capture_response=False)
    @metrics.log_metrics(capture_cold_start_metric=True)
    def thank_you_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        count("StreamRecordsReceived", len(event.get("Records", [])))
        response = process_partial_response(
            event=event, record_handler=thank_if_due, processor=processor, context=context
        )
        failures = len(response.get("batchItemFailures", []))
        if failures:
            logger.warning("thank-you records failed", extra={"failed_records": failures})
            count("ThankYouFailed", failures)
        return dict(response)

    decorated: LambdaHandler = thank_you_handler
    return decorated


@functools.cache
def _api() -> LambdaHandler:
    return create_api_handler(services())


@functools.cache
def _thank_you() -> LambdaHandler:
    return create_thank_you_handler(services())


def api_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return _api()(event, context)


def thank_you_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return _thank_you()(event, context)
