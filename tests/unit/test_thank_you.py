from __future__ import annotations

import pytest

from donations.domain.ledger import DonationLedger
from donations.domain.thank_you import ThankYouOutcome, ThankYouService
from donations.domain.thanks import DonorChange, compose_thank_you, crossed_threshold
from donations.domain.validation import DonationRequest
from tests.support.memory import InMemoryDonationStore, InMemoryThankYouSender


@pytest.fixture
def store() -> InMemoryDonationStore:
    return InMemoryDonationStore()


@pytest.fixture
def sender() -> InMemoryThankYouSender:
    return InMemoryThankYouSender()


@pytest.fixture
def service(store: InMemoryDonationStore, sender: InMemoryThankYouSender) -> ThankYouService:
    return ThankYouService(store, sender, threshold=2)


def donate(store: InMemoryDonationStore, donor_id: str, times: int) -> list[DonorChange]:
    ledger = DonationLedger(store)
    for _ in range(times):
        ledger.record_donation(DonationRequest(donor_id, "5"))
    return [change for change in store.changes if change.donor_id == donor_id]


@pytest.mark.parametrize(
    ("old", "new", "crossed"),
    [(0, 1, False), (1, 2, True), (2, 3, False), (0, 2, True), (5, 6, False), (1, 1, False)],
)
def test_only_the_crossing_change_counts(old: int, new: int, crossed: bool) -> None:
    assert crossed_threshold(DonorChange("d", old, new), threshold=2) is crossed


def test_second_donation_sends_one_thank_you(
    store: InMemoryDonationStore, sender: InMemoryThankYouSender, service: ThankYouService
) -> None:
    outcomes = [service.handle(change).outcome for change in donate(store, "donor-1", 3)]

    assert outcomes == [
        ThankYouOutcome.NOT_A_MILESTONE,
        ThankYouOutcome.SENT,
        ThankYouOutcome.NOT_A_MILESTONE,
    ]
    assert [message.donor_id for message in sender.sent] == ["donor-1"]
    assert store.donor("donor-1").thank_you_message_id == "message-1"


def test_redelivered_change_does_not_send_again(
    store: InMemoryDonationStore, sender: InMemoryThankYouSender, service: ThankYouService
) -> None:
    crossing = donate(store, "donor-1", 2)[1]

    service.handle(crossing)
    again = service.handle(crossing)

    assert again.outcome is ThankYouOutcome.ALREADY_THANKED
    assert len(sender.sent) == 1


def test_failed_send_leaves_the_donor_unthanked_for_a_retry(
    store: InMemoryDonationStore, sender: InMemoryThankYouSender, service: ThankYouService
) -> None:
    crossing = donate(store, "donor-1", 2)[1]
    sender.failing = True

    with pytest.raises(ConnectionError):
        service.handle(crossing)
    assert store.donor("donor-1").thanked_at is None

    sender.failing = False
    assert service.handle(crossing).outcome is ThankYouOutcome.SENT
    assert len(sender.sent) == 1


def test_redrive_thanks_exactly_the_missed_donors_once(
    store: InMemoryDonationStore, sender: InMemoryThankYouSender, service: ThankYouService
) -> None:
    thanked = donate(store, "thanked", 2)[1]
    service.handle(thanked)
    donate(store, "missed-a", 2)
    donate(store, "missed-b", 4)
    donate(store, "only-once", 1)

    first_run = [result.outcome for result in service.redrive()]
    second_run = list(service.redrive())

    assert first_run == [ThankYouOutcome.SENT, ThankYouOutcome.SENT]
    assert sorted(m.donor_id for m in sender.sent) == ["missed-a", "missed-b", "thanked"]
    assert second_run == []


def test_threshold_is_configurable(
    store: InMemoryDonationStore, sender: InMemoryThankYouSender
) -> None:
    service = ThankYouService(store, sender, threshold=3)

    outcomes = [service.handle(change).outcome for change in donate(store, "donor-1", 3)]

    assert outcomes[-1] is ThankYouOutcome.SENT
    assert sender.sent[0].milestone == 3


def test_message_is_warm_specific_and_filterable() -> None:
    message = compose_thank_you("donor-1", 2)

    assert message.subject == "Thank you for your 2nd gift"
    assert "2nd gift" in message.body
    assert "donor-1" not in message.body
    assert message.attributes() == {"event_type": "donor.thank_you", "milestone": "2"}
