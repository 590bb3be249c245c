"""What every resolver can reach: the ledger and the request's identity."""

from __future__ import annotations

from dataclasses import dataclass, field

from donations.domain.ledger import DonationLedger
from donations.domain.model import DonorSummary


@dataclass
class RequestContext:
    ledger: DonationLedger
    request_id: str
    _donors: dict[str, DonorSummary] = field(default_factory=dict)

    def donor_summary(self, donor_id: str) -> DonorSummary:
        """The donor's state, read at most once per request however many fields need it."""
        if donor_id not in self._donors:
            self._donors[donor_id] = self.ledger.donor(donor_id)
        return self._donors[donor_id]
