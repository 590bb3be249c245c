from __future__ import annotations

import strawberry
from strawberry.types import Info

from donations.domain.errors import IdempotencyKeyReusedError, InvalidInputError
from donations.domain.validation import DonationRequest
from donations.observability import donor_ref, logger, metrics
from schema.context import Context
from schema.errors import bad_user_input
from schema.types import (
    Donation,
    Donor,
    FieldError,
    IdempotencyKeyReused,
    InvalidDonation,
    RecordDonationInput,
    RecordDonationResult,
    RecordDonationSuccess,
)


def record_donation(info: Info[Context, None], input: RecordDonationInput) -> RecordDonationResult:
    request = DonationRequest(
        donor_id=input.donor_id,
        amount=input.amount,
        currency=input.currency,
        idempotency_key=input.idempotency_key,
        donated_at=input.donated_at,
    )
    try:
        recorded = info.context.ledger.record_donation(request, info.context.request_id)
    except InvalidInputError as error:
        for field_error in error.errors:
            metrics.add_metric(name=f"InvalidInput.{field_error.field}", unit="Count", value=1)
        logger.warning("donation rejected", extra={"fields": [e.field for e in error.errors]})
        return InvalidDonation(
            message="The donation was not recorded: fix the listed fields and retry.",
            errors=[FieldError.from_domain(field_error) for field_error in error.errors],
        )
    except IdempotencyKeyReusedError as error:
        metrics.add_metric(name="IdempotencyKeyReused", unit="Count", value=1)
        logger.warning("idempotency key reused with a different payload")
        return IdempotencyKeyReused(
            message="This idempotency key was used for a different donation; use a new key.",
            idempotency_key=error.idempotency_key,
        )
    donation = recorded.donation
    metrics.add_metric(
        name="DonationReplayed" if recorded.replayed else "DonationRecorded", unit="Count", value=1
    )
    logger.info(
        "donation recorded",
        extra={
            "donation_id": donation.id,
            "donor_ref": donor_ref(donation.donor_id),
            "replayed": recorded.replayed,
        },
    )
    return RecordDonationSuccess(
        donation=Donation.from_domain(donation),
        replayed=recorded.replayed,
        donor=Donor(id=strawberry.ID(donation.donor_id)),
    )


def donation_count(info: Info[Context, None], donor_id: strawberry.ID) -> int:
    try:
        return info.context.ledger.donation_count(donor_id)
    except InvalidInputError as error:
        raise bad_user_input(error) from None


def donor(info: Info[Context, None], id: strawberry.ID) -> Donor | None:
    try:
        summary = info.context.donor_summary(id)
    except InvalidInputError as error:
        raise bad_user_input(error) from None
    return Donor(id=id) if summary.donation_count else None
