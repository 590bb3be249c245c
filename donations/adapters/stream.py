"""Reads donor changes out of DynamoDB stream records (the Lambda event shape)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from donations.adapters.dynamodb import LAST_REQUEST_ATTRIBUTE
from donations.constants import (
    DONATION_COUNT_ATTRIBUTE,
    DONOR_KEY_PREFIX,
    DONOR_SORT_KEY,
    PARTITION_KEY,
    SORT_KEY,
)
from donations.domain.thanks import DonorChange


class MalformedRecordError(ValueError):
    """The record is not a DynamoDB stream record this table could have produced."""


def _count(image: Mapping[str, Any] | None) -> int:
    if not image or DONATION_COUNT_ATTRIBUTE not in image:
        return 0
    return int(image[DONATION_COUNT_ATTRIBUTE]["N"])


def donor_change_from_record(record: Mapping[str, Any]) -> DonorChange | None:
    """The donor change a record carries, or None for records of other items (donations).

    Raises ``MalformedRecordError`` when the record lacks what every record of this table has.
    """
    try:
        change = record["dynamodb"]
        keys = change["Keys"]
        partition, sort = keys[PARTITION_KEY]["S"], keys[SORT_KEY]["S"]
        if sort != DONOR_SORT_KEY or not partition.startswith(DONOR_KEY_PREFIX):
            return None
        new_image = change.get("NewImage")
        request = (new_image or {}).get(LAST_REQUEST_ATTRIBUTE)
        return DonorChange(
            donor_id=partition.removeprefix(DONOR_KEY_PREFIX),
            old_count=_count(change.get("OldImage")),
            new_count=_count(new_image),
            correlation_id=request["S"] if request else None,
        )
    except (KeyError, TypeError, ValueError) as error:
        raise MalformedRecordError(f"unreadable stream record: {type(error).__name__}") from None
