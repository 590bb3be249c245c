"""The thank-you rule: a donor is thanked once, when their count reaches the threshold."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

EVENT_TYPE: Final = "donor.thank_you"


@dataclass(frozen=True, slots=True)
class DonorChange:
    """One change of a donor's counter, as the table's change stream reports it."""

    donor_id: str
    old_count: int
    new_count: int
    # The request that made the change, so one donation can be followed across the stream.
    correlation_id: str | None = None


@dataclass(frozen=True, slots=True)
class ThankYouMessage:
    """What a subscriber receives: a subject for e-mail, a body, and filterable attributes."""

    donor_id: str
    milestone: int
    subject: str
    body: str

    def attributes(self) -> dict[str, str]:
        return {"event_type": EVENT_TYPE, "milestone": str(self.milestone)}


def crossed_threshold(change: DonorChange, threshold: int) -> bool:
    """True for the one change that takes the count from below the threshold to at or above it.

    Counts only ever grow by one per donation, so exactly one change of a donor's item
    crosses; evaluating the transition (not the number of records) keeps the rule exact
    when a stream repeats or splits records.
    """
    return change.old_count < threshold <= change.new_count


def _ordinal(number: int) -> str:
    suffix = (
        "th" if 10 <= number % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    )
    return f"{number}{suffix}"


def compose_thank_you(donor_id: str, milestone: int) -> ThankYouMessage:
    """The product's voice: warm, specific about the milestone, and free of personal data."""
    gift = _ordinal(milestone)
    body = (
        f"Thank you for your {gift} gift.\n\n"
        "Coming back to give again is the kindest thing a supporter can do. Your donations "
        "keep our helpline answering calls through the night, and they let us plan next "
        "year's work knowing that people like you stand behind it.\n\n"
        "From all of us: thank you for staying with us."
    )
    return ThankYouMessage(
        donor_id=donor_id,
        milestone=milestone,
        subject=f"Thank you for your {gift} gift",
        body=body,
    )
