"""A clock a test moves by hand, for the ledger's and the idempotency window's sense of now."""

from __future__ import annotations

from datetime import datetime


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now
