"""Feeds the emulated table stream to the thank-you handler the way Lambda would.

Lambda's DynamoDB event source reads each shard in order, hands the handler batches of
records, and on a partial batch failure delivers the batch again from the first failed
record. This pump does the same against moto, so local runs and tests exercise the real
handler with real stream records.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, Protocol

import boto3

from donations.observability import logger
from local.emulator import LOCAL_REGION, STREAMS_CONFIG, moto_lock
from local.lambda_context import LocalLambdaContext

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]
RecordsTap = Callable[[list[dict[str, Any]]], None]


def lambda_record(record: dict[str, Any], stream_arn: str) -> dict[str, Any]:
    """Turn a GetRecords record into the record shape of a Lambda stream event."""
    change = dict(record["dynamodb"])
    created = change.get("ApproximateCreationDateTime")
    if isinstance(created, datetime):
        # moto's own records carry a naive UTC time; GetRecords' are parsed aware.
        aware = created if created.tzinfo else created.replace(tzinfo=UTC)
        change["ApproximateCreationDateTime"] = int(aware.timestamp())
    return {
        "eventID": record["eventID"],
        "eventName": record["eventName"],
        "eventVersion": record.get("eventVersion", "1.1"),
        "eventSource": "aws:dynamodb",
        "awsRegion": record.get("awsRegion", LOCAL_REGION),
        "dynamodb": change,
        "eventSourceARN": stream_arn,
    }


class StreamReader(Protocol):
    def read(self, positions: Mapping[str, str]) -> list[tuple[str, list[dict[str, Any]]]]:
        """For each shard, up to 1000 records after its position (the sequence number last
        read, or from the start), as GetRecords returns them."""
        ...


class StreamsApiReader:
    """Reads a stream through the DynamoDB Streams API, as Lambda's event source does."""

    def __init__(self, stream_arn: str) -> None:
        self._client: Any = boto3.client("dynamodbstreams", config=STREAMS_CONFIG)
        self._stream_arn = stream_arn

    def read(self, positions: Mapping[str, str]) -> list[tuple[str, list[dict[str, Any]]]]:
        shards = self._client.describe_stream(StreamArn=self._stream_arn)["StreamDescription"][
            "Shards"
        ]
        found = []
        for shard in shards:
            shard_id = shard["ShardId"]
            iterator = self._iterator(shard_id, positions.get(shard_id))
            response = self._client.get_records(ShardIterator=iterator, Limit=1000)
            found.append((shard_id, response["Records"]))
        return found

    def _iterator(self, shard_id: str, position: str | None) -> str:
        # A fresh iterator from the last sequence number read, every poll: stock moto
        # replaces a table's shard object when it rolls back a cancelled transaction, which
        # would leave a long-lived iterator reading a shard that no longer grows.
        if position is None:
            request = {"ShardIteratorType": "TRIM_HORIZON"}
        else:
            request = {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": position}
        iterator: str = self._client.get_shard_iterator(
            StreamArn=self._stream_arn, ShardId=shard_id, **request
        )["ShardIterator"]
        return iterator


class MotoShardReader:
    """Reads the stream of a table that moto emulates in this process, from moto's shard.

    The same records GetRecords would return, without the round trip: through the Streams
    API each record is serialised by moto and parsed again by botocore, which made reading
    the stream a fifth of `make run`'s CPU under load (docs/performance.md). Relies on
    moto's internals as pinned by local.moto_patches.
    """

    def __init__(self, stream_arn: str) -> None:
        from local.moto_patches import install_moto_patches

        install_moto_patches()  # refuses an unpinned moto
        # arn:aws:dynamodb:<region>:<account>:table/<name>/stream/<label>
        _, _, _, self._region, self._account, resource = stream_arn.split(":", 5)
        self._table_name = resource.split("/")[1]

    def read(self, positions: Mapping[str, str]) -> list[tuple[str, list[dict[str, Any]]]]:
        from moto.dynamodb.models import dynamodb_backends

        with moto_lock:
            table = dynamodb_backends[self._account][self._region].get_table(self._table_name)
            shard = table.stream_shard
            if shard is None:
                return []
            position = positions.get(shard.id)
            first = 0 if position is None else int(position) + 1 - shard.starting_sequence_number
            # What StreamShard.get returns for GetRecords: each record's own dict.
            records = [record.to_json() for record in shard.items[first : first + 1000]]
        return [(shard.id, records)]


class StreamPump:
    """Reads every shard of one stream and delivers batches with Lambda's retry semantics."""

    def __init__(
        self,
        stream_arn: str,
        handler: Handler,
        *,
        batch_size: int = 100,
        max_retries: int = 3,
        retry_delay: float = 0.2,
        reader: StreamReader | None = None,
        on_read: RecordsTap | None = None,
    ) -> None:
        self._reader = reader or StreamsApiReader(stream_arn)
        self._stream_arn = stream_arn
        self._handler = handler
        self._batch_size = batch_size
        self._max_retries = max_retries
        self._retry_delay = retry_delay
        # Sees every record once, in order, before the handler does (local.persistence).
        self._on_read = on_read
        self._positions: dict[str, str] = {}
        self.delivered_batches: list[list[dict[str, Any]]] = []
        self.dead_letters: list[dict[str, Any]] = []

    def poll(self) -> list[dict[str, Any]]:
        """Every record written since the last poll, as Lambda event records."""
        records: list[dict[str, Any]] = []
        for shard_id, found in self._reader.read(self._positions):
            read = [lambda_record(r, self._stream_arn) for r in found]
            if read and self._on_read is not None:
                # Before the position moves on: if the tap fails, the next poll reads again.
                self._on_read(read)
            if read:
                self._positions[shard_id] = read[-1]["dynamodb"]["SequenceNumber"]
            records += read
        return records

    def deliver(self, records: list[dict[str, Any]]) -> None:
        """Deliver records in batches; retry failures from the first failed record on."""
        for start in range(0, len(records), self._batch_size):
            batch = records[start : start + self._batch_size]
            for attempt in range(self._max_retries + 1):
                failed_from = self._invoke(batch)
                if failed_from is None:
                    break
                batch = batch[failed_from:]
                if attempt == self._max_retries:
                    self.dead_letters += batch
                    logger.error(
                        "stream records sent to the dead-letter queue",
                        extra={"records": len(batch)},
                    )
                else:
                    time.sleep(self._retry_delay * (attempt + 1))

    def drain(self) -> int:
        """Poll once and deliver what was found; returns the number of records."""
        records = self.poll()
        if records:
            self.deliver(records)
        return len(records)

    def run(self, stop: threading.Event, interval: float = 0.2) -> None:
        while not stop.is_set():
            try:
                self.drain()
            except Exception:
                logger.exception("stream pump failed; retrying")
            stop.wait(interval)

    def _invoke(self, batch: list[dict[str, Any]]) -> int | None:
        """Run the handler; the index of the first failed record, or None if all succeeded."""
        self.delivered_batches.append(batch)
        try:
            response = self._handler({"Records": batch}, LocalLambdaContext())
        except Exception:
            # Lambda treats a raised error as the whole batch failing.
            logger.warning(
                "thank-you handler failed the whole batch", extra={"records": len(batch)}
            )
            return 0
        failed = {item["itemIdentifier"] for item in response.get("batchItemFailures", [])}
        for index, record in enumerate(batch):
            if record["dynamodb"].get("SequenceNumber") in failed:
                return index
        return None
