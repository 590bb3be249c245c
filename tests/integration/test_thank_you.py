"""The thank-you path end to end: real stream records from moto through the real handler."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import pytest
from botocore.exceptions import ClientError

from local.inbox import ThankYouInbox
from local.stream_pump import StreamPump
from tests.support.api import RECORD_DONATION_LEAN, count, graphql, record
from tests.support.aws import EmulatedAccount


@pytest.fixture
def pump(aws: EmulatedAccount) -> StreamPump:
    return StreamPump(aws.stream_arn, aws.thank_you_handler, retry_delay=0)


@pytest.fixture
def inbox(aws: EmulatedAccount) -> ThankYouInbox:
    return ThankYouInbox(aws.queue_url)


def delivered(inbox: ThankYouInbox) -> list[dict[str, Any]]:
    """Everything that reached the topic's subscriber so far."""
    while inbox.collect():
        pass
    return inbox.received


@contextmanager
def sns_outage(aws: EmulatedAccount) -> Iterator[None]:
    """Every SNS publish fails, as in a regional SNS incident."""

    def refuse(**_: Any) -> None:
        raise ClientError(
            {"Error": {"Code": "InternalError", "Message": "SNS unavailable"}}, "Publish"
        )

    assert aws.clients.sns is not None
    events = aws.clients.sns.meta.events
    events.register("before-call.sns.Publish", refuse, unique_id="sns-outage")
    yield
    events.unregister("before-call.sns.Publish", unique_id="sns-outage")


def test_second_donation_sends_exactly_one_thank_you(
    pump: StreamPump, inbox: ThankYouInbox
) -> None:
    record("donor-1")
    pump.drain()
    assert delivered(inbox) == []

    record("donor-1")
    pump.drain()
    record("donor-1")
    record("donor-1")
    pump.drain()

    messages = delivered(inbox)
    assert [(m["donor_id"], m["milestone"], m["event_type"]) for m in messages] == [
        ("donor-1", "2", "donor.thank_you")
    ]
    assert messages[0]["subject"] == "Thank you for your 2nd gift"
    donor = graphql('{ donor(id: "donor-1") { thankedAt } }').data["donor"]
    assert donor["thankedAt"] is not None


def _event_loop_per_thread() -> None:
    asyncio.set_event_loop(asyncio.new_event_loop())


# Threads share the process's one Metrics buffer, so one thread's flush can empty
# another's; separate Lambda containers never share it.
@pytest.mark.filterwarnings("ignore:No application metrics:UserWarning")
def test_fifty_concurrent_donations_count_fifty_and_thank_once_even_when_redelivered(
    pump: StreamPump, inbox: ThankYouInbox
) -> None:
    def donate(n: int) -> str:
        response = graphql(
            RECORD_DONATION_LEAN, {"input": {"donorId": "hot-donor", "amount": f"{n}.00"}}
        )
        typename: str = response.data["recordDonation"]["__typename"]
        return typename

    # Each Lambda container runs one invocation at a time on its main thread; these threads
    # stand for 16 containers, so each needs the event loop Mangum expects.
    with ThreadPoolExecutor(max_workers=16, initializer=_event_loop_per_thread) as pool:
        results = list(pool.map(donate, range(1, 51)))

    records = pump.poll()
    pump.deliver(records)
    pump.deliver(records)  # Lambda may deliver a whole batch again

    assert results == ["RecordDonationSuccess"] * 50
    assert count("hot-donor") == 50
    assert [m["donor_id"] for m in delivered(inbox)] == ["hot-donor"]


def test_retried_request_with_one_idempotency_key_counts_once_and_thanks_at_most_once(
    pump: StreamPump, inbox: ThankYouInbox
) -> None:
    for _ in range(5):
        record("donor-1", "10", idempotencyKey="request-7d2e41")
    pump.drain()

    assert count("donor-1") == 1
    assert delivered(inbox) == []

    record("donor-1", "10", idempotencyKey="request-8f0a17")
    record("donor-1", "10", idempotencyKey="request-8f0a17")
    pump.drain()

    assert count("donor-1") == 2
    assert len(delivered(inbox)) == 1


