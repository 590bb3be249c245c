from __future__ import annotations

from datetime import datetime

from donations.domain.errors import IdempotencyKeyReusedError, InvalidInputError
from donations.domain.model import DonationPage, DonorSummary, RecordedDonation
from donations.domain.validation import DonationRequest
from donations.observability import count, donor_ref, logger
from resolvers.context import RequestContext


def record_donation(context: RequestContext, request: DonationRequest) -> RecordedDonation:
    ledger = context.ledger_to_record()
    try:
        recorded = ledger.record_donation(request, context.request_id)
    except InvalidInputError as error:
        for field_error in error.errors:
            count(f"InvalidInput.{field_error.field}")
        logger.warning("donation rejected", extra={"fields": [e.field for e in error.errors]})
        raise
    except IdempotencyKeyReusedError:
        count("IdempotencyKeyReused")
        logger.warning("idempotency key reused with a different payload")
        raise
    donation = recorded.donation
    count("DonationReplayed" if recorded.replayed else "DonationRecorded")
    logger.info(
        "donation recorded",
        extra={
            "donation_id": donation.id,
            "donor_ref": donor_ref(donation.donor_id),
            "replayed": recorded.replayed,
        },
    )
    return recorded


def donation_count(context: RequestContext, donor_id: str) -> int:
    return context.ledger_to_read(donor_id).donation_count(donor_id)


def donor(context: RequestContext, donor_id: str, page_size: int = 0) -> DonorSummary | None:
    summary = context.donor_history(donor_id, page_size).summary
    return summary if summary.donation_count else None


def donor_summary(context: RequestContext, donor_id: str) -> DonorSummary:
    return context.donor_history(donor_id).summary


def recorded_donor(context: RequestContext, donor_id: str) -> str:
    """The donor of a donation just recorded, for a caller who may also read them."""
    context.ledger_to_read(donor_id)
    return donor_id


# Read first by one of these, the donor comes with their newest donation: the latest time then
# needs no other read, nor the earliest for a donor who gave once.
def first_donated_at(context: RequestContext, donor_id: str) -> datetime | None:
    history = context.donor_history(donor_id, page_size=1)
    return context.ledger_to_read(donor_id).first_donated_at(history)


def last_donated_at(context: RequestContext, donor_id: str) -> datetime | None:
    history = context.donor_history(donor_id, page_size=1)
    return context.ledger_to_read(donor_id).last_donated_at(history)


def donations(
    context: RequestContext, donor_id: str, first: int, after: str | None
) -> DonationPage:
    ledger = context.ledger_to_read(donor_id)
    return ledger.donations(donor_id, first, after, context.donor_history_read(donor_id))
