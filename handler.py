"""AWS Lambda entry points: the GraphQL API and the thank-you stream consumer.

This is where the container is composed: ``donations.container`` builds clients, adapters
and services; ``create_api_handler`` and ``create_thank_you_handler`` put the schema, the
HTTP app and the Powertools decorators around them. The handlers only translate between
Lambda events and the service.

In Lambda the module-level entry point that the function names is built here, at import:
Lambda's init phase (and a SnapStart snapshot of it) then holds the clients, the schema and
the app, and the first request finds them ready. Anywhere else (tests, ``make run``) importing
this module builds nothing and needs no AWS settings: ``api_handler`` and
``thank_you_handler`` build on first use, and tests compose their own with the factories.
"""

from __future__ import annotations

import functools
import os
import random
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from donations.constants import API_HANDLER, THANK_YOU_HANDLER
from donations.container import Services, build_services, configure_log_hashing, services
from donations.observability import count, logger, metrics, report_thank_you, tracer
from donations.settings import Settings, TrustedDocumentsMode
from schema import build_schema
from schema.documents import PersistedDocuments, TrustedDocuments
from schema.graphiql import UNPKG_ASSETS, PageAsset
from schema.http import TEXT_MIME_TYPES, DonationsGraphQL

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import (
        DynamoDBRecord,
    )

LambdaHandler = Callable[[dict[str, Any], LambdaContext], dict[str, Any]]


def create_app(
    services: Services, *, graphiql_assets: Sequence[PageAsset] = UNPKG_ASSETS
) -> DonationsGraphQL:
    """The ASGI app over these services: what Mangum serves in Lambda and uvicorn locally
    (which serves GraphiQL's scripts itself, ``graphiql_assets``)."""
    settings = services.settings
    schema = build_schema(introspection=settings.introspection)
    documents = PersistedDocuments(
        services.documents,
        TrustedDocuments.load(),
        require_trusted=settings.trusted_documents is TrustedDocumentsMode.REQUIRE,
    )
    return DonationsGraphQL(
        schema,
        services.ledger,
        documents=documents,
        graphiql=settings.graphiql,
        authorization=settings.authorization,
        donor_id_claim=settings.donor_id_claim,
        graphiql_assets=graphiql_assets,
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


def register_snapstart_hooks(services: Services, *, log_hash_key_read: bool) -> None:
    """Make a SnapStart restore safe: one snapshot becomes many execution environments.

    What init leaves in memory is copied into every one of them, so what must differ
    between them, or must not sit in a stored snapshot, is made after each restore instead.
    Outside Lambda, and in runtimes without SnapStart, there is nothing to register.
    """
    try:
        # Lambda's Python runtimes ship this module (snapshot-restore-py); nothing else does.
        from snapshot_restore_py import register_after_restore
    except ImportError:
        return
    # Without a new seed every restored environment would draw the same "random" retry
    # jitter (ours in the DynamoDB adapter, botocore's), so they would retry in lockstep.
    # Seeding from os.urandom: the kernel's pool differs after each restore.
    register_after_restore(random.seed)
    if not log_hash_key_read:
        # Read from Secrets Manager here rather than into the snapshot, which is kept as long
        # as the version is and would go on serving a rotated key (docs/performance.md).
        register_after_restore(
            configure_log_hashing, services.settings, services.clients, services.cursors
        )


def lambda_services() -> Services:
    """This Lambda container's services, built in its init phase, SnapStart-safe."""
    # A SnapStart init is the one that is snapshotted; the key is read after each restore.
    snapshotted = os.environ.get("AWS_LAMBDA_INITIALIZATION_TYPE") == "snap-start"
    built = build_services(Settings.from_env(), log_hash_key_later=snapshotted)
    register_snapstart_hooks(built, log_hash_key_read=not snapshotted)
    return built


def _built_on_first_call(factory: Callable[[Services], LambdaHandler]) -> LambdaHandler:
    """An entry point that builds its handler from the environment when first called."""
    build = functools.cache(lambda: factory(services()))

    def entry_point(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        return build()(event, context)

    return entry_point


# Lambda names the entry point it will call in _HANDLER; only that one is built at init (the
# API function never loads the stream consumer's modules, nor the other way round).
_LAMBDA_ENTRY_POINT = os.environ.get("_HANDLER")
api_handler: LambdaHandler
thank_you_handler: LambdaHandler
if _LAMBDA_ENTRY_POINT == API_HANDLER:
    api_handler = create_api_handler(lambda_services())
else:
    api_handler = _built_on_first_call(create_api_handler)
if _LAMBDA_ENTRY_POINT == THANK_YOU_HANDLER:
    thank_you_handler = create_thank_you_handler(lambda_services())
else:
    thank_you_handler = _built_on_first_call(create_thank_you_handler)