def test_sns_outage_loses_nothing_and_thanks_once_after_recovery(
    aws: EmulatedAccount, inbox: ThankYouInbox
) -> None:
    record("donor-1")
    second = record("donor-1")
    pump = StreamPump(aws.stream_arn, aws.thank_you_handler, retry_delay=0, max_retries=0)
    records = pump.poll()

    with sns_outage(aws):
        response = aws.deliver(records)

    failed = [item["itemIdentifier"] for item in response["batchItemFailures"]]
    crossing = [r for r in records if r["dynamodb"].get("OldImage", {}).get("donationCount")]
    assert failed == [crossing[0]["dynamodb"]["SequenceNumber"]]
    assert second["__typename"] == "RecordDonationSuccess"
    assert count("donor-1") == 2
    assert delivered(inbox) == []

    # SNS is back: Lambda delivers the batch again from the failed record on, twice over.
    retry = records[records.index(crossing[0]) :]
    for _ in range(2):
        again = aws.deliver(retry)
        assert again["batchItemFailures"] == []
    assert len(delivered(inbox)) == 1


def test_malformed_record_does_not_block_the_rest_of_its_batch(
    aws: EmulatedAccount, pump: StreamPump, inbox: ThankYouInbox
) -> None:
    record("donor-1")
    record("donor-1")
    records = pump.poll()
    broken = {**records[0], "dynamodb": {"SequenceNumber": "000-broken", "Keys": {}}}

    response = aws.deliver([broken, *records])

    assert response["batchItemFailures"] == [{"itemIdentifier": "000-broken"}]
    assert len(delivered(inbox)) == 1


def test_redrive_thanks_exactly_the_missed_donors_and_a_second_run_sends_nothing(
    aws: EmulatedAccount, inbox: ThankYouInbox
) -> None:
    from scripts.redrive import redrive

    thank_you = aws.services.thank_you
    assert thank_you is not None

    for donor in ("missed-a", "missed-b", "missed-b", "missed-a", "one-gift"):
        record(donor)
    record("missed-b")

    first = redrive(thank_you)
    second = redrive(thank_you)

    assert first.sent == 2
    assert second.sent == 0
    assert sorted(m["donor_id"] for m in delivered(inbox)) == ["missed-a", "missed-b"]


def test_thank_yous_keep_flowing_after_a_replayed_request(
    pump: StreamPump, inbox: ThankYouInbox
) -> None:
    record("donor-1", "10", idempotencyKey="request-1c9b55")
    pump.drain()
    record("donor-1", "10", idempotencyKey="request-1c9b55")  # cancelled transaction

    record("donor-2")
    record("donor-2")
    pump.drain()

    assert [m["donor_id"] for m in delivered(inbox)] == ["donor-2"]


def test_a_mark_that_conflicts_with_a_donation_in_flight_is_retried_not_republished(
    aws: EmulatedAccount, pump: StreamPump, inbox: ThankYouInbox
) -> None:
    conflicts = iter([True])

    def conflict_once(**_: Any) -> None:
        if next(conflicts, False):
            raise ClientError(
                {"Error": {"Code": "TransactionConflictException", "Message": "in flight"}},
                "UpdateItem",
            )

    record("donor-1")
    record("donor-1")
    events = aws.clients.dynamodb.meta.events
    events.register("before-call.dynamodb.UpdateItem", conflict_once, unique_id="conflict")
    try:
        pump.drain()
    finally:
        events.unregister("before-call.dynamodb.UpdateItem", unique_id="conflict")
    pump.drain()

    assert next(conflicts, "spent") == "spent"
    assert [m["donor_id"] for m in delivered(inbox)] == ["donor-1"]
    assert graphql('{ donor(id: "donor-1") { thankedAt } }').data["donor"]["thankedAt"]


def test_a_batch_whose_every_record_fails_is_reported_not_raised(aws: EmulatedAccount) -> None:
    record("donor-1")
    record("donor-1")
    pump = StreamPump(aws.stream_arn, aws.thank_you_handler)
    crossing = [r for r in pump.poll() if r["dynamodb"].get("OldImage", {}).get("donationCount")]

    with sns_outage(aws):
        response = aws.deliver(crossing)

    assert response["batchItemFailures"] == [
        {"itemIdentifier": crossing[0]["dynamodb"]["SequenceNumber"]}
    ]
