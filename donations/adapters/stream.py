"""Reads donor changes out of DynamoDB stream records, through Powertools' ``DynamoDBRecord``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import (
    DynamoDBRecordEventName,
)

from donations.constants import (
    DONATION_COUNT_ATTRIBUTE,
    DONOR_KEY_PREFIX,
    DONOR_SORT_KEY,
    LAST_REQUEST_ATTRIBUTE,
    PARTITION_KEY,
    SORT_KEY,
)
from donations.domain.thanks import DonorChange

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import (
        DynamoDBRecord,
    )


class MalformedRecordError(ValueError):
    """The record is not a DynamoDB stream record this table could have produced."""


def _count(image: dict[str, Any]) -> int:
    return int(image.get(DONATION_COUNT_ATTRIBUTE, 0))


def donor_change_from_record(record: DynamoDBRecord) -> DonorChange | None:
    """The donor change a record carries, or None for records of other items (donations)
    and for removals: forgetting a donor deletes their item, and a deletion thanks no one.

    ``keys``, ``new_image`` and ``old_image`` come back as plain values (numbers as Decimal).
    Raises ``MalformedRecordError`` when the record lacks what every record of this table has.
    """
    change = record.dynamodb
    if change is None:
        raise MalformedRecordError("unreadable stream record: no dynamodb entry")
    try:
        if record.event_name is DynamoDBRecordEventName.REMOVE:
            return None
        keys = change.keys
        partition, sort = keys[PARTITION_KEY], keys[SORT_KEY]
        if sort != DONOR_SORT_KEY or not partition.startswith(DONOR_KEY_PREFIX):
            return None
        new_image = change.new_image
        return DonorChange(
            donor_id=partition.removeprefix(DONOR_KEY_PREFIX),
            old_count=_count(change.old_image),
            new_count=_count(new_image),
            correlation_id=new_image.get(LAST_REQUEST_ATTRIBUTE),
        )
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise MalformedRecordError(f"unreadable stream record: {type(error).__name__}") from None
