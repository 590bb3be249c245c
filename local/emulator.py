"""Creates the emulated table, stream, topic and queue that `make run` and the tests use."""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config

from donations.constants import (
    ENV_TABLE_NAME,
    ENV_TOPIC_ARN,
    EXPIRES_AT_ATTRIBUTE,
    PARTITION_KEY,
    SORT_KEY,
)
from local.moto_patches import install_moto_patches

LOCAL_REGION = "eu-west-2"
LOCAL_TABLE = "donations-local"
LOCAL_TOPIC = "thank-you"
LOCAL_QUEUE = "thank-you-inbox"

_BATCH_WRITE_LIMIT = 25

# moto ≥ 5.2.5 with botocore ≥ 1.44 answers the Streams API only on the plain endpoint.
STREAMS_CONFIG = Config(account_id_endpoint_mode="disabled")


@dataclass(frozen=True)
class EmulatedResources:
    table_name: str
    stream_arn: str
    topic_arn: str
    queue_url: str


moto_lock = threading.RLock()


def serialise_emulator() -> None:
    """Make moto answer one request at a time, as DynamoDB applies each request atomically.

    moto's in-memory backends are not thread-safe: a stream read or a transaction running
    beside another write can fail with "dictionary changed size during iteration". The
    local server's threads and the concurrency tests need the emulator to behave like the
    service, so every emulated call takes one lock (``moto_lock``, which the HTTP endpoint
    of local.endpoint takes too). Idempotent.
    """
    from moto.core.botocore_stubber import BotocoreStubber

    if getattr(BotocoreStubber.__call__, "serialised", False):
        return
    unlocked = BotocoreStubber.__call__

    def locked(self: Any, *args: Any, **kwargs: Any) -> Any:
        with moto_lock:
            return unlocked(self, *args, **kwargs)

    locked.serialised = True  # type: ignore[attr-defined]
    BotocoreStubber.__call__ = locked  # type: ignore[method-assign]


def use_fake_credentials() -> None:
    """Point boto3 at a fake account so nothing can reach real AWS by accident."""
    os.environ["AWS_ACCESS_KEY_ID"] = "testing"
    os.environ["AWS_SECRET_ACCESS_KEY"] = "testing"  # noqa: S105 - moto's fake credential
    os.environ["AWS_SESSION_TOKEN"] = "testing"  # noqa: S105
    os.environ["AWS_DEFAULT_REGION"] = LOCAL_REGION
    os.environ.pop("AWS_PROFILE", None)


def create_resources(
    table_name: str = LOCAL_TABLE, *, restore: Sequence[dict[str, Any]] = ()
) -> EmulatedResources:
    """Create the table (with its stream), the topic and a queue subscribed to the topic.

    ``restore`` items are written to the table before its stream is enabled, so they make
    no stream records. Must run inside an active ``moto.mock_aws()``; sets the environment
    the app reads.
    """
    serialise_emulator()
    install_moto_patches()
    dynamodb: Any = boto3.client("dynamodb")
    stream = {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    description = dynamodb.create_table(
        TableName=table_name,
        KeySchema=[
            {"AttributeName": PARTITION_KEY, "KeyType": "HASH"},
            {"AttributeName": SORT_KEY, "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": PARTITION_KEY, "AttributeType": "S"},
            {"AttributeName": SORT_KEY, "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
        **({} if restore else {"StreamSpecification": stream}),
    )
    if restore:
        _write_items(dynamodb, table_name, restore)
        # As on a real table whose stream is switched on after a bulk load: the stream
        # starts after the restored items, which therefore thank no one a second time.
        description = dynamodb.update_table(TableName=table_name, StreamSpecification=stream)
    # As the stack configures it. moto records the setting but never sweeps, like a table
    # whose sweeper is days behind: lapsed markers stay, and must count as absent.
    dynamodb.update_time_to_live(
        TableName=table_name,
        TimeToLiveSpecification={"Enabled": True, "AttributeName": EXPIRES_AT_ATTRIBUTE},
    )
    sns: Any = boto3.client("sns")
    sqs: Any = boto3.client("sqs")
    topic_arn = sns.create_topic(Name=LOCAL_TOPIC)["TopicArn"]
    queue_url = sqs.create_queue(QueueName=LOCAL_QUEUE)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn)
    os.environ[ENV_TABLE_NAME] = table_name
    os.environ[ENV_TOPIC_ARN] = topic_arn
    return EmulatedResources(
        table_name=table_name,
        stream_arn=description["TableDescription"]["LatestStreamArn"],
        topic_arn=topic_arn,
        queue_url=queue_url,
    )


def _write_items(dynamodb: Any, table_name: str, items: Sequence[dict[str, Any]]) -> None:
    for start in range(0, len(items), _BATCH_WRITE_LIMIT):
        requests = [
            {"PutRequest": {"Item": item}} for item in items[start : start + _BATCH_WRITE_LIMIT]
        ]
        while requests:
            response = dynamodb.batch_write_item(RequestItems={table_name: requests})
            requests = response.get("UnprocessedItems", {}).get(table_name, [])
