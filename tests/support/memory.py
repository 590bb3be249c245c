"""In-memory donation store, thank-you outbox and document registry: for domain and schema
tests and the benchmark."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime

from donations.domain.errors import DuplicateIdempotencyKeyError
from donations.domain.model import (
    AnonymousTotal,
    Donation,
    DonationPage,
    DonorHistory,
    DonorSummary,
    ErasureCounts,
    IdempotencyClaim,
    anonymous_totals,
)
from donations.domain.ports import DocumentRegistry, DonationStore, ThankYouSender
from donations.domain.thanks import DonorChange, ThankYouMessage


class InMemoryDonationStore(DonationStore):
    """Behaves like the DynamoDB store, including atomicity, without any I/O.

    Every change of a donor's count is appended to ``changes``, like a table stream, and
    what forgetting keeps is in ``anonymous``, by month.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._donors: dict[str, DonorSummary] = {}
        self._donations: dict[str, list[Donation]] = {}
        # Lapsed claims stay until replaced or forgotten, as DynamoDB's TTL sweeps late.
        self._keys: dict[str, tuple[Donation, IdempotencyClaim]] = {}
        self.changes: list[DonorChange] = []
        self.anonymous: dict[str, AnonymousTotal] = {}

    def record(
        self,
        donation: Donation,
        claim: IdempotencyClaim | None,
        correlation_id: str | None = None,
    ) -> None:
        with self._lock:
            key = donation.idempotency_key
            if key is not None and key in self._keys:
                existing, held = self._keys[key]
                if held.is_live(donation.recorded_at):
                    raise DuplicateIdempotencyKeyError(existing, held.fingerprint)
            if key is not None:
                if claim is None:
                    raise ValueError("a donation with an idempotency key needs its claim")
                self._keys[key] = (donation, claim)
            self._donations.setdefault(donation.donor_id, []).append(donation)
            donor = self._donors.get(donation.donor_id, DonorSummary(donation.donor_id))
            totals = dict(donor.totals)
            currency = donation.amount.currency
            totals[currency] = totals.get(currency, 0) + donation.amount.minor_units
            updated = replace(donor, donation_count=donor.donation_count + 1, totals=totals)
            self._donors[donation.donor_id] = updated
            self.changes.append(
                DonorChange(
                    donation.donor_id, donor.donation_count, updated.donation_count, correlation_id
                )
            )

    def donor(self, donor_id: str) -> DonorSummary:
        return self._donors.get(donor_id, DonorSummary(donor_id))

    def donor_history(self, donor_id: str, page_size: int) -> DonorHistory:
        with self._lock:  # one instant, as DynamoDB's single Query reads it
            summary = self.donor(donor_id)
            if not page_size:
                return DonorHistory(summary)
            return DonorHistory(summary, self._page(donor_id, page_size, None), page_size)

    def donation_count(self, donor_id: str) -> int:
        return self.donor(donor_id).donation_count

    def donations(self, donor_id: str, limit: int, after: str | None) -> DonationPage:
        return self._page(donor_id, limit, after)

    def _page(self, donor_id: str, limit: int, after: str | None) -> DonationPage:
        ordered = sorted(
            self._donations.get(donor_id, []),
            key=lambda donation: (donation.donated_at, donation.id),
            reverse=True,
        )
        # The position is an offset; the ledger signs it, as it does DynamoDB's sort keys.
        start = int(after) if after is not None else 0
        page = ordered[start : start + limit]
        more = start + limit < len(ordered)
        return DonationPage(page, str(start + limit) if more else None)

    def donation_time(self, donor_id: str, *, latest: bool) -> datetime | None:
        times = [donation.donated_at for donation in self._donations.get(donor_id, [])]
        if not times:
            return None
        return max(times) if latest else min(times)

    def mark_thanked(self, donor_id: str, thanked_at: datetime, message_id: str) -> bool:
        with self._lock:
            donor = self._donors.get(donor_id)
            if donor is None or donor.thanked_at is not None:
                return False
            self._donors[donor_id] = replace(
                donor, thanked_at=thanked_at, thank_you_message_id=message_id
            )
            return True

    def forget_donor(self, donor_id: str) -> ErasureCounts:
        with self._lock:
            donations = self._donations.pop(donor_id, [])
            keys = {donation.idempotency_key for donation in donations}
            markers = [
                key
                for key, (held, _) in self._keys.items()
                if key in keys and held.donor_id == donor_id
            ]
            for key in markers:
                del self._keys[key]
            for total in anonymous_totals(donations):
                kept = self.anonymous.get(total.month, AnonymousTotal(total.month, 0, {}))
                totals = dict(kept.totals)
                for currency, minor_units in total.totals.items():
                    totals[currency] = totals.get(currency, 0) + minor_units
                self.anonymous[total.month] = AnonymousTotal(
                    total.month, kept.donation_count + total.donation_count, totals
                )
            donor = self._donors.pop(donor_id, None)
            return ErasureCounts(int(donor is not None), len(donations), len(markers))

    def donors_awaiting_thanks(self, threshold: int) -> Iterator[DonorSummary]:
        for donor in list(self._donors.values()):
            if donor.donation_count >= threshold and donor.thanked_at is None:
                yield donor


class InMemoryThankYouSender(ThankYouSender):
    """Keeps every message it is asked to send; can be told to fail, like an SNS outage."""

    def __init__(self) -> None:
        self.sent: list[ThankYouMessage] = []
        self.failing = False

    def send(self, message: ThankYouMessage) -> str:
        if self.failing:
            raise ConnectionError("thank-you transport unavailable")
        self.sent.append(message)
        return f"message-{len(self.sent)}"


class InMemoryDocumentRegistry(DocumentRegistry):
    """Registered documents in a dict; ``lookups`` counts the reads that reached it."""

    def __init__(self) -> None:
        self.documents: dict[str, str] = {}
        self.lookups = 0

    def find(self, sha256: str) -> str | None:
        self.lookups += 1
        return self.documents.get(sha256)

    def register(self, sha256: str, document: str) -> None:
        self.documents[sha256] = document
