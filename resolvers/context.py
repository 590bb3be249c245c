"""What every resolver can reach: the request's id and caller, and the ledger only through
the access policy (``resolvers.access``), so a resolver cannot read or write unchecked."""

from __future__ import annotations

from donations.domain.ledger import DonationLedger
from donations.domain.model import DonorHistory
from resolvers import access
from resolvers.access import Caller


class RequestContext:
    def __init__(self, *, ledger: DonationLedger, request_id: str, caller: Caller) -> None:
        self._ledger = ledger
        self.request_id = request_id
        self.caller = caller
        self._donors: dict[str, DonorHistory] = {}

    def ledger_to_record(self) -> DonationLedger:
        """The ledger, if this caller may record donations; else ``AccessDeniedError``."""
        access.require_recording(self.caller)
        return self._ledger

    def ledger_to_read(self, donor_id: str) -> DonationLedger:
        """The ledger, if this caller may read this donor; else ``AccessDeniedError``."""
        access.require_reading(self.caller, donor_id)
        return self._ledger

    def donor_history(self, donor_id: str, page_size: int = 0) -> DonorHistory:
        """The donor's state, with the first page of ``page_size`` donations when the first
        field to ask wants them: read at most once per request, however many fields need it."""
        ledger = self.ledger_to_read(donor_id)
        history = self._donors.get(donor_id)
        if history is None:
            history = self._donors[donor_id] = ledger.donor_history(donor_id, page_size)
        return history

    def donor_history_read(self, donor_id: str) -> DonorHistory | None:
        """The donor's history if this request has read it already; never reads."""
        return self._donors.get(donor_id)
