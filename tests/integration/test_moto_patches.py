"""The emulator's patched moto (local/moto_patches.py) behaves like moto, only faster.

Two kinds of proof: our own transactions through the API, checked against what DynamoDB
does (nothing written by a cancelled transaction, the old item returned, stream records only
for committed ones); and random transactions and queries run both by the patched backend
and by moto's stock methods, which must give identical answers, tables and streams.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import boto3
import moto
import pytest
from botocore.exceptions import ClientError
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from moto.dynamodb.models import DynamoDBBackend

from donations.constants import PARTITION_KEY, SORT_KEY
from local.emulator import LOCAL_REGION, STREAMS_CONFIG
from local.moto_patches import (
    PINNED_MOTO_VERSION,
    UnsupportedMotoError,
    check_supported,
    install_moto_patches,
    installed_methods,
)
from local.stream_pump import MotoShardReader, StreamPump
from tests.support.api import record
from tests.support.aws import EmulatedAccount


def stock_methods() -> dict[str, Callable[..., Any]]:
    """moto's own methods, as the patches found them."""
    install_moto_patches()
    return installed_methods()


def stream_records(aws: EmulatedAccount) -> list[dict[str, Any]]:
    return StreamPump(aws.stream_arn, aws.thank_you_handler).poll()


def table_items(aws: EmulatedAccount) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = aws.clients.dynamodb.scan(
        TableName=aws.resources.table_name, ConsistentRead=True
    )["Items"]
    return sorted(items, key=lambda item: (item[PARTITION_KEY]["S"], item[SORT_KEY]["S"]))


