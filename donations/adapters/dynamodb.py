"""DynamoDB implementation of the donation store: one table, donor and donation items."""

from __future__ import annotations

import functools
import random
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Final

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import BotoCoreError, ClientError

from donations.constants import (
    AMOUNT_MINOR_ATTRIBUTE,
    ANONYMOUS_TOTALS_KEY_PREFIX,
    ANONYMOUS_TOTALS_SORT_KEY,
    CURRENCY_ATTRIBUTE,
    DOCUMENT_ATTRIBUTE,
    DOCUMENT_KEY_PREFIX,
    DOCUMENT_SORT_KEY,
    DONATED_AT_ATTRIBUTE,
    DONATION_COUNT_ATTRIBUTE,
    DONATION_ID_ATTRIBUTE,
    DONATION_KEY_PREFIX,
    DONOR_ID_ATTRIBUTE,
    DONOR_KEY_PREFIX,
    DONOR_SORT_KEY,
    EXPIRES_AT_ATTRIBUTE,
    FINGERPRINT_ATTRIBUTE,
    IDEMPOTENCY_KEY_ATTRIBUTE,
    IDEMPOTENCY_KEY_PREFIX,
    IDEMPOTENCY_SORT_KEY,
    LAST_RECORDED_AT_ATTRIBUTE,
    LAST_REQUEST_ATTRIBUTE,
    PARTITION_KEY,
    RECORDED_AT_ATTRIBUTE,
    SORT_KEY,
    THANK_YOU_MESSAGE_ID_ATTRIBUTE,
    THANKED_AT_ATTRIBUTE,
    TOTAL_ATTRIBUTE_PREFIX,
)
from donations.domain.errors import DuplicateIdempotencyKeyError, StoreUnavailableError
from donations.domain.model import (
    AnonymousTotal,
    Donation,
    DonationPage,
    DonorHistory,
    DonorSummary,
    ErasureCounts,
    IdempotencyClaim,
    Money,
    anonymous_totals,
)
from donations.domain.ports import DocumentRegistry, DonationStore

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef

# Items in DynamoDB's wire format ({"S": ...}) and as plain Python values.
WireItem = Mapping[str, Any]
Item = Mapping[str, Any]

# Cancellation reasons that mean "try again" rather than "this request is wrong". They
# arrive inside TransactionCanceledException, which botocore never retries, so this is
# their only retry (unlike the error codes below).
_TRANSIENT_REASONS: Final = frozenset(
    {"TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded", "InternalError"}
)
# Error codes botocore has already retried by the time they reach us.
_UNAVAILABLE_CODES: Final = frozenset(
    {
        "ThrottlingException",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "InternalServerError",
        "ServiceUnavailable",
        "TransactionInProgressException",
    }
)
# Forgetting writes one TransactWriteItems (at most 100 actions) per this many donations:
# each donation's delete, its marker's, at worst its own month's total, plus the donor item.
_DONATIONS_PER_ERASURE: Final = 32
# BatchGetItem reads at most 100 keys per request.
_KEYS_PER_BATCH_GET: Final = 100
_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def to_wire(values: Mapping[str, Any]) -> dict[str, Any]:
    """Plain values (str, int) as DynamoDB attribute values, by boto3's TypeSerializer."""
    return {name: _serializer.serialize(value) for name, value in values.items()}


def from_wire(item: WireItem) -> dict[str, Any]:
    """DynamoDB attribute values as plain values (numbers come back as Decimal)."""
    return {name: _deserializer.deserialize(value) for name, value in item.items()}


def donor_key(donor_id: str) -> dict[str, Any]:
    return to_wire({PARTITION_KEY: DONOR_KEY_PREFIX + donor_id, SORT_KEY: DONOR_SORT_KEY})


def _marker_key(idempotency_key: str) -> dict[str, Any]:
    return to_wire(
        {PARTITION_KEY: IDEMPOTENCY_KEY_PREFIX + idempotency_key, SORT_KEY: IDEMPOTENCY_SORT_KEY}
    )


def _donation_sort_key(donation: Donation) -> str:
    # Sorting by when the gift was made (then by id) gives newest-first pages for free.
    return f"{DONATION_KEY_PREFIX}{donation.donated_at.isoformat()}#{donation.id}"


