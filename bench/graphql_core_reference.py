"""graphql-core + the same DynamoDB calls: the yardstick of the warm-request goal.

graphql-core's ``graphql_sync`` parses, validates and executes each document with no cache,
against the service's own SDL (schema/schema.graphql), with plain resolvers that make the
same DynamoDB calls as the service through the same adapter (the same requests, parsed the
same way), over a client with botocore's defaults. What it leaves out is everything the
service puts around those calls: Lambda's event, Powertools, Mangum, the HTTP view, Strawberry,
validation and the domain rules, logs and metrics, and the tuning of the client.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from graphql import FieldNode, GraphQLResolveInfo, GraphQLSchema, IntValueNode, build_schema

from donations.domain.model import Donation, IdempotencyClaim, Money
from donations.domain.ports import DonationStore

SDL = Path(__file__).resolve().parent.parent / "schema" / "schema.graphql"


def _donation(donation: Donation) -> dict[str, Any]:
    return {
        "id": donation.id,
        "donorId": donation.donor_id,
        "amount": donation.amount.as_decimal(),
        "currency": donation.amount.currency,
        "donatedAt": donation.donated_at,
        "recordedAt": donation.recorded_at,
    }


def _page_size(info: GraphQLResolveInfo) -> int:
    """The literal ``first`` of a ``donations`` field right under this one (the benchmark's
    documents have no other form): the same read ahead as the service makes."""
    selection_set = info.field_nodes[0].selection_set
    for selection in selection_set.selections if selection_set else ():
        if isinstance(selection, FieldNode) and selection.name.value == "donations":
            for argument in selection.arguments:
                if argument.name.value == "first" and isinstance(argument.value, IntValueNode):
                    return int(argument.value.value)
    return 0


class Root:
    """The root value: graphql-core's default resolver calls these with (info, **arguments)."""

    def __init__(self, store: DonationStore) -> None:
        self._store = store

    # camelCase: graphql-core's default resolver looks fields up by their GraphQL names.
    def donationCount(self, _: Any, donorId: str) -> int:
        return self._store.donation_count(donorId)

    def donor(self, info: GraphQLResolveInfo, id: str) -> dict[str, Any] | None:
        history = self._store.donor_history(id, _page_size(info))
        summary = history.summary
        if not summary.donation_count:
            return None

        def donations(_: Any, first: int, after: str | None = None) -> dict[str, Any]:
            page = history.newest or self._store.donations(id, first, after)
            return {
                "nodes": [_donation(donation) for donation in page.donations],
                "pageInfo": {"hasNextPage": bool(page.next_cursor), "endCursor": page.next_cursor},
            }

        return {
            "id": id,
            "donationCount": summary.donation_count,
            "totals": [
                {"amount": money.as_decimal(), "currency": money.currency}
                for money in summary.money_totals()
            ],
            "thankedAt": summary.thanked_at,
            "donations": donations,
        }

    def recordDonation(self, _: Any, input: dict[str, Any]) -> dict[str, Any]:
        now = datetime.now(UTC)
        donation = Donation(
            id=str(uuid.uuid4()),
            donor_id=input["donorId"],
            amount=Money(int(Decimal(input["amount"]).scaleb(2)), input["currency"]),
            donated_at=now,
            recorded_at=now,
            idempotency_key=input.get("idempotencyKey"),
        )
        claim = (
            IdempotencyClaim("", now + timedelta(hours=24)) if donation.idempotency_key else None
        )
        self._store.record(donation, claim)
        return {
            "__typename": "RecordDonationSuccess",
            "donation": _donation(donation),
            "replayed": False,
        }


def reference_schema() -> GraphQLSchema:
    return build_schema(SDL.read_text())
