"""Forgetting a donor, on the in-memory store: what goes, what stays, and running it twice."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from donations.domain.erasure import DonorErasure, DonorStillActiveError
from donations.domain.errors import InvalidInputError
from donations.domain.ledger import DonationLedger
from donations.domain.model import AnonymousTotal, ErasureCounts
from donations.domain.thank_you import ThankYouOutcome, ThankYouService
from donations.domain.validation import DonationRequest
from tests.support.memory import InMemoryDonationStore, InMemoryThankYouSender

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


@pytest.fixture
def store() -> InMemoryDonationStore:
    return InMemoryDonationStore()


@pytest.fixture
def ledger(store: InMemoryDonationStore) -> DonationLedger:
    return DonationLedger(store, clock=lambda: NOW)


@pytest.fixture
def erasure(store: InMemoryDonationStore) -> DonorErasure:
    return DonorErasure(store)


def give(ledger: DonationLedger, donor_id: str, amount: str, **fields: Any) -> None:
    ledger.record_donation(DonationRequest(donor_id, amount, **fields))


def test_forgetting_removes_the_donor_their_donations_and_their_markers(
    ledger: DonationLedger, erasure: DonorErasure
) -> None:
    give(ledger, "donor-1", "10", idempotency_key="key-0000001")
    give(ledger, "donor-1", "5", idempotency_key="key-0000002")
    give(ledger, "donor-1", "2")

    removed = erasure.forget("donor-1")

    assert removed == ErasureCounts(donors=1, donations=3, markers=2)
    assert ledger.donation_count("donor-1") == 0
    assert ledger.donations("donor-1", 10, None).donations == []
    # The markers are gone too: the same keys now record new donations.
    give(ledger, "donor-1", "10", idempotency_key="key-0000001")
    assert ledger.donation_count("donor-1") == 1


def test_forgetting_twice_finds_nothing_the_second_time(
    ledger: DonationLedger, erasure: DonorErasure
) -> None:
    give(ledger, "donor-1", "10")
    erasure.forget("donor-1")

    assert erasure.forget("donor-1") == ErasureCounts()
    assert erasure.forget("never-seen") == ErasureCounts()


def test_only_anonymous_monthly_totals_are_kept(
    store: InMemoryDonationStore, ledger: DonationLedger, erasure: DonorErasure
) -> None:
    october = datetime(2026, 10, 3, 9, 0, tzinfo=UTC)
    give(ledger, "donor-1", "10.00", donated_at=october)
    give(ledger, "donor-1", "2.50", donated_at=october + timedelta(days=1))
    give(ledger, "donor-1", "7", currency="EUR")
    give(ledger, "donor-2", "99")

    erasure.forget("donor-1")

    assert store.anonymous == {
        "2026-10": AnonymousTotal("2026-10", 2, {"GBP": 1250}),
        "2026-11": AnonymousTotal("2026-11", 1, {"EUR": 700}),
    }
    assert ledger.donation_count("donor-2") == 1


def test_a_marker_whose_key_lapsed_and_now_names_another_donor_is_left_alone(
    store: InMemoryDonationStore, erasure: DonorErasure
) -> None:
    clock = iter([NOW, NOW + timedelta(days=2), NOW + timedelta(days=2)])
    ledger = DonationLedger(store, clock=lambda: next(clock))
    give(ledger, "donor-1", "10", idempotency_key="shared-key-1")
    give(ledger, "donor-2", "20", idempotency_key="shared-key-1")

    removed = erasure.forget("donor-1")

    assert removed.markers == 0
    # donor-2's marker still stands: their retry is still a replay.
    replay = ledger.record_donation(
        DonationRequest("donor-2", "20", idempotency_key="shared-key-1")
    )
    assert replay.replayed


def test_a_malformed_donor_id_is_refused_before_anything_is_touched(
    erasure: DonorErasure,
) -> None:
    with pytest.raises(InvalidInputError):
        erasure.forget("someone@example.org")


def test_a_donor_still_giving_while_being_forgotten_is_reported() -> None:
    class StillGiving(InMemoryDonationStore):
        """A source system that keeps sending donations for the donor meanwhile."""

        def forget_donor(self, donor_id: str) -> ErasureCounts:
            removed = super().forget_donor(donor_id)
            give(DonationLedger(self, clock=lambda: NOW), donor_id, "1")
            return removed

    store = StillGiving()
    give(DonationLedger(store, clock=lambda: NOW), "donor-1", "1")

    with pytest.raises(DonorStillActiveError) as raised:
        DonorErasure(store).forget("donor-1")

    assert raised.value.removed.donations == 3


def test_a_forgotten_donor_starts_again_from_one_and_is_thanked_afresh_at_two(
    store: InMemoryDonationStore, ledger: DonationLedger, erasure: DonorErasure
) -> None:
    sender = InMemoryThankYouSender()
    thank_you = ThankYouService(store, sender, threshold=2)
    give(ledger, "donor-1", "10")
    give(ledger, "donor-1", "10")
    thank_you.handle(store.changes[-1])

    erasure.forget("donor-1")
    give(ledger, "donor-1", "10")
    assert ledger.donation_count("donor-1") == 1
    give(ledger, "donor-1", "10")
    outcome = thank_you.handle(store.changes[-1]).outcome

    assert outcome is ThankYouOutcome.SENT
    assert [message.donor_id for message in sender.sent] == ["donor-1", "donor-1"]


def test_a_crossing_retried_after_the_donor_was_forgotten_sends_nothing(
    store: InMemoryDonationStore, ledger: DonationLedger, erasure: DonorErasure
) -> None:
    sender = InMemoryThankYouSender()
    thank_you = ThankYouService(store, sender, threshold=2)
    give(ledger, "donor-1", "10")
    give(ledger, "donor-1", "10")
    crossing = store.changes[-1]

    erasure.forget("donor-1")
    result = thank_you.handle(crossing)

    assert result.outcome is ThankYouOutcome.FORGOTTEN
    assert sender.sent == []
    assert list(thank_you.redrive()) == []