def _donation_values(donation: Donation) -> dict[str, Any]:
    values: dict[str, Any] = {
        DONATION_ID_ATTRIBUTE: donation.id,
        DONOR_ID_ATTRIBUTE: donation.donor_id,
        AMOUNT_MINOR_ATTRIBUTE: donation.amount.minor_units,
        CURRENCY_ATTRIBUTE: donation.amount.currency,
        DONATED_AT_ATTRIBUTE: donation.donated_at.isoformat(),
        RECORDED_AT_ATTRIBUTE: donation.recorded_at.isoformat(),
    }
    if donation.idempotency_key is not None:
        values[IDEMPOTENCY_KEY_ATTRIBUTE] = donation.idempotency_key
    return values


def _donation_from_item(item: Item) -> Donation:
    return Donation(
        id=item[DONATION_ID_ATTRIBUTE],
        donor_id=item[DONOR_ID_ATTRIBUTE],
        amount=Money(int(item[AMOUNT_MINOR_ATTRIBUTE]), item[CURRENCY_ATTRIBUTE]),
        donated_at=datetime.fromisoformat(item[DONATED_AT_ATTRIBUTE]),
        recorded_at=datetime.fromisoformat(item[RECORDED_AT_ATTRIBUTE]),
        idempotency_key=item.get(IDEMPOTENCY_KEY_ATTRIBUTE),
    )


def donor_from_item(donor_id: str, item: Item | None) -> DonorSummary:
    """Read a donor item (plain values); an absent item is a donor never seen."""
    if not item:
        return DonorSummary(donor_id)
    thanked_at = item.get(THANKED_AT_ATTRIBUTE)
    return DonorSummary(
        donor_id=donor_id,
        donation_count=int(item.get(DONATION_COUNT_ATTRIBUTE, 0)),
        totals={
            name.removeprefix(TOTAL_ATTRIBUTE_PREFIX): int(value)
            for name, value in item.items()
            if name.startswith(TOTAL_ATTRIBUTE_PREFIX)
        },
        thanked_at=datetime.fromisoformat(thanked_at) if thanked_at else None,
        thank_you_message_id=item.get(THANK_YOU_MESSAGE_ID_ATTRIBUTE),
    )


class _ErasureRaced(Exception):
    """An item changed between reading the donor's items and deleting them: read again."""


