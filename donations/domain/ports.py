"""The ports the domain needs from the outside world. Adapters implement them."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING

from donations.domain.model import (
    Donation,
    DonationPage,
    DonorHistory,
    DonorSummary,
    ErasureCounts,
    IdempotencyClaim,
)

if TYPE_CHECKING:  # the API function, which never sends, does not load the thank-you rule
    from donations.domain.thanks import ThankYouMessage


class DonationStore(ABC):
    """Durable storage of donations and donor counters."""

    @abstractmethod
    def record(
        self,
        donation: Donation,
        claim: IdempotencyClaim | None,
        correlation_id: str | None = None,
    ) -> None:
        """Store the donation and count it on its donor, atomically.

        A donation with an idempotency key comes with its ``claim`` on the key, stored as
        the key's marker in the same atomic write. A marker whose claim is no longer live at
        the donation's ``recorded_at`` counts as absent and is replaced.

        ``correlation_id`` (the API request id) travels with the donor's change so the
        asynchronous thank-you can be traced back to the request that caused it.

        Raises ``DuplicateIdempotencyKeyError`` if a live marker holds the donation's key
        (nothing is written then) and ``StoreUnavailableError`` if storage stays busy.
        """

    @abstractmethod
    def donor(self, donor_id: str) -> DonorSummary:
        """The donor's current state, read strongly consistently; zero for an unknown donor."""

    @abstractmethod
    def donor_history(self, donor_id: str, page_size: int) -> DonorHistory:
        """The donor's state and, if ``page_size`` > 0, the first page of their donations
        (newest first), in one strongly consistent read; zero for an unknown donor."""

    @abstractmethod
    def donation_count(self, donor_id: str) -> int:
        """The donor's number of donations, read strongly consistently."""

    @abstractmethod
    def donations(self, donor_id: str, limit: int, after: str | None) -> DonationPage:
        """One page of the donor's donations, newest first, after a position.

        ``after`` is the ``next_cursor`` of a page this store returned for this donor: the
        store's own position, which the ledger signs for clients and checks on the way back
        (``PageCursors``), so the store never sees one it did not issue.
        """

    @abstractmethod
    def donation_time(self, donor_id: str, *, latest: bool) -> datetime | None:
        """When the donor's latest (or earliest) donation was made; None if they have none."""

    @abstractmethod
    def mark_thanked(self, donor_id: str, thanked_at: datetime, message_id: str) -> bool:
        """Record that the donor was thanked, unless already; False if they already were."""

    @abstractmethod
    def forget_donor(self, donor_id: str) -> ErasureCounts:
        """One pass removing everything that links a donation to this donor id.

        Removes the donor item, their donations and the idempotency markers their donations
        hold (live or lapsed, and only while the marker still names this donor: a lapsed key
        may since belong to someone else). Each removed donation is added to its month's
        ``anonymous_totals`` in the same atomic step as its removal, so a pass that stops
        half-way neither loses nor double-counts an amount. Returns what this pass removed;
        a pass that finds nothing means nothing is left. Raises ``StoreUnavailableError``
        if storage stays busy.
        """

    @abstractmethod
    def donors_awaiting_thanks(self, threshold: int) -> Iterator[DonorSummary]:
        """Every donor with at least ``threshold`` donations who was never thanked."""


class ThankYouSender(ABC):
    """Delivers a thank-you message to a donor's subscribers."""

    @abstractmethod
    def send(self, message: ThankYouMessage) -> str:
        """Publish the message and return the transport's message id."""


class DocumentRegistry(ABC):
    """Documents that clients registered under the SHA-256 hash of their text, shared by every
    container (automatic persisted queries). Registrations lapse after a while; clients then
    register again."""

    @abstractmethod
    def find(self, sha256: str) -> str | None:
        """The document registered under this hash, or None (unknown, or lapsed).

        Raises ``StoreUnavailableError`` if storage stays busy.
        """

    @abstractmethod
    def register(self, sha256: str, document: str) -> None:
        """Keep the document under its hash (the caller has checked that the two match).

        Raises ``StoreUnavailableError`` if storage stays busy.
        """
