"""The ports the domain needs from the outside world. Adapters implement them."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from datetime import datetime

from donations.domain.model import Donation, DonationPage, DonorSummary
from donations.domain.thanks import ThankYouMessage


class DonationStore(ABC):
    """Durable storage of donations and donor counters."""

    @abstractmethod
    def record(
        self, donation: Donation, fingerprint: str, correlation_id: str | None = None
    ) -> None:
        """Store the donation and count it on its donor, atomically.

        ``correlation_id`` (the API request id) travels with the donor's change so the
        asynchronous thank-you can be traced back to the request that caused it.

        Raises ``DuplicateIdempotencyKeyError`` if the donation's idempotency key is taken
        (nothing is written then) and ``StoreUnavailableError`` if storage stays busy.
        """

    @abstractmethod
    def donor(self, donor_id: str) -> DonorSummary:
        """The donor's current state, read strongly consistently; zero for an unknown donor."""

    @abstractmethod
    def donation_count(self, donor_id: str) -> int:
        """The donor's number of donations, read strongly consistently."""

    @abstractmethod
    def donations(self, donor_id: str, limit: int, cursor: str | None) -> DonationPage:
        """One page of the donor's donations, newest first.

        Raises ``ValueError`` for a cursor this store did not issue.
        """

    @abstractmethod
    def donation_time(self, donor_id: str, *, latest: bool) -> datetime | None:
        """When the donor's latest (or earliest) donation was made; None if they have none."""

    @abstractmethod
    def mark_thanked(self, donor_id: str, thanked_at: datetime, message_id: str) -> bool:
        """Record that the donor was thanked, unless already; False if they already were."""

    @abstractmethod
    def donors_awaiting_thanks(self, threshold: int) -> Iterator[DonorSummary]:
        """Every donor with at least ``threshold`` donations who was never thanked."""


class ThankYouSender(ABC):
    """Delivers a thank-you message to a donor's subscribers."""

    @abstractmethod
    def send(self, message: ThankYouMessage) -> str:
        """Publish the message and return the transport's message id."""