def marker_put(aws: EmulatedAccount, key: str, amount: int) -> dict[str, Any]:
    return {
        "Put": {
            "TableName": aws.resources.table_name,
            "Item": {
                PARTITION_KEY: {"S": f"IDEMPOTENCY#{key}"},
                SORT_KEY: {"S": "IDEMPOTENCY"},
                "amountMinor": {"N": str(amount)},
            },
            "ConditionExpression": "attribute_not_exists(#pk)",
            "ExpressionAttributeNames": {"#pk": PARTITION_KEY},
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
    }


def donor_add(aws: EmulatedAccount, donor: str) -> dict[str, Any]:
    return {
        "Update": {
            "TableName": aws.resources.table_name,
            "Key": {PARTITION_KEY: {"S": f"DONOR#{donor}"}, SORT_KEY: {"S": "DONOR"}},
            "UpdateExpression": "ADD #count :one",
            "ExpressionAttributeNames": {"#count": "donationCount"},
            "ExpressionAttributeValues": {":one": {"N": "1"}},
        }
    }


# --- the pin ------------------------------------------------------------------------------


def test_the_locked_moto_is_the_one_the_patches_were_written_for() -> None:
    check_supported(moto.__version__, stock_methods())

    assert moto.__version__ == PINNED_MOTO_VERSION
    assert getattr(DynamoDBBackend.transact_write_items, "moto_patch", False)


def test_another_moto_version_is_refused_with_what_to_do() -> None:
    with pytest.raises(UnsupportedMotoError, match=r"moto 9\.9\.9 is installed.*uv sync"):
        check_supported("9.9.9", stock_methods())


def test_a_changed_method_is_refused_by_name() -> None:
    def query(self: Any, hash_key: Any) -> None:
        """A release that rewrote the method."""

    with pytest.raises(UnsupportedMotoError, match=r"installed Table\.query differs"):
        check_supported(PINNED_MOTO_VERSION, {**stock_methods(), "Table.query": query})


def test_installing_twice_patches_once() -> None:
    stock = stock_methods()

    install_moto_patches()

    assert installed_methods() == stock


# --- our transactions, as DynamoDB answers them --------------------------------------------


def test_a_failed_condition_writes_nothing_and_returns_the_old_item(aws: EmulatedAccount) -> None:
    dynamodb = aws.clients.dynamodb
    dynamodb.transact_write_items(
        TransactItems=[marker_put(aws, "key-1", 500), donor_add(aws, "donor-1")]
    )
    before, streamed = table_items(aws), len(stream_records(aws))

    with pytest.raises(ClientError) as raised:
        dynamodb.transact_write_items(
            TransactItems=[marker_put(aws, "key-1", 900), donor_add(aws, "donor-1")]
        )

    error = raised.value.response
    assert error["Error"]["Code"] == "TransactionCanceledException"
    reasons = error["CancellationReasons"]
    assert [reason["Code"] for reason in reasons] == ["ConditionalCheckFailed", "None"]
    assert reasons[0]["Item"]["amountMinor"] == {"N": "500"}
    assert table_items(aws) == before
    assert len(stream_records(aws)) == streamed


def test_a_transaction_naming_one_item_twice_is_refused_and_writes_nothing(
    aws: EmulatedAccount,
) -> None:
    before = table_items(aws)

    with pytest.raises(ClientError) as raised:
        aws.clients.dynamodb.transact_write_items(
            TransactItems=[donor_add(aws, "donor-1"), donor_add(aws, "donor-1")]
        )

    assert raised.value.response["Error"]["Code"] == "ValidationException"
    assert table_items(aws) == before
    assert stream_records(aws) == []


def test_a_committed_donation_streams_each_item_it_wrote(aws: EmulatedAccount) -> None:
    record("donor-1", "10.00", idempotencyKey="key-streamed")

    records = stream_records(aws)

    written = {(r["dynamodb"]["Keys"][PARTITION_KEY]["S"], r["eventName"]) for r in records}
    assert written == {("IDEMPOTENCY#key-streamed", "INSERT"), ("DONOR#donor-1", "INSERT")}
    donor_images = [
        r["dynamodb"]["NewImage"]
        for r in records
        if r["dynamodb"]["Keys"][SORT_KEY]["S"] == "DONOR"
    ]
    assert donor_images[-1]["donationCount"] == {"N": "1"}
    assert sum(r["dynamodb"]["Keys"][SORT_KEY]["S"].startswith("DONATION#") for r in records) == 1


def test_a_replayed_donation_streams_nothing_and_the_stream_goes_on(
    aws: EmulatedAccount,
) -> None:
    pump = StreamPump(aws.stream_arn, aws.thank_you_handler)
    record("donor-1", "10.00", idempotencyKey="key-replayed")
    first = pump.poll()

    replay = record("donor-1", "10.00", idempotencyKey="key-replayed")
    after_replay = pump.poll()
    record("donor-2")

    assert replay["replayed"] is True
    assert after_replay == []
    later = pump.poll()
    assert {r["dynamodb"]["Keys"][PARTITION_KEY]["S"] for r in later} == {"DONOR#donor-2"}
    sequence = [int(r["dynamodb"]["SequenceNumber"]) for r in first + later]
    assert sequence == list(range(sequence[0], sequence[0] + len(sequence)))


def test_the_in_process_reader_reads_what_get_records_returns(aws: EmulatedAccount) -> None:
    record("donor-1", "10.00", idempotencyKey="key-read")
    record("donor-1", "10.00", idempotencyKey="key-read")  # cancelled: nothing to read
    record("donor-1")
    direct = StreamPump(
        aws.stream_arn, aws.thank_you_handler, reader=MotoShardReader(aws.stream_arn)
    )
    through_api = StreamPump(aws.stream_arn, aws.thank_you_handler)

    first_direct, first_api = direct.poll(), through_api.poll()
    record("donor-2")
    second_direct, second_api = direct.poll(), through_api.poll()

    assert first_direct == first_api
    assert len(first_direct) == 6  # marker, donation, donor twice (moto), donation, donor
    assert second_direct == second_api
    assert second_direct


# --- random transactions: the patched backend against moto's stock method -----------------

KEYS = [(pk, sk) for pk in "abc" for sk in "xy"]
CONDITIONS = [
    None,
    "attribute_exists(pk)",
    "attribute_not_exists(pk)",
    "attribute_not_exists(n) OR n < :limit",
]


@st.composite
def operations(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(["Put", "Update", "Delete", "ConditionCheck"]))
    pk, sk = draw(st.sampled_from(KEYS))
    key = {"pk": {"S": pk}, "sk": {"S": sk}}
    request: dict[str, Any] = {"TableName": "TABLE"}
    condition = draw(st.sampled_from(CONDITIONS if kind != "ConditionCheck" else CONDITIONS[1:]))
    values: dict[str, Any] = {}
    if condition:
        request["ConditionExpression"] = condition
        request["ReturnValuesOnConditionCheckFailure"] = draw(st.sampled_from(["ALL_OLD", "NONE"]))
        if ":limit" in condition:
            values[":limit"] = {"N": "2"}
    if kind == "Put":
        request["Item"] = {**key, "v": {"N": str(draw(st.integers(0, 9)))}}
        if draw(st.booleans()) and draw(st.booleans()):
            del request["Item"]["sk"]  # refused by validation
    else:
        request["Key"] = key
    if kind == "Update":
        request["UpdateExpression"] = "ADD n :one SET v = :v"
        values |= {":one": {"N": "1"}, ":v": {"N": str(draw(st.integers(0, 9)))}}
    if values:
        request["ExpressionAttributeValues"] = values
    return {kind: request}


def _for_table(transaction: list[dict[str, Any]], table: str) -> list[dict[str, Any]]:
    return [
        {kind: {**request, "TableName": table} for kind, request in operation.items()}
        for operation in transaction
    ]


def _outcome(apply: Callable[[], None]) -> tuple[str, str] | None:
    try:
        apply()
    except Exception as error:  # the outcome is what is compared
        return type(error).__name__, str(error)
    return None


def _state(backend: Any, table_name: str) -> tuple[Any, Any]:
    table = backend.tables[table_name]
    items = {
        hash_key.value: {
            (range_key.value if range_key else None): item.to_json()
            for range_key, item in partition.items()
        }
        for hash_key, partition in table.items.items()
    }
    stream = []
    for stream_record in table.stream_shard.items:
        change = dict(stream_record.to_json()["dynamodb"])
        # When it was written, and the size moto derives from that timestamp's text.
        change.pop("ApproximateCreationDateTime")
        change.pop("SizeBytes")
        stream.append((stream_record.to_json()["eventName"], change))
    return items, stream


@contextmanager
def two_tables() -> Iterator[Any]:
    """The DynamoDB backend of a fresh account with two identical tables with streams."""
    from moto import mock_aws
    from moto.core.models import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends

    install_moto_patches()
    with mock_aws():
        client: Any = boto3.client("dynamodb", region_name=LOCAL_REGION, config=STREAMS_CONFIG)
        for name in ("patched", "stock"):
            client.create_table(
                TableName=name,
                KeySchema=[
                    {"AttributeName": "pk", "KeyType": "HASH"},
                    {"AttributeName": "sk", "KeyType": "RANGE"},
                ],
                AttributeDefinitions=[
                    {"AttributeName": "pk", "AttributeType": "S"},
                    {"AttributeName": "sk", "AttributeType": "S"},
                ],
                BillingMode="PAY_PER_REQUEST",
                StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
            )
        yield dynamodb_backends[DEFAULT_ACCOUNT_ID][LOCAL_REGION]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(transactions=st.lists(st.lists(operations(), min_size=1, max_size=4), max_size=8))
def test_random_transactions_leave_what_moto_s_whole_table_rollback_leaves(
    transactions: list[list[dict[str, Any]]],
) -> None:
    stock = stock_methods()["DynamoDBBackend.transact_write_items"]
    with two_tables() as backend:
        for transaction in transactions:
            patched_outcome = _outcome(
                functools.partial(backend.transact_write_items, _for_table(transaction, "patched"))
            )
            stock_outcome = _outcome(
                functools.partial(stock, backend, _for_table(transaction, "stock"))
            )

            event(stock_outcome[0] if stock_outcome else "committed")
            assert patched_outcome == stock_outcome
            assert _state(backend, "patched") == _state(backend, "stock")


@st.composite
def queries(draw: st.DrawFn) -> dict[str, Any]:
    comparison = draw(st.sampled_from([None, "BEGINS_WITH", ">", "<=", "BETWEEN"]))
    bounds = sorted(draw(st.lists(st.sampled_from(SORT_VALUES), min_size=2, max_size=2)))
    start = draw(st.none() | st.sampled_from(KEYS_WRITTEN))
    return {
        "hash_key": draw(st.sampled_from("abcd")),
        "range_comparison": comparison,
        "range_objs": bounds if comparison == "BETWEEN" else bounds[:1] if comparison else [],
        "limit": draw(st.none() | st.integers(1, 4)),
        "exclusive_start_key": start,
        "scan_index_forward": draw(st.booleans()),
    }


SORT_VALUES = ["x1", "x2", "y1", "y2", "z"]
KEYS_WRITTEN = [(pk, sk) for pk in "abc" for sk in SORT_VALUES]


@settings(max_examples=60, deadline=None)
@given(
    written=st.lists(st.sampled_from(KEYS_WRITTEN), unique=True, max_size=12),
    asked=st.lists(queries(), min_size=1, max_size=6),
)
def test_random_queries_answer_what_moto_s_full_table_query_answers(
    written: list[tuple[str, str]], asked: list[dict[str, Any]]
) -> None:
    from moto.dynamodb.models.dynamo_type import DynamoType

    stock = stock_methods()["Table.query"]
    with two_tables() as backend:
        table = backend.tables["patched"]
        for number, (pk, sk) in enumerate(written):
            table.put_item({"pk": {"S": pk}, "sk": {"S": sk}, "v": {"N": str(number)}})
        for query in asked:
            start = query["exclusive_start_key"]
            arguments = (
                DynamoType({"S": query["hash_key"]}),
                query["range_comparison"],
                [DynamoType({"S": value}) for value in query["range_objs"]],
                query["limit"],
                {"pk": {"S": start[0]}, "sk": {"S": start[1]}} if start else None,
                query["scan_index_forward"],
                None,
            )

            patched_items, patched_scanned, patched_last = table.query(*arguments)
            stock_items, stock_scanned, stock_last = stock(table, *arguments)

            assert [item.to_json() for item in patched_items] == [
                item.to_json() for item in stock_items
            ]
            assert (patched_scanned, patched_last) == (stock_scanned, stock_last)
