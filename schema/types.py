"""The GraphQL types of the donations API, and how each is made from the domain's values.

Field functions here only read arguments, call ``resolvers`` and map what comes back.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated

import strawberry
from strawberry.types import Info
from strawberry.types.nodes import SelectedField

from donations.constants import READ_SCOPE, WRITE_SCOPE
from donations.domain import model
from donations.domain.errors import FieldError as DomainFieldError
from donations.domain.errors import IdempotencyKeyReusedError, InvalidInputError
from donations.domain.ledger import MAX_PAGE_SIZE
from donations.domain.validation import DonationRequest
from resolvers import donations as resolve
from resolvers.context import RequestContext
from schema.amount import AmountText

Context = Info[RequestContext, None]

DEFAULT_PAGE_SIZE = 20


@strawberry.type(description="An amount of money in one currency.")
class Money:
    amount: Decimal = strawberry.field(description="In major units, e.g. 12.50.")
    currency: str = strawberry.field(description="ISO 4217 code.")
    # No integer minor-units field: GraphQL's Int is 32-bit, and a donor's lifetime total
    # in pence (or a CLF gift in ten-thousandths) can exceed it.

    @staticmethod
    def from_domain(money: model.Money) -> Money:
        return Money(amount=money.as_decimal(), currency=money.currency)


@strawberry.type(description="One recorded donation.")
class Donation:
    id: strawberry.ID
    donor_id: strawberry.ID
    amount: Decimal = strawberry.field(description="In major units of `currency`.")
    currency: str
    donated_at: datetime = strawberry.field(description="When the gift was made.")
    recorded_at: datetime = strawberry.field(description="When this API recorded it.")

    @staticmethod
    def from_domain(donation: model.Donation) -> Donation:
        return Donation(
            id=strawberry.ID(donation.id),
            donor_id=strawberry.ID(donation.donor_id),
            amount=donation.amount.as_decimal(),
            currency=donation.amount.currency,
            donated_at=donation.donated_at,
            recorded_at=donation.recorded_at,
        )


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None = strawberry.field(description="Pass as `after` for the next page.")


@strawberry.type(description="A page of donations, newest first.")
class DonationConnection:
    nodes: list[Donation]
    page_info: PageInfo


@strawberry.type(description="A donor and their giving so far.")
class Donor:
    id: strawberry.ID

    @strawberry.field(description="How many donations the donor has made.")
    def donation_count(self, info: Context) -> int:
        return resolve.donor_summary(info.context, self.id).donation_count

    @strawberry.field(description="Total given, one entry per currency.")
    def totals(self, info: Context) -> list[Money]:
        summary = resolve.donor_summary(info.context, self.id)
        return [Money.from_domain(money) for money in summary.money_totals()]

    @strawberry.field(description="When the thank-you message was sent; null until then.")
    def thanked_at(self, info: Context) -> datetime | None:
        return resolve.donor_summary(info.context, self.id).thanked_at

    @strawberry.field(description="When the donor's earliest donation was made.")
    def first_donated_at(self, info: Context) -> datetime | None:
        return resolve.first_donated_at(info.context, self.id)

    @strawberry.field(description="When the donor's latest donation was made.")
    def last_donated_at(self, info: Context) -> datetime | None:
        return resolve.last_donated_at(info.context, self.id)

    @strawberry.field(description="The donor's donations, newest first.")
    def donations(
        self,
        info: Context,
        first: Annotated[
            int, strawberry.argument(description=f"Page size, 1 to {MAX_PAGE_SIZE}.")
        ] = DEFAULT_PAGE_SIZE,
        after: Annotated[
            str | None, strawberry.argument(description="`endCursor` of the previous page.")
        ] = None,
    ) -> DonationConnection:
        page = resolve.donations(info.context, self.id, first, after)
        return DonationConnection(
            nodes=[Donation.from_domain(donation) for donation in page.donations],
            page_info=PageInfo(
                has_next_page=page.next_cursor is not None, end_cursor=page.next_cursor
            ),
        )


@strawberry.input(description="A donation to record.")
class RecordDonationInput:
    donor_id: strawberry.ID = strawberry.field(
        description="Your opaque id for the donor: 1-64 letters, digits, '.', '_', ':' or '-'."
    )
    amount: AmountText = strawberry.field(
        description='In major units, e.g. "12.50"; more than 0 and at most 1,000,000, '
        "with no more decimals than the currency allows."
    )
    currency: str = strawberry.field(default="GBP", description="ISO 4217 code.")
    idempotency_key: str | None = strawberry.field(
        default=None,
        description="Send the same key when retrying: the donation is then recorded once. "
        "8-128 letters, digits, '.', '_', ':' or '-'.",
    )
    donated_at: datetime | None = strawberry.field(
        default=None, description="When the gift was made, with a time zone; defaults to now."
    )

    def to_request(self) -> DonationRequest:
        return DonationRequest(
            donor_id=self.donor_id,
            amount=self.amount,
            currency=self.currency,
            idempotency_key=self.idempotency_key,
            donated_at=self.donated_at,
        )


@strawberry.type(description="What was wrong with one input field.")
class FieldError:
    field: str = strawberry.field(description="The input field, e.g. `amount`.")
    code: str = strawberry.field(description="A stable machine-readable reason, e.g. TOO_LARGE.")
    message: str

    @staticmethod
    def from_domain(error: DomainFieldError) -> FieldError:
        return FieldError(field=error.field, code=error.code, message=error.message)


@strawberry.type(description="The donation was recorded (or had been, if `replayed`).")
class RecordDonationSuccess:
    donation: Donation
    replayed: bool = strawberry.field(
        description="True when this idempotency key had already recorded this donation."
    )
    donor_id: strawberry.Private[str]

    # Nullable on purpose: if reading the donor's state fails, or the caller may record but
    # not read, the client must still see that the donation itself was recorded, rather
    # than a null result it might retry.
    @strawberry.field(
        description="The donor's state after this donation; null if it could not be read "
        "or the caller may not read donors (the donation was still recorded)."
    )
    def donor(self, info: Context) -> Donor | None:
        return Donor(id=strawberry.ID(resolve.recorded_donor(info.context, self.donor_id)))

    @staticmethod
    def from_domain(recorded: model.RecordedDonation) -> RecordDonationSuccess:
        donation = recorded.donation
        return RecordDonationSuccess(
            donation=Donation.from_domain(donation),
            replayed=recorded.replayed,
            donor_id=donation.donor_id,
        )


@strawberry.type(description="The input broke one or more rules; nothing was recorded.")
class InvalidDonation:
    message: str
    errors: list[FieldError]

    @staticmethod
    def from_domain(error: InvalidInputError) -> InvalidDonation:
        return InvalidDonation(
            message="The donation was not recorded: fix the listed fields and retry.",
            errors=[FieldError.from_domain(field_error) for field_error in error.errors],
        )


@strawberry.type(description="The idempotency key was already used for a different donation.")
class IdempotencyKeyReused:
    message: str
    idempotency_key: str

    @staticmethod
    def from_domain(error: IdempotencyKeyReusedError) -> IdempotencyKeyReused:
        return IdempotencyKeyReused(
            message="This idempotency key was used for a different donation; use a new key.",
            idempotency_key=error.idempotency_key,
        )


RecordDonationResult = Annotated[
    RecordDonationSuccess | InvalidDonation | IdempotencyKeyReused,
    strawberry.union("RecordDonationResult"),
]


def _newest_donations_wanted(info: Context) -> int:
    """How many of the donor's newest donations this ``donor`` selection will show: the size
    of its first page of ``donations``, else one for ``first``/``lastDonatedAt``, else none.
    Read with the donor, they cost no extra request (``resolvers.context``)."""
    wanted = 0
    pending = list(info.selected_fields[0].selections)
    while pending:
        selection = pending.pop()
        if not isinstance(selection, SelectedField):  # a fragment: look inside
            pending.extend(selection.selections)
        elif selection.name == "donations" and selection.arguments.get("after") is None:
            # A literal arrives as its text ("10"), a variable as its value, unset as None.
            first = str(selection.arguments.get("first"))
            wanted = int(first) if first.isdigit() else DEFAULT_PAGE_SIZE
        elif selection.name in ("firstDonatedAt", "lastDonatedAt"):
            wanted = wanted or 1
    return wanted


@strawberry.type
class Query:
    @strawberry.field(
        description="How many donations the donor has made; 0 for a donor never seen. "
        f"On a protected stage: needs `{READ_SCOPE}`, or a token for this donor."
    )
    def donation_count(self, info: Context, donor_id: strawberry.ID) -> int:
        return resolve.donation_count(info.context, donor_id)

    @strawberry.field(
        description="A donor, or null if they have never donated. "
        f"On a protected stage: needs `{READ_SCOPE}`, or a token for this donor."
    )
    def donor(self, info: Context, id: strawberry.ID) -> Donor | None:
        summary = resolve.donor(info.context, id, _newest_donations_wanted(info))
        return Donor(id=id) if summary else None


@strawberry.type
class Mutation:
    @strawberry.mutation(
        description="Record a donation. Send an idempotencyKey so retries are safe. "
        f"On a protected stage: needs `{WRITE_SCOPE}` (or an IAM principal)."
    )
    def record_donation(self, info: Context, input: RecordDonationInput) -> RecordDonationResult:
        recorded = resolve.record_donation(info.context, input.to_request())
        return RecordDonationSuccess.from_domain(recorded)
