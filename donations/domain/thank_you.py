"""The thank-you use case: act on donor changes, and re-drive donors that were missed."""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime

from donations.domain.ledger import utc_now
from donations.domain.ports import DonationStore, ThankYouSender
from donations.domain.thanks import DonorChange, compose_thank_you, crossed_threshold


class ThankYouOutcome(enum.Enum):
    NOT_A_MILESTONE = "not_a_milestone"
    ALREADY_THANKED = "already_thanked"
    # The donor was forgotten after the change that crossed the threshold: no message.
    FORGOTTEN = "forgotten"
    SENT = "sent"
    # Published, but another worker marked the donor first: a duplicate reached SNS.
    SENT_DUPLICATE = "sent_duplicate"
    # Re-drive only: sending or marking failed; a later run tries this donor again.
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class ThankYouResult:
    outcome: ThankYouOutcome
    donor_id: str
    milestone: int
    message_id: str | None = None
    # For FAILED: the exception's type name (never its message, which may quote data).
    error: str | None = None


class ThankYouService:
    """Sends each donor one thank-you when their donation count reaches the threshold.

    Publishing comes before marking the donor: if the mark fails the stream delivers the
    change again and the donor is still thanked. The price is a narrow window (the process
    dies between the publish and the mark) in which a redelivery publishes a second time.
    Reading the donor's current state first makes every other redelivery a no-op.
    """

    def __init__(
        self,
        store: DonationStore,
        sender: ThankYouSender,
        threshold: int,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        if threshold < 1:
            raise ValueError("the thank-you threshold must be at least 1")
        self._store = store
        self._sender = sender
        self._threshold = threshold
        self._clock = clock

    def handle(self, change: DonorChange) -> ThankYouResult:
        """Thank the donor if this change is the one that crossed the threshold."""
        if not crossed_threshold(change, self._threshold):
            return ThankYouResult(ThankYouOutcome.NOT_A_MILESTONE, change.donor_id, self._threshold)
        return self.thank(change.donor_id)

    def redrive(self) -> Iterator[ThankYouResult]:
        """Thank every donor at or above the threshold who was never thanked.

        One donor's failure does not stop the others: it is reported as ``FAILED`` and the
        donor is still unthanked, so running the re-drive again retries them.
        """
        for donor in self._store.donors_awaiting_thanks(self._threshold):
            try:
                yield self.thank(donor.donor_id)
            except Exception as error:
                yield ThankYouResult(
                    ThankYouOutcome.FAILED,
                    donor.donor_id,
                    self._threshold,
                    error=type(error).__name__,
                )

    def thank(self, donor_id: str) -> ThankYouResult:
        """Send the donor their thank-you unless they already have it or were forgotten."""
        donor = self._store.donor(donor_id)
        if donor.thanked_at is not None:
            return ThankYouResult(ThankYouOutcome.ALREADY_THANKED, donor_id, self._threshold)
        if donor.donation_count < self._threshold:
            # Counts only grow, so a count below the threshold means the donor was forgotten
            # since the crossing was recorded (a retried record, a slow stream): someone who
            # asked to be forgotten gets no message. A forgotten donor who gives twice again
            # crosses afresh and is thanked for that crossing.
            return ThankYouResult(ThankYouOutcome.FORGOTTEN, donor_id, self._threshold)
        message_id = self._sender.send(compose_thank_you(donor_id, self._threshold))
        marked = self._store.mark_thanked(donor_id, self._clock(), message_id)
        outcome = ThankYouOutcome.SENT if marked else ThankYouOutcome.SENT_DUPLICATE
        return ThankYouResult(outcome, donor_id, self._threshold, message_id)
