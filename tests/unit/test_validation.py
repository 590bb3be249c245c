from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from donations.domain.errors import InvalidInputError
from donations.domain.validation import DonationRequest, validate_donation

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def rejected(**fields: object) -> list[tuple[str, str]]:
    request = DonationRequest(**{"donor_id": "donor-1", "amount": "10", **fields})  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError) as raised:
        validate_donation(request, NOW)
    return [(error.field, error.code) for error in raised.value.errors]


def test_valid_donation_is_stored_in_minor_units() -> None:
    donation = validate_donation(DonationRequest("donor-1", "12.5", "GBP"), NOW)

    assert donation.amount.minor_units == 1250
    assert donation.amount.currency == "GBP"
    assert donation.donated_at == NOW


def test_zero_decimal_currency_keeps_whole_units() -> None:
    donation = validate_donation(DonationRequest("donor-1", "500", "JPY"), NOW)

    assert donation.amount.minor_units == 500


def test_trailing_zeros_do_not_count_as_decimals() -> None:
    donation = validate_donation(DonationRequest("donor-1", "7.000", "GBP"), NOW)

    assert donation.amount.minor_units == 700


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"donor_id": ""}, ("donorId", "LENGTH")),
        ({"donor_id": "x" * 65}, ("donorId", "LENGTH")),
        ({"donor_id": "alice@example.com"}, ("donorId", "FORMAT")),
        ({"donor_id": "-starts-with-dash"}, ("donorId", "FORMAT")),
        ({"donor_id": "has space"}, ("donorId", "FORMAT")),
        ({"amount": "0"}, ("amount", "NOT_POSITIVE")),
        ({"amount": "0.00"}, ("amount", "NOT_POSITIVE")),
        ({"amount": "1000000.01"}, ("amount", "TOO_LARGE")),
        ({"amount": "1" + "0" * 5_000}, ("amount", "TOO_LARGE")),
        ({"amount": "1.005"}, ("amount", "TOO_MANY_DECIMALS")),
        ({"amount": "19.999999999999999999"}, ("amount", "TOO_MANY_DECIMALS")),
        ({"amount": "0.001"}, ("amount", "TOO_MANY_DECIMALS")),
        ({"amount": "1.5", "currency": "JPY"}, ("amount", "TOO_MANY_DECIMALS")),
        ({"currency": "gbp"}, ("currency", "UNKNOWN_CURRENCY")),
        ({"currency": "XXX"}, ("currency", "UNKNOWN_CURRENCY")),
        ({"donated_at": NOW + timedelta(hours=1)}, ("donatedAt", "IN_THE_FUTURE")),
        ({"donated_at": datetime(1999, 12, 31, tzinfo=UTC)}, ("donatedAt", "TOO_EARLY")),
        ({"donated_at": datetime(2026, 1, 1)}, ("donatedAt", "NO_TIME_ZONE")),
        ({"idempotency_key": "short"}, ("idempotencyKey", "FORMAT")),
        ({"idempotency_key": "k" * 129}, ("idempotencyKey", "FORMAT")),
        ({"idempotency_key": "not allowed!"}, ("idempotencyKey", "FORMAT")),
    ],
)
def test_each_rule_names_the_field_and_reason(
    fields: dict[str, object], expected: tuple[str, str]
) -> None:
    assert rejected(**fields) == [expected]


@pytest.mark.parametrize(
    "amount",
    [
        "1_000",  # a digit separator Python's Decimal accepts
        "\u0661\u0662",  # Arabic-Indic digits
        "\uff11\uff12.\uff15",  # full-width digits
        " 12.5 ",
        "12.5\n",
        "+12",
        "-5",
        "12.",
        ".5",
        "1.2.3",
        "1e3",
        "1E-1000027",
        "NaN",
        "Infinity",
        "0x10",
        "",
        "12,50",
        "½",
    ],
)
def test_an_amount_not_written_as_ascii_digits_and_one_point_is_not_a_number(
    amount: str,
) -> None:
    assert rejected(amount=amount) == [("amount", "NOT_A_NUMBER")]


@pytest.mark.parametrize(
    ("amount", "minor_units"),
    [("12.50", 1250), ("0012.5", 1250), ("1000000", 100_000_000), ("0.01", 1), ("7", 700)],
)
def test_an_amount_in_the_grammar_is_read_exactly(amount: str, minor_units: int) -> None:
    donation = validate_donation(DonationRequest("donor-1", amount, "GBP"), NOW)

    assert donation.amount.minor_units == minor_units


def test_every_problem_is_reported_at_once() -> None:
    problems = rejected(donor_id="bad id", amount="-1", currency="ZZZ")

    assert [field for field, _ in problems] == ["donorId", "currency", "amount"]


def test_small_clock_skew_is_tolerated() -> None:
    donation = validate_donation(
        DonationRequest("donor-1", "1", donated_at=NOW + timedelta(minutes=2)), NOW
    )

    assert donation.donated_at == NOW + timedelta(minutes=2)


def test_fingerprint_ignores_defaulted_time_but_not_the_amount() -> None:
    first = validate_donation(DonationRequest("donor-1", "5", idempotency_key="k" * 8), NOW)
    retry = validate_donation(
        DonationRequest("donor-1", "5.00", idempotency_key="k" * 8),
        NOW + timedelta(seconds=3),
    )
    other = validate_donation(DonationRequest("donor-1", "6", idempotency_key="k" * 8), NOW)

    assert first.fingerprint == retry.fingerprint
    assert first.fingerprint != other.fingerprint
