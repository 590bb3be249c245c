"""Failures the domain reports. Expected ones carry what a client needs to fix its request."""

from __future__ import annotations

from dataclasses import dataclass

from donations.domain.model import Donation


@dataclass(frozen=True, slots=True)
class FieldError:
    """One thing wrong with one input field, in words a client developer can act on."""

    field: str
    code: str
    message: str


class DonationError(Exception):
    """Base class of every failure the domain raises on purpose."""


class InvalidInputError(DonationError):
    """The request breaks one or more validation rules; nothing was written."""

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__(f"{len(errors)} invalid field(s)")
        self.errors = errors


class IdempotencyKeyReusedError(DonationError):
    """The idempotency key was already used for a donation with a different payload."""

    def __init__(self, idempotency_key: str) -> None:
        super().__init__("idempotency key reused with a different payload")
        self.idempotency_key = idempotency_key


class DuplicateIdempotencyKeyError(DonationError):
    """Raised by a store when the key is taken; the ledger decides if it is a replay."""

    def __init__(self, existing: Donation, existing_fingerprint: str) -> None:
        super().__init__("idempotency key already used")
        self.existing = existing
        self.existing_fingerprint = existing_fingerprint


class StoreUnavailableError(DonationError):
    """Storage stayed busy or unreachable after bounded retries; the client may retry."""


class AccessDeniedError(DonationError):
    """The caller may not do this. Raised before anything is read or written, so the refusal
    is the same whether or not the donor exists."""

    def __init__(self, operation: str) -> None:
        super().__init__(f"Not allowed to {operation}.")
        self.operation = operation
