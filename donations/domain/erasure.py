"""Forgetting a donor: the right to erasure, honoured without losing the charity's totals."""

from __future__ import annotations

from typing import Final

from donations.domain.errors import DonationError, InvalidInputError
from donations.domain.model import ErasureCounts
from donations.domain.ports import DonationStore
from donations.domain.validation import validate_donor_id

# A normal erasure takes two passes: one removes everything, the next finds nothing. A
# donation recorded for the donor while the first pass ran is removed by the second and
# confirmed gone by a third; donations that keep arriving need stopping at their source.
MAX_PASSES: Final = 3


class DonorStillActiveError(DonationError):
    """Donations kept arriving for the donor while they were being forgotten."""

    def __init__(self, removed: ErasureCounts) -> None:
        super().__init__("donations kept arriving for the donor being forgotten")
        self.removed = removed


class DonorErasure:
    """Removes everything that links a donation to a donor id; keeps anonymous totals only.

    The donor item, their donations and their idempotency markers are deleted, not moved
    under a random replacement id: rows with exact amounts and times under a pseudonym
    could still be matched to the donor through the payment records the charity must
    keep, so they would remain personal data. What stays is each month's count and sum per
    currency, with no id or date finer than the month (``anonymous_totals``). Forgetting
    is idempotent: once everything is gone, it finds nothing and reports zero.
    """

    def __init__(self, store: DonationStore, max_passes: int = MAX_PASSES) -> None:
        self._store = store
        self._max_passes = max_passes

    def forget(self, donor_id: str) -> ErasureCounts:
        """Forget the donor; returns what was found and removed (all zero the second time).

        Raises ``InvalidInputError`` for a malformed id, ``DonorStillActiveError`` if
        donations keep arriving, ``StoreUnavailableError`` if storage stays busy. Whatever
        was removed before a failure stays removed; running it again finishes the job.
        """
        errors = validate_donor_id(donor_id)
        if errors:
            raise InvalidInputError(errors)
        removed = ErasureCounts()
        for _ in range(self._max_passes):
            this_pass = self._store.forget_donor(donor_id)
            if not this_pass.found:
                return removed
            removed += this_pass
        raise DonorStillActiveError(removed)
