"""Value objects of the donations domain."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from donations.domain.currencies import MINOR_UNITS


@dataclass(frozen=True, slots=True)
class Money:
    """An amount in integer minor units of one currency (pence for GBP, yen for JPY)."""

    minor_units: int
    currency: str

    @property
    def decimal_places(self) -> int:
        return MINOR_UNITS[self.currency]

    def as_decimal(self) -> Decimal:
        return Decimal(self.minor_units).scaleb(-self.decimal_places)


@dataclass(frozen=True, slots=True)
class NewDonation:
    """A validated donation that has not been stored yet."""

    donor_id: str
    amount: Money
    donated_at: datetime
    idempotency_key: str | None
    # What a retry must repeat exactly for the key to count as the same request.
    fingerprint: str


@dataclass(frozen=True, slots=True)
class Donation:
    """A stored donation."""

    id: str
    donor_id: str
    amount: Money
    donated_at: datetime
    recorded_at: datetime
    idempotency_key: str | None = None


@dataclass(frozen=True, slots=True)
class RecordedDonation:
    """The outcome of recording: the donation, and whether it was a replay of an earlier request."""

    donation: Donation
    replayed: bool


@dataclass(frozen=True, slots=True)
class DonorSummary:
    """What the service knows about one donor. A donor never seen has a count of zero."""

    donor_id: str
    donation_count: int = 0
    totals: dict[str, int] = field(default_factory=dict)
    thanked_at: datetime | None = None
    thank_you_message_id: str | None = None

    def money_totals(self) -> list[Money]:
        return [Money(minor, currency) for currency, minor in sorted(self.totals.items())]


@dataclass(frozen=True, slots=True)
class DonationPage:
    """One page of a donor's donations, newest first, with the cursor of the next page."""

    donations: list[Donation]
    next_cursor: str | None
