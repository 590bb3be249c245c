"""Validation rules for a donation request. Every rule names the field and says why."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_DOWN, Decimal
from typing import Final

from donations.domain.currencies import MINOR_UNITS
from donations.domain.errors import FieldError, InvalidInputError
from donations.domain.model import Money, NewDonation

# Donor ids are opaque handles from the caller's own system. Letters, digits and `._:-`
# keep them safe in keys, logs and URLs, and rule out e-mail addresses (personal data).
DONOR_ID_PATTERN: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")
DONOR_ID_MAX_LENGTH: Final = 64
IDEMPOTENCY_KEY_PATTERN: Final = re.compile(r"[A-Za-z0-9._:-]{8,128}")
# An amount is written with the ASCII digits and at most one point: no sign, exponent,
# spaces, digit separators or other scripts' digits (Python's Decimal accepts all of those,
# so "1_000", "١٢" and " +12 " used to pass). [0-9] is ASCII only; \d is not.
AMOUNT_PATTERN: Final = re.compile(r"[0-9]+(\.[0-9]+)?")
# A ceiling that no genuine single gift reaches, in major units of any currency, so a typo
# or an abusive request cannot distort totals.
MAX_AMOUNT: Final = Decimal(1_000_000)
# Clients' clocks drift; a donation a few minutes "in the future" is a clock, not a lie.
CLOCK_SKEW_ALLOWANCE: Final = timedelta(minutes=5)
EARLIEST_DONATION: Final = datetime(2000, 1, 1, tzinfo=UTC)
DEFAULT_CURRENCY: Final = "GBP"


@dataclass(frozen=True, slots=True)
class DonationRequest:
    """A donation as the client sent it, before any rule is applied."""

    donor_id: str
    amount: str  # as written: the exact text of a string, or of a GraphQL or JSON number
    currency: str = DEFAULT_CURRENCY
    idempotency_key: str | None = None
    donated_at: datetime | None = None


def validate_donor_id(donor_id: str, field: str = "donorId") -> list[FieldError]:
    if DONOR_ID_PATTERN.fullmatch(donor_id):
        return []
    if not donor_id or len(donor_id) > DONOR_ID_MAX_LENGTH:
        message = f"must be 1 to {DONOR_ID_MAX_LENGTH} characters long"
        return [FieldError(field, "LENGTH", message)]
    return [
        FieldError(
            field,
            "FORMAT",
            "may contain only letters, digits, '.', '_', ':' and '-', "
            "and must start with a letter or digit",
        )
    ]


def parse_amount(text: str) -> Decimal | None:
    """The exact value of an amount written by ``AMOUNT_PATTERN``, or None if it isn't."""
    return Decimal(text) if AMOUNT_PATTERN.fullmatch(text) else None


def _validate_amount(amount: Decimal | None, currency: str) -> list[FieldError]:
    if amount is None:
        message = 'must be written with the digits 0-9 and at most one ".", such as "12.50"'
        return [FieldError("amount", "NOT_A_NUMBER", message)]
    if amount <= 0:
        return [FieldError("amount", "NOT_POSITIVE", "must be greater than zero")]
    if amount > MAX_AMOUNT:
        return [FieldError("amount", "TOO_LARGE", f"must not exceed {MAX_AMOUNT:,}")]
    places = MINOR_UNITS.get(currency)
    # Compare with the amount rounded to the currency's minor unit: trailing zeros are fine
    # ("7.000" is 7.00), any other digit is a fraction of the minor unit.
    if places is not None and amount.quantize(Decimal(1).scaleb(-places), ROUND_DOWN) != amount:
        return [
            FieldError(
                "amount",
                "TOO_MANY_DECIMALS",
                f"{currency} allows at most {places} decimal place(s)",
            )
        ]
    return []


def _validate_currency(currency: str) -> list[FieldError]:
    if currency in MINOR_UNITS:
        return []
    return [
        FieldError(
            "currency",
            "UNKNOWN_CURRENCY",
            "must be an active ISO 4217 code in upper case, such as GBP, EUR or USD",
        )
    ]


def _validate_donated_at(donated_at: datetime | None, now: datetime) -> list[FieldError]:
    if donated_at is None:
        return []
    if donated_at.tzinfo is None or donated_at.utcoffset() is None:
        message = "must include a time zone offset, e.g. 2026-11-01T10:00:00Z"
        return [FieldError("donatedAt", "NO_TIME_ZONE", message)]
    if donated_at > now + CLOCK_SKEW_ALLOWANCE:
        return [FieldError("donatedAt", "IN_THE_FUTURE", "must not be in the future")]
    if donated_at < EARLIEST_DONATION:
        message = f"must not be before {EARLIEST_DONATION:%Y-%m-%d}"
        return [FieldError("donatedAt", "TOO_EARLY", message)]
    return []


def _validate_idempotency_key(key: str | None) -> list[FieldError]:
    if key is None or IDEMPOTENCY_KEY_PATTERN.fullmatch(key):
        return []
    return [
        FieldError(
            "idempotencyKey",
            "FORMAT",
            "must be 8 to 128 characters of letters, digits, '.', '_', ':' or '-' "
            "(a UUID works well)",
        )
    ]


def fingerprint(donor_id: str, amount: Money, donated_at: datetime | None) -> str:
    """A stable digest of what makes two requests the same donation."""
    when = donated_at.astimezone(UTC).isoformat() if donated_at else "-"
    text = f"{donor_id}|{amount.minor_units}|{amount.currency}|{when}"
    return hashlib.sha256(text.encode()).hexdigest()


def validate_donation(request: DonationRequest, now: datetime) -> NewDonation:
    """Apply every rule and return the donation to store, or raise with all the problems."""
    amount = parse_amount(request.amount)
    errors = [
        *validate_donor_id(request.donor_id),
        *_validate_currency(request.currency),
        *_validate_amount(amount, request.currency),
        *_validate_donated_at(request.donated_at, now),
        *_validate_idempotency_key(request.idempotency_key),
    ]
    if errors or amount is None:  # no amount comes with its NOT_A_NUMBER error
        raise InvalidInputError(errors)
    places = MINOR_UNITS[request.currency]
    money = Money(int(amount.scaleb(places)), request.currency)
    donated_at = (request.donated_at or now).astimezone(UTC)
    return NewDonation(
        donor_id=request.donor_id,
        amount=money,
        donated_at=donated_at,
        idempotency_key=request.idempotency_key,
        fingerprint=fingerprint(request.donor_id, money, request.donated_at),
    )
