from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from donations.domain.errors import IdempotencyKeyReusedError, InvalidInputError
from donations.domain.ledger import DonationLedger
from donations.domain.validation import DonationRequest
from tests.support.memory import InMemoryDonationStore

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


@pytest.fixture
def store() -> InMemoryDonationStore:
    return InMemoryDonationStore()


@pytest.fixture
def ledger(store: InMemoryDonationStore) -> DonationLedger:
    ids = iter(f"donation-{n}" for n in range(1, 1000))
    return DonationLedger(store, clock=lambda: NOW, new_id=lambda: next(ids))


def test_two_donations_count_two_and_total_per_currency(ledger: DonationLedger) -> None:
    ledger.record_donation(DonationRequest("donor-1", Decimal("10.00")))
    ledger.record_donation(DonationRequest("donor-1", Decimal("2.50")))
    ledger.record_donation(DonationRequest("donor-1", Decimal(3), currency="EUR"))

    donor = ledger.donor("donor-1")
    assert ledger.donation_count("donor-1") == 3
    assert donor.totals == {"GBP": 1250, "EUR": 300}


def test_unknown_donor_has_zero_donations(ledger: DonationLedger) -> None:
    assert ledger.donation_count("never-seen") == 0


def test_retry_with_same_key_replays_the_original(ledger: DonationLedger) -> None:
    request = DonationRequest("donor-1", Decimal(5), idempotency_key="retry-key-1")

    first = ledger.record_donation(request)
    again = ledger.record_donation(request)

    assert not first.replayed
    assert again.replayed
    assert again.donation.id == first.donation.id
    assert ledger.donation_count("donor-1") == 1


def test_same_key_with_different_payload_is_refused(ledger: DonationLedger) -> None:
    ledger.record_donation(DonationRequest("donor-1", Decimal(5), idempotency_key="retry-key-1"))

    with pytest.raises(IdempotencyKeyReusedError):
        ledger.record_donation(
            DonationRequest("donor-1", Decimal(6), idempotency_key="retry-key-1")
        )
    assert ledger.donation_count("donor-1") == 1


def test_invalid_request_writes_nothing(
    ledger: DonationLedger, store: InMemoryDonationStore
) -> None:
    with pytest.raises(InvalidInputError):
        ledger.record_donation(DonationRequest("donor-1", Decimal(-1)))

    assert store.changes == []


def test_pages_run_newest_first_until_exhausted(ledger: DonationLedger) -> None:
    for day in range(1, 6):
        when = datetime(2026, 11, day, tzinfo=UTC)
        ledger.record_donation(DonationRequest("donor-1", Decimal(day), donated_at=when))

    first = ledger.donations("donor-1", 2, None)
    second = ledger.donations("donor-1", 2, first.next_cursor)
    last = ledger.donations("donor-1", 2, second.next_cursor)

    amounts = [d.amount.minor_units for page in (first, second, last) for d in page.donations]
    assert amounts == [500, 400, 300, 200, 100]
    assert last.next_cursor is None


@pytest.mark.parametrize("first", [0, 101])
def test_page_size_is_bounded(ledger: DonationLedger, first: int) -> None:
    with pytest.raises(InvalidInputError) as raised:
        ledger.donations("donor-1", first, None)

    assert raised.value.errors[0].field == "first"
