"""AWS Lambda entry points: the GraphQL API and the thank-you stream consumer.

Both only translate between Lambda events and the service: parsing, calling, formatting.
Clients and services are built on the first invocation of each container, then reused.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any, cast

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from mangum import Mangum

from donations.container import services
from donations.observability import donor_ref, logger, metrics, tracer
from schema.http import TEXT_MIME_TYPES, create_service_app

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.batch import BatchProcessor
    from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import (
        DynamoDBRecord,
    )


@functools.cache
def _api() -> Mangum:
    # Strawberry's app has no lifespan events; "auto" would log an error on every call.
    return Mangum(create_service_app(), lifespan="off", text_mime_types=[*TEXT_MIME_TYPES])


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics(capture_cold_start_metric=True)
def api_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    metrics.add_metric(name="ApiRequests", unit="Count", value=1)
    # Powertools and Mangum each declare their own LambdaContext protocol; same object.
    response: dict[str, Any] = _api()(event, cast(Any, context))
    return response


# The stream consumer's modules load with its first batch, not at import: the API function
# runs this file too, and they would add ~70 ms to each of its cold starts.
@functools.cache
def _processor() -> BatchProcessor:
    from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType

    # Report a batch whose every record failed like any other partial failure, instead of
    # raising: the failure is then logged and counted, and Lambda retries the same records.
    return BatchProcessor(event_type=EventType.DynamoDBStreams, raise_on_entire_batch_failure=False)


@tracer.capture_method(capture_response=False)
def _thank_if_due(record: DynamoDBRecord) -> None:
    from donations.adapters.stream import donor_change_from_record
    from donations.domain.thank_you import ThankYouOutcome

    change = donor_change_from_record(record.raw_event)
    if change is None:
        return
    thank_you = services().thank_you
    if thank_you is None:
        raise RuntimeError("the thank-you topic is not configured")
    result = thank_you.handle(change)
    if result.outcome is ThankYouOutcome.NOT_A_MILESTONE:
        return
    fields = {
        "event": "thank_you",
        "outcome": result.outcome.value,
        "milestone": result.milestone,
        "sns_message_id": result.message_id,
        "donor_ref": donor_ref(change.donor_id),
        "api_request_id": change.correlation_id,
    }
    if result.outcome is ThankYouOutcome.SENT_DUPLICATE:
        logger.warning("thank-you sent twice", extra=fields)
        metrics.add_metric(name="ThankYouDuplicate", unit="Count", value=1)
    elif result.outcome is ThankYouOutcome.SENT:
        logger.info("thank-you sent", extra=fields)
        metrics.add_metric(name="ThankYouSent", unit="Count", value=1)
    else:
        logger.info("thank-you already sent", extra=fields)


@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics(capture_cold_start_metric=True)
def thank_you_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    records = len(event.get("Records", []))
    metrics.add_metric(name="StreamRecordsReceived", unit="Count", value=records)
    from aws_lambda_powertools.utilities.batch import process_partial_response

    response = process_partial_response(
        event=event, record_handler=_thank_if_due, processor=_processor(), context=context
    )
    failures = len(response.get("batchItemFailures", []))
    if failures:
        logger.warning("thank-you records failed", extra={"failed_records": failures})
        metrics.add_metric(name="ThankYouFailed", unit="Count", value=failures)
    return dict(response)
