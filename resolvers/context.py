"""What every resolver can reach: the request's id and caller, and the ledger only through
the access policy (``resolvers.access``), so a resolver cannot read or write unchecked."""

from __future__ import annotations

from donations.domain.ledger import DonationLedger
from donations.domain.model import DonorSummary
from resolvers import access
from resolvers.access import Caller


class RequestContext:
    def __init__(self, *, ledger: DonationLedger, request_id: str, caller: Caller) -> None:
        self._ledger = ledger
        self.request_id = request_id
        self.caller = caller
        self._donors: dict[str, DonorSummary] = {}

    def ledger_to_record(self) -> DonationLedger:
        """The ledger, if this caller may record donations; else ``AccessDeniedError``."""
        access.require_recording(self.caller)
        return self._ledger

    def ledger_to_read(self, donor_id: str) -> DonationLedger:
        """The ledger, if this caller may read this donor; else ``AccessDeniedError``."""
        access.require_reading(self.caller, donor_id)
        return self._ledger

    def donor_summary(self, donor_id: str) -> DonorSummary:
        """The donor's state, read at most once per request however many fields need it."""
        ledger = self.ledger_to_read(donor_id)
        if donor_id not in self._donors:
            self._donors[donor_id] = ledger.donor(donor_id)
        return self._donors[donor_id]