class DynamoDBDonationStore(DonationStore):
    """Stores donations in one DynamoDB table.

    Recording is one ``TransactWriteItems``: the idempotency marker (when the request has a
    key), the donation, and an atomic ``ADD`` on the donor's counters. Two donations for one
    donor at the same instant make DynamoDB cancel one transaction with
    ``TransactionConflict``, which botocore does not retry; this adapter retries it with full
    jitter, a bounded number of times.
    """

    def __init__(
        self,
        client: DynamoDBClient,
        table_name: str,
        *,
        max_attempts: int = 6,
        base_delay: float = 0.02,
        max_delay: float = 0.5,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._client = client
        self._table = table_name
        self._max_attempts = max_attempts
        self._base_delay = base_delay
        self._max_delay = max_delay
        self._sleep = sleep

    def record(
        self,
        donation: Donation,
        claim: IdempotencyClaim | None,
        correlation_id: str | None = None,
    ) -> None:
        items = self._transaction(donation, claim, correlation_id)

        def refused(error: ClientError, reasons: list[str]) -> None:
            if donation.idempotency_key and reasons[:1] == ["ConditionalCheckFailed"]:
                raise self._duplicate(error, donation.idempotency_key) from None

        self._transact(
            items,
            # Makes botocore's own retries of this call (say, after a timeout whose write did
            # land) idempotent on DynamoDB's side for ten minutes.
            token=lambda attempt: f"{donation.id.replace('-', '')}-{attempt}",
            refused=refused,
            busy="donor is busy; retries exhausted",
        )

    def _transact(
        self,
        items: list[TransactWriteItemTypeDef],
        *,
        token: Callable[[int], str],
        refused: Callable[[ClientError, list[str]], None],
        busy: str,
    ) -> None:
        """One TransactWriteItems, retried with full jitter while DynamoDB cancels it for a
        transient reason (TransactionConflict above all, which botocore never retries).

        ``refused`` sees every cancellation first and raises if the request itself was
        refused (a condition failed); ``token`` is the ClientRequestToken of each attempt.
        """
        for attempt in range(1, self._max_attempts + 1):
            write = functools.partial(
                self._client.transact_write_items,
                TransactItems=items,
                ClientRequestToken=token(attempt),
            )
            try:
                # Throttling that outlasted botocore's retries, and an unreachable endpoint,
                # come out of _call as StoreUnavailableError: retrying them again here would
                # multiply the load on a table that is over its capacity.
                self._call(write)
            except ClientError as error:
                reasons = self._cancellation_reasons(error)
                refused(error, reasons)
                if not any(reason in _TRANSIENT_REASONS for reason in reasons):
                    raise
                if attempt == self._max_attempts:
                    raise StoreUnavailableError(busy) from error
                self._sleep(self._backoff(attempt))
            else:
                return

    def donor(self, donor_id: str) -> DonorSummary:
        return donor_from_item(donor_id, self._get(donor_key(donor_id)))

    def donor_history(self, donor_id: str, page_size: int) -> DonorHistory:
        # The donor's sort key ("DONOR") sorts after each of its donations' ("DONATION#..."),
        # so reading the partition backwards returns the donor item first, then the donations
        # newest first: one consistent Query instead of a GetItem and a Query, and at a page
        # of 10 (~3 KB) one read unit instead of two. The key range admits only those items,
        # whatever else the partition may hold one day; one donation more than the page tells
        # whether another page exists.
        items = self._query(
            {
                "TableName": self._table,
                "KeyConditionExpression": "#pk = :pk AND #sk BETWEEN :donations AND :donor",
                "ExpressionAttributeNames": {"#pk": PARTITION_KEY, "#sk": SORT_KEY},
                "ExpressionAttributeValues": to_wire(
                    {
                        ":pk": DONOR_KEY_PREFIX + donor_id,
                        ":donations": DONATION_KEY_PREFIX,
                        ":donor": DONOR_SORT_KEY,
                    }
                ),
                "ScanIndexForward": False,
                "ConsistentRead": True,
                "Limit": page_size + 2 if page_size else 1,
            }
        )
        donor_item = items[0] if items and items[0][SORT_KEY] == DONOR_SORT_KEY else None
        summary = donor_from_item(donor_id, donor_item)
        if not page_size:
            return DonorHistory(summary)
        return DonorHistory(
            summary, self._page(items[1:] if donor_item else items, page_size), page_size
        )

    def donation_count(self, donor_id: str) -> int:
        item = self._get(donor_key(donor_id), projection=DONATION_COUNT_ATTRIBUTE)
        return int(item[DONATION_COUNT_ATTRIBUTE]) if item else 0

    def donations(self, donor_id: str, limit: int, after: str | None) -> DonationPage:
        # One extra item tells whether another page exists without a second query. The
        # position is the last item's sort key (the ledger signs it for the client).
        query = self._donations_query(donor_id, newest_first=True, limit=limit + 1)
        if after is not None:
            query["ExclusiveStartKey"] = to_wire(
                {PARTITION_KEY: DONOR_KEY_PREFIX + donor_id, SORT_KEY: after}
            )
        return self._page(self._query(query), limit)

    @staticmethod
    def _page(items: list[Item], limit: int) -> DonationPage:
        """The first ``limit`` donation items as a page; an item beyond them means another page."""
        page = items[:limit]
        next_position = page[-1][SORT_KEY] if len(items) > limit else None
        return DonationPage([_donation_from_item(item) for item in page], next_position)

    def donation_time(self, donor_id: str, *, latest: bool) -> datetime | None:
        query = self._donations_query(donor_id, newest_first=latest, limit=1)
        query["ProjectionExpression"] = "#donatedAt"
        query["ExpressionAttributeNames"]["#donatedAt"] = DONATED_AT_ATTRIBUTE
        items = self._query(query)
        return datetime.fromisoformat(items[0][DONATED_AT_ATTRIBUTE]) if items else None

    def _donations_query(self, donor_id: str, *, newest_first: bool, limit: int) -> dict[str, Any]:
        # Donation sort keys start with the time of the gift, so key order is time order.
        return {
            "TableName": self._table,
            "KeyConditionExpression": "#pk = :pk AND begins_with(#sk, :prefix)",
            "ExpressionAttributeNames": {"#pk": PARTITION_KEY, "#sk": SORT_KEY},
            "ExpressionAttributeValues": to_wire(
                {":pk": DONOR_KEY_PREFIX + donor_id, ":prefix": DONATION_KEY_PREFIX}
            ),
            "ScanIndexForward": not newest_first,
            "ConsistentRead": True,
            "Limit": limit,
        }

    def mark_thanked(self, donor_id: str, thanked_at: datetime, message_id: str) -> bool:
        # The message is already out, so giving up here would make the redelivered record
        # publish it again: retry conflicts with in-flight donations (which botocore does
        # not retry) and storage that stays busy, with jitter. A retry of a mark that did
        # land finds its own message id and counts as success.
        request: dict[str, Any] = {
            "TableName": self._table,
            "Key": donor_key(donor_id),
            "UpdateExpression": "SET #thanked = :at, #mid = :mid",
            "ConditionExpression": (
                "attribute_exists(#pk) AND (attribute_not_exists(#thanked) OR #mid = :mid)"
            ),
            "ExpressionAttributeNames": {
                "#pk": PARTITION_KEY,
                "#thanked": THANKED_AT_ATTRIBUTE,
                "#mid": THANK_YOU_MESSAGE_ID_ATTRIBUTE,
            },
            "ExpressionAttributeValues": to_wire(
                {":at": thanked_at.isoformat(), ":mid": message_id}
            ),
        }
        for attempt in range(1, self._max_attempts + 1):
            try:
                self._call(lambda: self._client.update_item(**request))
            except ClientError as error:
                code = _error_code(error)
                if code == "ConditionalCheckFailedException":
                    return False
                if code != "TransactionConflictException" or attempt == self._max_attempts:
                    raise
            except StoreUnavailableError:
                if attempt == self._max_attempts:
                    raise
            else:
                return True
            self._sleep(self._backoff(attempt))
        raise StoreUnavailableError("could not mark the donor thanked")

    def donors_awaiting_thanks(self, threshold: int) -> Iterator[DonorSummary]:
        # A full scan: fine for a runbook command that runs after an incident. At tens of
        # millions of items, run it with parallel scan segments.
        paginator = self._client.get_paginator("scan")
        pages = paginator.paginate(
            TableName=self._table,
            FilterExpression=(
                "#sk = :donor AND #count >= :threshold AND attribute_not_exists(#thanked)"
            ),
            ExpressionAttributeNames={
                "#sk": SORT_KEY,
                "#count": DONATION_COUNT_ATTRIBUTE,
                "#thanked": THANKED_AT_ATTRIBUTE,
            },
            ExpressionAttributeValues=to_wire({":donor": DONOR_SORT_KEY, ":threshold": threshold}),
            ConsistentRead=True,
        )
        for page in pages:
            for wire_item in page["Items"]:
                item = from_wire(wire_item)
                donor_id = item[PARTITION_KEY].removeprefix(DONOR_KEY_PREFIX)
                yield donor_from_item(donor_id, item)

    def forget_donor(self, donor_id: str) -> ErasureCounts:
        # TransactWriteItems rather than BatchWriteItem: a donation's delete and its addition
        # to the anonymous totals must land together, and every delete carries a condition
        # (the item is still there; the marker still names this donor), which BatchWriteItem
        # can't express. The conditions make a repeated or concurrent erasure count each item
        # once. The price, twice the write units, is nothing for a command run a few times a
        # year. A condition that fails means something changed since the read: read again.
        removed = ErasureCounts()
        for attempt in range(1, self._max_attempts + 1):
            donor_found, donations = self._donor_items(donor_id)
            keys = {donation.idempotency_key for _, donation in donations}
            markers = self._markers_naming(donor_id, {key for key in keys if key})
            chunks = [
                donations[start : start + _DONATIONS_PER_ERASURE]
                for start in range(0, len(donations), _DONATIONS_PER_ERASURE)
            ] or [[]]
            try:
                for index, chunk in enumerate(chunks):
                    with_donor = donor_found and index == len(chunks) - 1
                    removed += self._erase(donor_id, chunk, markers, with_donor=with_donor)
            except _ErasureRaced:
                if attempt == self._max_attempts:
                    raise StoreUnavailableError("the donor's items kept changing") from None
                self._sleep(self._backoff(attempt))
            else:
                return removed
        raise StoreUnavailableError("the donor's items kept changing")

    def _donor_items(self, donor_id: str) -> tuple[bool, list[tuple[dict[str, Any], Donation]]]:
        """Whether the donor item exists, and each donation with its key, read consistently."""
        paginator = self._client.get_paginator("query")
        pages = paginator.paginate(
            TableName=self._table,
            KeyConditionExpression="#pk = :pk",
            ExpressionAttributeNames={"#pk": PARTITION_KEY},
            ExpressionAttributeValues=to_wire({":pk": DONOR_KEY_PREFIX + donor_id}),
            ConsistentRead=True,
        )
        items = self._call(lambda: [from_wire(item) for page in pages for item in page["Items"]])
        donor_found = any(item[SORT_KEY] == DONOR_SORT_KEY for item in items)
        donations = [
            (
                to_wire({PARTITION_KEY: item[PARTITION_KEY], SORT_KEY: item[SORT_KEY]}),
                _donation_from_item(item),
            )
            for item in items
            if item[SORT_KEY].startswith(DONATION_KEY_PREFIX)
        ]
        return donor_found, donations

    def _markers_naming(self, donor_id: str, keys: set[str]) -> set[str]:
        """Those of these idempotency keys whose marker exists and still names this donor."""
        owned: set[str] = set()
        wanted = [_marker_key(key) for key in sorted(keys)]
        for start in range(0, len(wanted), _KEYS_PER_BATCH_GET):
            request: Any = {
                self._table: {
                    "Keys": wanted[start : start + _KEYS_PER_BATCH_GET],
                    "ConsistentRead": True,
                    "ProjectionExpression": "#pk, #donor",
                    "ExpressionAttributeNames": {
                        "#pk": PARTITION_KEY,
                        "#donor": DONOR_ID_ATTRIBUTE,
                    },
                }
            }
            for attempt in range(1, self._max_attempts + 1):
                read = functools.partial(self._client.batch_get_item, RequestItems=request)
                response = self._call(read)
                for item in map(from_wire, response["Responses"].get(self._table, [])):
                    if item.get(DONOR_ID_ATTRIBUTE) == donor_id:
                        owned.add(item[PARTITION_KEY].removeprefix(IDEMPOTENCY_KEY_PREFIX))
                request = response.get("UnprocessedKeys")
                if not request:
                    break
                if attempt == self._max_attempts:
                    raise StoreUnavailableError("idempotency markers left unread")
                self._sleep(self._backoff(attempt))
        return owned

    def _erase(
        self,
        donor_id: str,
        donations: Sequence[tuple[dict[str, Any], Donation]],
        markers: set[str],
        *,
        with_donor: bool,
    ) -> ErasureCounts:
        """Delete these donations (and their markers, and the donor item) in one transaction."""
        actions: list[TransactWriteItemTypeDef] = []
        erased_markers = 0
        for key, donation in donations:
            actions.append(self._delete_if_present(key))
            if donation.idempotency_key in markers:
                markers.discard(donation.idempotency_key)
                erased_markers += 1
                actions.append(
                    {
                        "Delete": {
                            "TableName": self._table,
                            "Key": _marker_key(donation.idempotency_key),
                            "ConditionExpression": "#donor = :donor",
                            "ExpressionAttributeNames": {"#donor": DONOR_ID_ATTRIBUTE},
                            "ExpressionAttributeValues": to_wire({":donor": donor_id}),
                        }
                    }
                )
        actions += [
            self._add_to_anonymous_total(total)
            for total in anonymous_totals(donation for _, donation in donations)
        ]
        if with_donor:
            actions.append(self._delete_if_present(donor_key(donor_id)))
        if not actions:
            return ErasureCounts()

        def raced(_: ClientError, reasons: list[str]) -> None:
            if "ConditionalCheckFailed" in reasons:
                raise _ErasureRaced from None

        # One token per attempt, as in record(): botocore's own retries of an attempt whose
        # response was lost are idempotent on DynamoDB's side.
        self._transact(
            actions,
            token=lambda _: uuid.uuid4().hex,
            refused=raced,
            busy="erasure kept conflicting",
        )
        return ErasureCounts(int(with_donor), len(donations), erased_markers)

    def _delete_if_present(self, key: dict[str, Any]) -> TransactWriteItemTypeDef:
        return {
            "Delete": {
                "TableName": self._table,
                "Key": key,
                "ConditionExpression": "attribute_exists(#pk)",
                "ExpressionAttributeNames": {"#pk": PARTITION_KEY},
            }
        }

    def _add_to_anonymous_total(self, total: AnonymousTotal) -> TransactWriteItemTypeDef:
        names = {"#count": DONATION_COUNT_ATTRIBUTE}
        values: dict[str, Any] = {":count": total.donation_count}
        additions = ["#count :count"]
        for index, (currency, minor_units) in enumerate(sorted(total.totals.items())):
            names[f"#total{index}"] = TOTAL_ATTRIBUTE_PREFIX + currency
            values[f":total{index}"] = minor_units
            additions.append(f"#total{index} :total{index}")
        return {
            "Update": {
                "TableName": self._table,
                "Key": to_wire(
                    {
                        PARTITION_KEY: ANONYMOUS_TOTALS_KEY_PREFIX + total.month,
                        SORT_KEY: ANONYMOUS_TOTALS_SORT_KEY,
                    }
                ),
                "UpdateExpression": "ADD " + ", ".join(additions),
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": to_wire(values),
            }
        }

    def _transaction(
        self, donation: Donation, claim: IdempotencyClaim | None, correlation_id: str | None
    ) -> list[TransactWriteItemTypeDef]:
        donation_values = _donation_values(donation)
        items: list[TransactWriteItemTypeDef] = []
        if donation.idempotency_key is not None:
            if claim is None:
                raise ValueError("a donation with an idempotency key needs its claim")
            marker = {
                PARTITION_KEY: IDEMPOTENCY_KEY_PREFIX + donation.idempotency_key,
                SORT_KEY: IDEMPOTENCY_SORT_KEY,
                FINGERPRINT_ATTRIBUTE: claim.fingerprint,
                EXPIRES_AT_ATTRIBUTE: _epoch_seconds(claim.expires_at),
                **donation_values,
            }
            items.append(
                {
                    "Put": {
                        "TableName": self._table,
                        "Item": to_wire(marker),
                        # TTL deletes lapsed markers only eventually (often days later), so
                        # a lapsed marker still present counts as absent here, in the same
                        # transaction: the outcome never depends on when the sweeper ran.
                        # The Put then replaces it. A marker written before markers had an
                        # expiry never lapses (the comparison with a missing attribute is
                        # false).
                        "ConditionExpression": "attribute_not_exists(#pk) OR #expires <= :now",
                        "ExpressionAttributeNames": {
                            "#pk": PARTITION_KEY,
                            "#expires": EXPIRES_AT_ATTRIBUTE,
                        },
                        "ExpressionAttributeValues": to_wire(
                            {":now": _epoch_seconds(donation.recorded_at)}
                        ),
                        # The live marker comes back with the cancellation (only a live one
                        # can fail the condition): a replay costs no extra read.
                        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                    }
                }
            )
        stored = {
            PARTITION_KEY: DONOR_KEY_PREFIX + donation.donor_id,
            SORT_KEY: _donation_sort_key(donation),
            **donation_values,
        }
        items.append(
            {
                "Put": {
                    "TableName": self._table,
                    "Item": to_wire(stored),
                    "ConditionExpression": "attribute_not_exists(#pk)",
                    "ExpressionAttributeNames": {"#pk": PARTITION_KEY},
                }
            }
        )
        update = "ADD #count :one, #total :amount SET #donor = :donor, #last = :at"
        names = {
            "#count": DONATION_COUNT_ATTRIBUTE,
            "#total": TOTAL_ATTRIBUTE_PREFIX + donation.amount.currency,
            "#donor": DONOR_ID_ATTRIBUTE,
            "#last": LAST_RECORDED_AT_ATTRIBUTE,
        }
        values: dict[str, Any] = {
            ":one": 1,
            ":amount": donation.amount.minor_units,
            ":donor": donation.donor_id,
            ":at": donation.recorded_at.isoformat(),
        }
        if correlation_id:
            # Carried to the stream so the thank-you consumer can log the same id.
            update += ", #request = :request"
            names["#request"] = LAST_REQUEST_ATTRIBUTE
            values[":request"] = correlation_id[:128]
        items.append(
            {
                "Update": {
                    "TableName": self._table,
                    "Key": donor_key(donation.donor_id),
                    "UpdateExpression": update,
                    "ExpressionAttributeNames": names,
                    "ExpressionAttributeValues": to_wire(values),
                }
            }
        )
        return items

    def _duplicate(self, error: ClientError, key: str) -> DuplicateIdempotencyKeyError:
        reasons: list[Any] = list(error.response.get("CancellationReasons", []))
        returned = reasons[0].get("Item") if reasons else None
        # Not every DynamoDB-compatible endpoint returns the old item; read it instead.
        marker = from_wire(returned) if returned else self._get(_marker_key(key))
        if not marker:
            raise StoreUnavailableError("idempotency marker vanished")
        return DuplicateIdempotencyKeyError(
            _donation_from_item(marker), marker[FINGERPRINT_ATTRIBUTE]
        )

    def _get(self, key: dict[str, Any], projection: str | None = None) -> Item | None:
        request: dict[str, Any] = {"TableName": self._table, "Key": key, "ConsistentRead": True}
        if projection:
            request["ProjectionExpression"] = projection
        item = self._call(lambda: self._client.get_item(**request)).get("Item")
        return from_wire(item) if item else None

    def _query(self, query: dict[str, Any]) -> list[Item]:
        items = self._call(lambda: self._client.query(**query))["Items"]
        return [from_wire(item) for item in items]

    @staticmethod
    def _call(operation: Callable[[], Any]) -> Any:
        try:
            return operation()
        except ClientError as error:
            if _error_code(error) in _UNAVAILABLE_CODES:
                raise StoreUnavailableError(_error_code(error)) from error
            raise
        except BotoCoreError as error:
            raise StoreUnavailableError("DynamoDB unreachable") from error

    @staticmethod
    def _cancellation_reasons(error: ClientError) -> list[str]:
        if _error_code(error) != "TransactionCanceledException":
            return []
        reasons: list[Any] = list(error.response.get("CancellationReasons", []))
        return [str(reason.get("Code", "None")) for reason in reasons]

    def _backoff(self, attempt: int) -> float:
        return random.uniform(0, min(self._max_delay, self._base_delay * 2**attempt))  # noqa: S311


def _epoch_seconds(instant: datetime) -> int:
    # DynamoDB TTL reads a Number of whole seconds since the epoch.
    return int(instant.timestamp())


def _error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


# A registration lapses this long after a client last registered the document: a released
# front end's documents outlive the gaps between its users' visits, abandoned ones leave.
DOCUMENT_RETENTION: Final = timedelta(days=30)


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _document_key(sha256: str) -> dict[str, Any]:
    return to_wire({PARTITION_KEY: DOCUMENT_KEY_PREFIX + sha256, SORT_KEY: DOCUMENT_SORT_KEY})


class DynamoDBDocumentRegistry(DocumentRegistry):
    """Registered documents as small items of the donations table, one per hash.

    A lookup is one eventually consistent ``GetItem`` (half a read unit up to 4 KB): a
    registration made a moment ago by another container may be missed once, and the client
    then sends the document again. A registration is one ``PutItem`` (a write unit per KB)
    carrying ``expiresAt`` for DynamoDB's TTL; an item past it counts as absent, since TTL
    deletes late.
    """

    def __init__(
        self,
        client: DynamoDBClient,
        table_name: str,
        *,
        retention: timedelta = DOCUMENT_RETENTION,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self._client = client
        self._table = table_name
        self._retention = retention
        self._clock = clock

    def find(self, sha256: str) -> str | None:
        request: dict[str, Any] = {
            "TableName": self._table,
            "Key": _document_key(sha256),
            "ProjectionExpression": "#document, #expires",
            "ExpressionAttributeNames": {
                "#document": DOCUMENT_ATTRIBUTE,
                "#expires": EXPIRES_AT_ATTRIBUTE,
            },
        }
        wire = DynamoDBDonationStore._call(lambda: self._client.get_item(**request)).get("Item")
        if not wire:
            return None
        item = from_wire(wire)
        if int(item.get(EXPIRES_AT_ATTRIBUTE, 0)) <= _epoch_seconds(self._clock()):
            return None
        document: str = item[DOCUMENT_ATTRIBUTE]
        return document

    def register(self, sha256: str, document: str) -> None:
        item = {
            PARTITION_KEY: DOCUMENT_KEY_PREFIX + sha256,
            SORT_KEY: DOCUMENT_SORT_KEY,
            DOCUMENT_ATTRIBUTE: document,
            EXPIRES_AT_ATTRIBUTE: _epoch_seconds(self._clock() + self._retention),
        }
        # Unconditional: the hash names the text, so a concurrent registration writes the same.
        DynamoDBDonationStore._call(
            lambda: self._client.put_item(TableName=self._table, Item=to_wire(item))
        )
