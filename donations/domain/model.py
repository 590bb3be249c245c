"""Value objects of the donations domain."""

from __future__ import annotations

from collections.abc import Iterable
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
class IdempotencyClaim:
    """A donation's hold on its idempotency key: what a retry must repeat, and until when.

    From ``expires_at`` on the key is free again: a marker still in storage after that
    instant counts as absent, however late storage gets round to deleting it.
    """

    fingerprint: str
    expires_at: datetime

    def is_live(self, at: datetime) -> bool:
        return at < self.expires_at


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


@dataclass(frozen=True, slots=True)
class DonorHistory:
    """A donor's state and their newest donations, read together, at one instant.

    ``newest`` is the first page of ``page_size`` donations (None when none were asked for);
    its ``next_cursor`` is None when it holds every donation the donor has made.
    """

    summary: DonorSummary
    newest: DonationPage | None = None
    page_size: int = 0


@dataclass(frozen=True, slots=True)
class ErasureCounts:
    """What forgetting a donor found and removed: their donor item, donations and markers."""

    donors: int = 0
    donations: int = 0
    markers: int = 0

    @property
    def found(self) -> int:
        return self.donors + self.donations + self.markers

    def __add__(self, other: ErasureCounts) -> ErasureCounts:
        return ErasureCounts(
            self.donors + other.donors,
            self.donations + other.donations,
            self.markers + other.markers,
        )


@dataclass(frozen=True, slots=True)
class AnonymousTotal:
    """What is kept of forgotten donors' donations in one calendar month: no id, no dates.

    A month's count and sums per currency can't be traced back to a person, yet keep the
    service's totals reconcilable with the charity's accounts after an erasure.
    """

    month: str  # "2026-11", when the gifts were made
    donation_count: int
    totals: dict[str, int]  # currency -> minor units


def anonymous_totals(donations: Iterable[Donation]) -> list[AnonymousTotal]:
    """The donations folded into one anonymous total per month, oldest month first."""
    months: dict[str, AnonymousTotal] = {}
    for donation in donations:
        month = donation.donated_at.strftime("%Y-%m")
        current = months.get(month, AnonymousTotal(month, 0, {}))
        totals = dict(current.totals)
        currency = donation.amount.currency
        totals[currency] = totals.get(currency, 0) + donation.amount.minor_units
        months[month] = AnonymousTotal(month, current.donation_count + 1, totals)
    return [months[month] for month in sorted(months)]
