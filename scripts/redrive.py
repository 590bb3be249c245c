"""`make redrive`: thank every donor who reached the threshold but was never thanked.

The runbook for "the thank-you dead-letter queue alarm fired": once SNS (or whatever
failed) is healthy again, run this against the deployed table and topic. It is safe to run
any number of times: a donor already thanked is skipped, and each donor is marked thanked
as soon as their message is published.

    DONATIONS_TABLE_NAME=<table> THANK_YOU_TOPIC_ARN=<arn> THANK_YOU_THRESHOLD=<n> \\
    LOG_HASH_KEY_SECRET_ARN=<LogHashKeySecretArn output> make redrive
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

from donations.container import services
from donations.domain.thank_you import ThankYouOutcome
from donations.observability import donor_ref, logger


@dataclass(frozen=True)
class RedriveReport:
    examined: int
    sent: int
    duplicates: int
    failed: int


def redrive() -> RedriveReport:
    thank_you = services().thank_you
    if thank_you is None:
        raise SystemExit("THANK_YOU_TOPIC_ARN must name the thank-you topic")
    examined = sent = duplicates = failed = 0
    for donor_id in thank_you.awaiting_thanks():
        examined += 1
        try:
            result = thank_you.thank(donor_id)
        except Exception as error:
            # One donor's failure must not stop the others; a second run retries them.
            failed += 1
            logger.warning(
                "re-drive thank-you failed",
                extra={"donor_ref": donor_ref(donor_id), "exception_name": type(error).__name__},
            )
            continue
        if result.outcome is ThankYouOutcome.SENT:
            sent += 1
        elif result.outcome is ThankYouOutcome.SENT_DUPLICATE:
            duplicates += 1
        logger.info(
            "re-drive thank-you",
            extra={
                "outcome": result.outcome.value,
                "sns_message_id": result.message_id,
                "donor_ref": donor_ref(donor_id),
            },
        )
    return RedriveReport(examined, sent, duplicates, failed)


def main() -> int:
    sys.stderr.write("==> scanning for donors who reached the threshold but were not thanked\n")
    report = redrive()
    sys.stderr.write(
        f"==> {report.examined} found, {report.sent} thanked now, "
        f"{report.duplicates} thanked concurrently by the stream consumer, "
        f"{report.failed} failed (run again once the cause is fixed)\n"
    )
    return 1 if report.failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
