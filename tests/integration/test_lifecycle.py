"""Data lifecycle against moto: idempotency markers that lapse, and a donor who is forgotten."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from donations.adapters.dynamodb import DynamoDBDonationStore, from_wire
from donations.constants import (
    ANONYMOUS_TOTALS_KEY_PREFIX,
    DONOR_ID_ATTRIBUTE,
    EXPIRES_AT_ATTRIBUTE,
    IDEMPOTENCY_KEY_PREFIX,
    PARTITION_KEY,
    RECORDED_AT_ATTRIBUTE,
)
from donations.container import build_erasure
from donations.domain.erasure import DonorErasure
from donations.domain.errors import IdempotencyKeyReusedError
from donations.domain.ledger import DonationLedger
from donations.domain.model import ErasureCounts
from donations.domain.validation import DonationRequest
from donations.settings import Settings
from local.inbox import ThankYouInbox
from local.stream_pump import StreamPump
from tests.support.api import count, graphql, record
from tests.support.aws import EmulatedAccount
from tests.support.clock import Clock

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
WINDOW = timedelta(hours=24)


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


@pytest.fixture
def ledger(aws: EmulatedAccount, clock: Clock) -> DonationLedger:
    """The ledger over the DynamoDB store and moto, with a clock the test controls."""
    store = DynamoDBDonationStore(aws.clients.dynamodb, aws.resources.table_name)
    return DonationLedger(store, clock=clock, idempotency_window=WINDOW)


@pytest.fixture
def erasure(aws: EmulatedAccount) -> DonorErasure:
    return build_erasure(Settings.from_env(), aws.clients)


def table_items() -> list[dict[str, Any]]:
    pages = boto3.client("dynamodb").get_paginator("scan").paginate(TableName="donations-test")
    return [from_wire(item) for page in pages for item in page["Items"]]


def marker(key: str) -> dict[str, Any]:
    (item,) = [i for i in table_items() if i[PARTITION_KEY] == IDEMPOTENCY_KEY_PREFIX + key]
    return item


def give(ledger: DonationLedger, donor_id: str, amount: int, key: str) -> str:
    request = DonationRequest(donor_id, str(amount), idempotency_key=key)
    return ledger.record_donation(request).donation.id


# The idempotency window ----------------------------------------------------------------


def test_a_replay_one_second_before_the_window_ends_returns_the_original(
    ledger: DonationLedger, clock: Clock
) -> None:
    original = give(ledger, "donor-1", 10, "window-key-1")

    clock.now = NOW + WINDOW - timedelta(seconds=1)
    replay = ledger.record_donation(
        DonationRequest("donor-1", "10", idempotency_key="window-key-1")
    )

    assert replay.replayed
    assert replay.donation.id == original
    assert ledger.donation_count("donor-1") == 1


def test_after_the_window_the_key_records_a_new_donation_though_its_marker_is_still_there(
    ledger: DonationLedger, clock: Clock
) -> None:
    first = give(ledger, "donor-1", 10, "window-key-1")
    clock.now = NOW + WINDOW

    lapsed = marker("window-key-1")
    second = give(ledger, "donor-1", 10, "window-key-1")
    replay_of_second = give(ledger, "donor-1", 10, "window-key-1")

    # The sweeper hasn't run (moto never sweeps), yet the lapsed marker counted as absent.
    assert lapsed["donationId"] == first
    assert lapsed[EXPIRES_AT_ATTRIBUTE] == int((NOW + WINDOW).timestamp())
    assert second != first
    assert replay_of_second == second
    assert ledger.donation_count("donor-1") == 2
    renewed = marker("window-key-1")
    assert renewed["donationId"] == second
    assert renewed[EXPIRES_AT_ATTRIBUTE] == int((NOW + 2 * WINDOW).timestamp())


def test_after_the_window_the_old_payload_meets_the_new_holder_of_the_key(
    ledger: DonationLedger, clock: Clock
) -> None:
    give(ledger, "donor-1", 10, "window-key-1")
    clock.now = NOW + 2 * WINDOW
    give(ledger, "donor-2", 30, "window-key-1")

    with pytest.raises(IdempotencyKeyReusedError):
        give(ledger, "donor-1", 10, "window-key-1")
    assert [ledger.donation_count(d) for d in ("donor-1", "donor-2")] == [1, 1]


def test_the_expiry_is_on_every_marker_and_on_nothing_else(aws: EmulatedAccount) -> None:
    record("donor-1", "10", idempotencyKey="marker-key-1")
    record("donor-1", "12", idempotencyKey="marker-key-2")
    record("donor-1", "12", idempotencyKey="marker-key-2")
    record("donor-2", "5")
    StreamPump(aws.stream_arn, aws.thank_you_handler, retry_delay=0).drain()  # thanks donor-1

    items = table_items()
    markers = [i for i in items if i[PARTITION_KEY].startswith(IDEMPOTENCY_KEY_PREFIX)]
    others = [i for i in items if not i[PARTITION_KEY].startswith(IDEMPOTENCY_KEY_PREFIX)]

    assert len(markers) == 2
    assert len(others) == 5  # two donors, three donations
    assert all(EXPIRES_AT_ATTRIBUTE not in item for item in others)
    for item in markers:
        recorded_at = datetime.fromisoformat(item[RECORDED_AT_ATTRIBUTE])
        assert item[EXPIRES_AT_ATTRIBUTE] == int((recorded_at + timedelta(hours=24)).timestamp())


@pytest.mark.usefixtures("aws")
def test_the_emulated_table_expires_items_by_the_shared_attribute_name() -> None:
    described = boto3.client("dynamodb").describe_time_to_live(TableName="donations-test")

    assert described["TimeToLiveDescription"] == {
        "TimeToLiveStatus": "ENABLED",
        "AttributeName": EXPIRES_AT_ATTRIBUTE,
    }


# Forgetting a donor --------------------------------------------------------------------


def mentions(donor_id: str, item: dict[str, Any]) -> bool:
    return donor_id in str(item[PARTITION_KEY]) or item.get(DONOR_ID_ATTRIBUTE) == donor_id


def test_forgetting_leaves_nothing_that_names_the_donor_and_keeps_anonymous_totals(
    erasure: DonorErasure,
) -> None:
    record("donor-1", "10.00", idempotencyKey="forget-key-1")
    record("donor-1", "2.50", idempotencyKey="forget-key-2", currency="EUR")
    record("donor-1", "1.00", donatedAt="2026-10-31T23:00:00+00:00")
    record("donor-2", "4.00", idempotencyKey="forget-key-3")

    removed = erasure.forget("donor-1")

    assert removed == ErasureCounts(donors=1, donations=3, markers=2)
    assert not [item for item in table_items() if mentions("donor-1", item)]
    assert count("donor-1") == 0
    assert graphql('{ donor(id: "donor-1") { donationCount } }').data == {"donor": None}
    assert count("donor-2") == 1
    kept = {
        item[PARTITION_KEY].removeprefix(ANONYMOUS_TOTALS_KEY_PREFIX): item
        for item in table_items()
        if item[PARTITION_KEY].startswith(ANONYMOUS_TOTALS_KEY_PREFIX)
    }
    this_month = datetime.now(UTC).strftime("%Y-%m")
    assert kept["2026-10"]["donationCount"] == 1
    assert kept["2026-10"]["total#GBP"] == 100
    assert kept[this_month]["donationCount"] == 2
    assert (kept[this_month]["total#GBP"], kept[this_month]["total#EUR"]) == (1000, 250)


def test_forgetting_again_finds_nothing_and_changes_nothing(erasure: DonorErasure) -> None:
    record("donor-1", "10.00", idempotencyKey="forget-key-1")
    erasure.forget("donor-1")
    after_first = table_items()

    assert erasure.forget("donor-1") == ErasureCounts()
    assert table_items() == after_first


def test_a_donor_with_many_donations_is_forgotten_in_several_transactions(
    erasure: DonorErasure,
) -> None:
    for n in range(70):
        record("donor-1", "1.00", idempotencyKey=f"many-key-{n:04}")

    removed = erasure.forget("donor-1")

    assert removed == ErasureCounts(donors=1, donations=70, markers=70)
    assert not [item for item in table_items() if mentions("donor-1", item)]
    (kept,) = [i for i in table_items() if i[PARTITION_KEY].startswith(ANONYMOUS_TOTALS_KEY_PREFIX)]
    assert (kept["donationCount"], kept["total#GBP"]) == (70, 7000)


def test_a_lapsed_key_now_held_by_another_donor_keeps_its_marker(
    ledger: DonationLedger, clock: Clock, erasure: DonorErasure
) -> None:
    give(ledger, "donor-1", 10, "shared-key-1")
    clock.now = NOW + 2 * WINDOW
    give(ledger, "donor-2", 20, "shared-key-1")

    removed = erasure.forget("donor-1")

    assert removed == ErasureCounts(donors=1, donations=1, markers=0)
    assert marker("shared-key-1")[DONOR_ID_ATTRIBUTE] == "donor-2"


def test_a_marker_swept_by_ttl_during_the_erasure_is_not_counted(
    aws: EmulatedAccount, erasure: DonorErasure
) -> None:
    record("donor-1", "10.00", idempotencyKey="swept-key-1")
    record("donor-1", "10.00", idempotencyKey="swept-key-2")
    sweeps = iter(["swept-key-1"])

    def ttl_sweeps_first(**_: Any) -> None:
        key = next(sweeps, None)
        if key is not None:
            boto3.client("dynamodb").delete_item(
                TableName="donations-test",
                Key={
                    PARTITION_KEY: {"S": IDEMPOTENCY_KEY_PREFIX + key},
                    "sk": {"S": "IDEMPOTENCY"},
                },
            )

    events = aws.clients.dynamodb.meta.events
    events.register("before-call.dynamodb.TransactWriteItems", ttl_sweeps_first, "ttl")
    try:
        removed = erasure.forget("donor-1")
    finally:
        events.unregister("before-call.dynamodb.TransactWriteItems", unique_id="ttl")

    assert removed == ErasureCounts(donors=1, donations=2, markers=1)
    assert not [item for item in table_items() if mentions("donor-1", item)]


def test_the_removals_reach_the_stream_consumer_and_thank_no_one(
    aws: EmulatedAccount, erasure: DonorErasure
) -> None:
    pump = StreamPump(aws.stream_arn, aws.thank_you_handler, retry_delay=0)
    inbox = ThankYouInbox(aws.queue_url)
    record("donor-1", "10.00", idempotencyKey="stream-key-1")
    record("donor-1", "10.00")
    pump.drain()
    assert len(inbox.collect()) == 1

    erasure.forget("donor-1")
    removals = [r for r in pump.poll() if r["eventName"] == "REMOVE"]
    response = aws.deliver(removals)

    assert len(removals) == 4  # donor, two donations, one marker
    assert response["batchItemFailures"] == []
    assert inbox.collect() == []


def test_a_forgotten_donor_starts_again_at_one_and_is_thanked_afresh_at_two(
    aws: EmulatedAccount, erasure: DonorErasure
) -> None:
    pump = StreamPump(aws.stream_arn, aws.thank_you_handler, retry_delay=0)
    inbox = ThankYouInbox(aws.queue_url)
    record("donor-1", "10.00")
    record("donor-1", "10.00")
    pump.drain()
    erasure.forget("donor-1")

    again = record("donor-1", "3.00")
    pump.drain()
    assert again["donor"] == {
        "id": "donor-1",
        "donationCount": 1,
        "totals": [{"amount": "3.00", "currency": "GBP"}],
        "thankedAt": None,
    }
    assert len(inbox.collect()) == 1  # the thank-you from before the erasure

    record("donor-1", "3.00")
    pump.drain()
    assert [m["donor_id"] for m in inbox.collect()] == ["donor-1"]
