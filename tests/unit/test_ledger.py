from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from donations.domain.errors import IdempotencyKeyReusedError, InvalidInputError
from donations.domain.ledger import DonationLedger
from donations.domain.model import DonationPage, DonorHistory
from donations.domain.validation import DonationRequest
from tests.support.clock import Clock
from tests.support.memory import InMemoryDonationStore

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


@pytest.fixture
def store() -> InMemoryDonationStore:
    return InMemoryDonationStore()


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


@pytest.fixture
def ledger(store: InMemoryDonationStore, clock: Clock) -> DonationLedger:
    ids = iter(f"donation-{n}" for n in range(1, 1000))
    return DonationLedger(store, clock=clock, new_id=lambda: next(ids))


def test_two_donations_count_two_and_total_per_currency(ledger: DonationLedger) -> None:
    ledger.record_donation(DonationRequest("donor-1", "10.00"))
    ledger.record_donation(DonationRequest("donor-1", "2.50"))
    ledger.record_donation(DonationRequest("donor-1", "3", currency="EUR"))

    donor = ledger.donor("donor-1")
    assert ledger.donation_count("donor-1") == 3
    assert donor.totals == {"GBP": 1250, "EUR": 300}


def test_unknown_donor_has_zero_donations(ledger: DonationLedger) -> None:
    assert ledger.donation_count("never-seen") == 0


def test_retry_with_same_key_replays_the_original(ledger: DonationLedger) -> None:
    request = DonationRequest("donor-1", "5", idempotency_key="retry-key-1")

    first = ledger.record_donation(request)
    again = ledger.record_donation(request)

    assert not first.replayed
    assert again.replayed
    assert again.donation.id == first.donation.id
    assert ledger.donation_count("donor-1") == 1


def test_same_key_with_different_payload_is_refused(ledger: DonationLedger) -> None:
    ledger.record_donation(DonationRequest("donor-1", "5", idempotency_key="retry-key-1"))

    with pytest.raises(IdempotencyKeyReusedError):
        ledger.record_donation(DonationRequest("donor-1", "6", idempotency_key="retry-key-1"))
    assert ledger.donation_count("donor-1") == 1


def test_a_replay_just_inside_the_window_returns_the_original(
    ledger: DonationLedger, clock: Clock
) -> None:
    request = DonationRequest("donor-1", "5", idempotency_key="retry-key-1")
    first = ledger.record_donation(request)

    clock.now = NOW + timedelta(hours=24) - timedelta(seconds=1)
    again = ledger.record_donation(request)

    assert again.replayed
    assert again.donation.id == first.donation.id
    assert ledger.donation_count("donor-1") == 1


def test_after_the_window_the_same_key_records_a_new_donation(
    ledger: DonationLedger, clock: Clock
) -> None:
    request = DonationRequest("donor-1", "5", idempotency_key="retry-key-1")
    first = ledger.record_donation(request)

    clock.now = NOW + timedelta(hours=24)
    later = ledger.record_donation(request)
    replay_of_later = ledger.record_donation(request)

    assert not later.replayed
    assert later.donation.id != first.donation.id
    assert replay_of_later.donation.id == later.donation.id
    assert ledger.donation_count("donor-1") == 2


def test_after_the_window_the_key_is_free_for_a_different_payload_too(
    ledger: DonationLedger, clock: Clock
) -> None:
    ledger.record_donation(DonationRequest("donor-1", "5", idempotency_key="retry-key-1"))

    clock.now = NOW + timedelta(days=2)
    other = ledger.record_donation(DonationRequest("donor-2", "7", idempotency_key="retry-key-1"))

    assert not other.replayed
    assert ledger.donation_count("donor-2") == 1
    # The key now belongs to the newer donation: the first payload is a different request.
    with pytest.raises(IdempotencyKeyReusedError):
        ledger.record_donation(DonationRequest("donor-1", "5", idempotency_key="retry-key-1"))


def test_the_window_is_configurable(store: InMemoryDonationStore, clock: Clock) -> None:
    ledger = DonationLedger(store, clock=clock, idempotency_window=timedelta(hours=1))
    request = DonationRequest("donor-1", "5", idempotency_key="retry-key-1")
    ledger.record_donation(request)

    clock.now = NOW + timedelta(hours=1)

    assert not ledger.record_donation(request).replayed
    assert ledger.donation_count("donor-1") == 2


def test_invalid_request_writes_nothing(
    ledger: DonationLedger, store: InMemoryDonationStore
) -> None:
    with pytest.raises(InvalidInputError):
        ledger.record_donation(DonationRequest("donor-1", "-1"))

    assert store.changes == []


def test_pages_run_newest_first_until_exhausted(ledger: DonationLedger) -> None:
    for day in range(1, 6):
        when = datetime(2026, 11, day, tzinfo=UTC)
        ledger.record_donation(DonationRequest("donor-1", str(day), donated_at=when))

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


class CountingStore(InMemoryDonationStore):
    """Counts the reads that would each be a request to DynamoDB."""

    def __init__(self) -> None:
        super().__init__()
        self.reads: list[str] = []

    def donor_history(self, donor_id: str, page_size: int) -> DonorHistory:
        self.reads.append("donor_history")
        return super().donor_history(donor_id, page_size)

    def donations(self, donor_id: str, limit: int, cursor: str | None) -> DonationPage:
        self.reads.append("donations")
        return super().donations(donor_id, limit, cursor)

    def donation_time(self, donor_id: str, *, latest: bool) -> datetime | None:
        self.reads.append("donation_time")
        return super().donation_time(donor_id, latest=latest)


def test_the_first_page_and_both_times_come_with_the_donor_when_the_page_holds_all() -> None:
    store = CountingStore()
    ledger = DonationLedger(store, clock=lambda: NOW)
    for day in (2, 1, 3):
        donated_at = datetime(2026, 10, day, tzinfo=UTC)
        ledger.record_donation(DonationRequest("donor-1", str(day), donated_at=donated_at))

    history = ledger.donor_history("donor-1", page_size=10)
    page = ledger.donations("donor-1", 10, None, read=history)

    assert [d.amount.minor_units for d in page.donations] == [300, 200, 100]
    assert ledger.first_donated_at(history) == datetime(2026, 10, 1, tzinfo=UTC)
    assert ledger.last_donated_at(history) == datetime(2026, 10, 3, tzinfo=UTC)
    assert store.reads == ["donor_history"]


def test_a_page_that_is_not_the_whole_history_leaves_the_first_time_to_its_own_read() -> None:
    store = CountingStore()
    ledger = DonationLedger(store, clock=lambda: NOW)
    for day in (1, 2, 3):
        donated_at = datetime(2026, 10, day, tzinfo=UTC)
        ledger.record_donation(DonationRequest("donor-1", str(day), donated_at=donated_at))

    history = ledger.donor_history("donor-1", page_size=2)

    assert ledger.last_donated_at(history) == datetime(2026, 10, 3, tzinfo=UTC)
    assert ledger.first_donated_at(history) == datetime(2026, 10, 1, tzinfo=UTC)
    assert ledger.donations("donor-1", 5, None, read=history).next_cursor is None
    assert store.reads == ["donor_history", "donation_time", "donations"]


def test_a_donor_never_seen_has_no_times_and_costs_one_read() -> None:
    store = CountingStore()
    ledger = DonationLedger(store, clock=lambda: NOW)

    history = ledger.donor_history("never-seen")

    assert history.summary.donation_count == 0
    assert (ledger.first_donated_at(history), ledger.last_donated_at(history)) == (None, None)
    assert store.reads == ["donor_history"]
