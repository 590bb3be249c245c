"""Who may do what: the one access policy that every resolver goes through.

The gateway verifies the caller (API Gateway's JWT or IAM authorizer in AWS, the local
authorizer under `AUTH=jwt make run`) and writes what it verified into the event's
``requestContext.authorizer``. ``caller_from_event`` reads that, and only that (never a
request header), into a ``Caller``; ``RequestContext`` hands the ledger to a resolver only
after ``require_recording`` or ``require_reading`` has passed.

| caller                                  | recordDonation | read donor X               |
|-----------------------------------------|----------------|----------------------------|
| anyone, on an open stage (`none`)       | yes            | yes                        |
| an IAM principal (`iam`)                | yes            | yes                        |
| a token with `donations/write`          | yes            | only with a right below    |
| a token with `donations/read`           | no             | yes                        |
| a token whose donor claim is X          | no             | X only                     |
| anything else (no or unknown identity)  | no             | no                         |

A refusal is decided before anything is read, so it is the same for a donor who exists
and one who doesn't.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from donations.constants import READ_SCOPE, WRITE_SCOPE
from donations.domain.errors import AccessDeniedError
from donations.observability import count, logger
from donations.settings import Authorization

RECORD_DONATIONS: Final = "record donations"
READ_DONOR: Final = "read this donor"


@dataclass(frozen=True, slots=True)
class Caller:
    """Who is calling, as far as the gateway vouched for them."""

    # For logs and metrics only: "open", "iam", "jwt" or "unverified".
    kind: str
    scopes: frozenset[str] = frozenset()
    # The signed-in donor this caller is, from the configured claim.
    donor_id: str | None = None
    # An open stage, or an IAM principal whose invoke permission is itself the grant.
    trusted: bool = False

    @classmethod
    def open_stage(cls) -> Caller:
        return cls("open", trusted=True)

    @classmethod
    def unverified(cls) -> Caller:
        return cls("unverified")

    def may_record(self) -> bool:
        return self.trusted or WRITE_SCOPE in self.scopes

    def may_read(self, donor_id: str) -> bool:
        return self.trusted or READ_SCOPE in self.scopes or self.donor_id == donor_id


def caller_from_event(
    event: Mapping[str, Any] | None, authorization: Authorization, donor_id_claim: str
) -> Caller:
    """The caller the gateway verified, from a Lambda event's ``requestContext.authorizer``.

    Fails closed: a stage that should be protected but whose event carries no identity of
    the expected kind (a route deployed without its authorizer, say) gets a caller with no
    rights at all.
    """
    if authorization is Authorization.NONE:
        return Caller.open_stage()
    request_context = (event or {}).get("requestContext") or {}
    authorizer = request_context.get("authorizer") or {}
    if authorization is Authorization.IAM:
        identity = authorizer.get("iam")
        return Caller("iam", trusted=True) if identity else Caller.unverified()
    verified = authorizer.get("jwt")
    if not isinstance(verified, Mapping):
        return Caller.unverified()
    claims = verified.get("claims") or {}
    # `scopes` is a list only when the route itself names scopes; otherwise the token's own
    # `scope` claim (space-separated, as Cognito's client-credentials tokens carry it, or
    # `scp` for some providers) says what it may do.
    scopes = {str(scope) for scope in verified.get("scopes") or ()}
    for name in ("scope", "scp"):
        scopes.update(_claim_words(claims.get(name)))
    donor_id = claims.get(donor_id_claim)
    return Caller(
        "jwt",
        scopes=frozenset(scopes),
        donor_id=donor_id if isinstance(donor_id, str) and donor_id else None,
    )


def _claim_words(value: object) -> list[str]:
    # API Gateway passes every claim as a string and an array as "[a b c]".
    if isinstance(value, list | tuple):
        return [str(word) for word in value]
    if not isinstance(value, str):
        return []
    text = value.strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    return text.split()


def require_recording(caller: Caller) -> None:
    if not caller.may_record():
        _refuse(caller, RECORD_DONATIONS)


def require_reading(caller: Caller, donor_id: str) -> None:
    if not caller.may_read(donor_id):
        _refuse(caller, READ_DONOR)


def _refuse(caller: Caller, operation: str) -> None:
    # Neither the donor nor any claim value: what was refused, and to what kind of caller.
    count("AccessDenied")
    logger.warning("access denied", extra={"operation": operation, "caller": caller.kind})
    raise AccessDeniedError(operation)
