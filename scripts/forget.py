"""`make forget DONOR=<id>`: honour a donor's request to be forgotten.

Removes the donor item, their donations and their idempotency markers, keeping only the
anonymous monthly totals (README, "Runbook: an erasure request"). Safe to run again: a
second run finds nothing. With no settings it acts on the running `make run`; against a
deployed table, with the operator's credentials:

    DONATIONS_TABLE_NAME=<table> LOG_HASH_KEY_SECRET_ARN=<LogHashKeySecretArn output> \\
    make forget DONOR=<donor id>
"""

from __future__ import annotations

import sys

from botocore.exceptions import ClientError

from donations.container import build_erasure
from donations.domain.erasure import DonorStillActiveError
from donations.domain.errors import DonationError, InvalidInputError
from donations.observability import donor_ref, logger
from donations.settings import Settings
from local.endpoint import target_running_emulation


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        sys.stderr.write("usage: make forget DONOR=<donor id>\n")
        return 2
    donor_id = argv[0]
    sys.stderr.write(f"==> target: {target_running_emulation()}\n")
    erasure = build_erasure(Settings.from_env())
    # The terminal, like the logs, gets the donor's reference: the output may be pasted
    # into a ticket, and the requester's id should not travel with it.
    ref = donor_ref(donor_id)
    try:
        removed = erasure.forget(donor_id)
    except InvalidInputError as error:
        sys.stderr.write(f"==> not a donor id: {error.errors[0].message}\n")
        return 2
    except DonorStillActiveError as error:
        logger.warning("donor erasure incomplete", extra={"event": "erasure", "donor_ref": ref})
        sys.stderr.write(
            f"==> donor {ref}: donations kept arriving ({error.removed.donations} removed so "
            "far). Stop them at their source, then run this again.\n"
        )
        return 1
    except (DonationError, ClientError) as error:
        # The AWS error code (AccessDeniedException, ResourceNotFoundException) says what
        # to fix; messages are left out, as everywhere, in case they quote data.
        reason = (
            str(error.response.get("Error", {}).get("Code"))
            if isinstance(error, ClientError)
            else type(error).__name__
        )
        logger.warning(
            "donor erasure failed", extra={"event": "erasure", "donor_ref": ref, "reason": reason}
        )
        sys.stderr.write(
            f"==> donor {ref}: failed ({reason}); whatever was removed stays removed, "
            "run it again once the cause is fixed\n"
        )
        return 1
    logger.info(
        "donor forgotten",
        extra={
            "event": "erasure",
            "donor_ref": ref,
            "donor_items": removed.donors,
            "donations": removed.donations,
            "markers": removed.markers,
        },
    )
    if not removed.found:
        sys.stderr.write(f"==> donor {ref}: 0 found; nothing stored links to this id\n")
        return 0
    sys.stderr.write(
        f"==> donor {ref}: {removed.found} found and removed: {removed.donors} donor item, "
        f"{removed.donations} donations, {removed.markers} idempotency markers; their amounts "
        "remain only in the anonymous monthly totals\n"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
