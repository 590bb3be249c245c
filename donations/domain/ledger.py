"""The donation ledger: records donations and answers questions about donors."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Final

from donations.domain.cursors import InvalidCursorError, PageCursors
from donations.domain.errors import (
    DuplicateIdempotencyKeyError,
    FieldError,
    IdempotencyKeyReusedError,
    InvalidInputError,
)
from donations.domain.model import (
    Donation,
    DonationPage,
    DonorHistory,
    DonorSummary,
    IdempotencyClaim,
    RecordedDonation,
)
from donations.domain.ports import DonationStore
from donations.domain.validation import DonationRequest, validate_donation, validate_donor_id

MAX_PAGE_SIZE: Final = 100
# Payment APIs keep idempotency keys for about a day: long enough for any client retry,
# short enough that a marker's copy of the donation is not kept for no reason.
DEFAULT_IDEMPOTENCY_WINDOW: Final = timedelta(hours=24)


def utc_now() -> datetime:
    return datetime.now(UTC)


def new_donation_id() -> str:
    return str(uuid.uuid4())


class DonationLedger:
    """Use cases of the API: record a donation, count a donor's donations, look a donor up."""

    def __init__(
        self,
        store: DonationStore,
        clock: Callable[[], datetime] = utc_now,
        new_id: Callable[[], str] = new_donation_id,
        idempotency_window: timedelta = DEFAULT_IDEMPOTENCY_WINDOW,
        cursors: PageCursors | None = None,
    ) -> None:
        if idempotency_window <= timedelta(0):
            raise ValueError("the idempotency window must be positive")
        self._store = store
        self._clock = clock
        self._new_id = new_id
        self._idempotency_window = idempotency_window
        self._cursors = cursors or PageCursors()

    def record_donation(
        self, request: DonationRequest, correlation_id: str | None = None
    ) -> RecordedDonation:
        """Validate and store a donation; a retry with the same key and payload is a replay.

        A key is held for the idempotency window from the first recording: after it, the
        same key records a new donation.

        Raises ``InvalidInputError`` or ``IdempotencyKeyReusedError`` (nothing was written),
        or ``StoreUnavailableError`` (nothing was written, unless storage timed out after
        accepting the write: a retry with the same idempotency key then replays it).
        """
        now = self._clock()
        new = validate_donation(request, now)
        donation = Donation(
            id=self._new_id(),
            donor_id=new.donor_id,
            amount=new.amount,
            donated_at=new.donated_at,
            recorded_at=now,
            idempotency_key=new.idempotency_key,
        )
        claim = None
        if new.idempotency_key is not None:
            # Whole seconds: storage expires keys by the second (DynamoDB TTL), and a claim
            # must lapse at the same instant in every store.
            expires_at = (now + self._idempotency_window).replace(microsecond=0)
            claim = IdempotencyClaim(new.fingerprint, expires_at)
        try:
            self._store.record(donation, claim, correlation_id)
        except DuplicateIdempotencyKeyError as duplicate:
            if duplicate.existing_fingerprint != new.fingerprint:
                raise IdempotencyKeyReusedError(duplicate.existing.idempotency_key or "") from None
            return RecordedDonation(duplicate.existing, replayed=True)
        return RecordedDonation(donation, replayed=False)

    def donation_count(self, donor_id: str) -> int:
        self._check_donor_id(donor_id)
        return self._store.donation_count(donor_id)

    def donor(self, donor_id: str) -> DonorSummary:
        self._check_donor_id(donor_id)
        return self._store.donor(donor_id)

    def donor_history(self, donor_id: str, page_size: int = 0) -> DonorHistory:
        """The donor and the first page of their donations, in one read; ``page_size`` 0
        reads the donor alone, and a size ``donations`` would refuse is not read ahead."""
        self._check_donor_id(donor_id, field="id")
        if not 0 <= page_size <= MAX_PAGE_SIZE:
            page_size = 0
        return self._store.donor_history(donor_id, page_size)

    def donations(
        self, donor_id: str, first: int, after: str | None, read: DonorHistory | None = None
    ) -> DonationPage:
        """A page of the donor's donations; the first page comes from ``read`` when that
        history already holds it."""
        self._check_donor_id(donor_id, field="id")
        if not 1 <= first <= MAX_PAGE_SIZE:
            raise InvalidInputError(
                [FieldError("first", "OUT_OF_RANGE", f"must be between 1 and {MAX_PAGE_SIZE}")]
            )
        if (
            after is None
            and read is not None
            and read.newest is not None
            and read.page_size == first
        ):
            page = read.newest
        else:
            try:
                position = None if after is None else self._cursors.open(donor_id, after)
            except InvalidCursorError:
                message = "is not a cursor this API issued for this donor's donations"
                raise InvalidInputError([FieldError("after", "INVALID_CURSOR", message)]) from None
            page = self._store.donations(donor_id, first, position)
        if page.next_cursor is None:
            return page
        # The store's position goes out signed, for this donor's list only.
        return dataclasses.replace(
            page, next_cursor=self._cursors.issue(donor_id, page.next_cursor)
        )

    def first_donated_at(self, history: DonorHistory) -> datetime | None:
        """When the donor's earliest donation was made: without another read when the
        history holds every donation."""
        newest = history.newest
        if newest is not None and newest.donations and newest.next_cursor is None:
            return newest.donations[-1].donated_at
        if not history.summary.donation_count:
            return None
        return self._store.donation_time(history.summary.donor_id, latest=False)

    def last_donated_at(self, history: DonorHistory) -> datetime | None:
        """When the donor's latest donation was made: without another read when the history
        holds any donation."""
        newest = history.newest
        if newest is not None and newest.donations:
            return newest.donations[0].donated_at
        if not history.summary.donation_count:
            return None
        return self._store.donation_time(history.summary.donor_id, latest=True)

    @staticmethod
    def _check_donor_id(donor_id: str, field: str = "donorId") -> None:
        errors = validate_donor_id(donor_id, field)
        if errors:
            raise InvalidInputError(errors)
