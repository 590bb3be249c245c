"""`make redrive`: thank every donor who reached the threshold but was never thanked.

The runbook for "the thank-you dead-letter queue alarm fired": once SNS (or whatever
failed) is healthy again, run this against the deployed table and topic. It is safe to run
any number of times: a donor already thanked is skipped, and each donor is marked thanked
as soon as their message is published. With no settings it acts on the running `make run`.

    DONATIONS_TABLE_NAME=<table> THANK_YOU_TOPIC_ARN=<arn> THANK_YOU_THRESHOLD=<n> \\
    LOG_HASH_KEY_SECRET_ARN=<LogHashKeySecretArn output> make redrive
"""

from __future__ import annotations

import sys
from collections import Counter
from dataclasses import dataclass

from donations.container import services
from donations.domain.thank_you import ThankYouOutcome, ThankYouService
from donations.observability import report_thank_you
from local.endpoint import target_running_emulation


@dataclass(frozen=True)
class RedriveReport:
    examined: int
    sent: int
    duplicates: int
    failed: int


def redrive(thank_you: ThankYouService) -> RedriveReport:
    """Run the service's re-drive, reporting each donor as the stream consumer would."""
    outcomes: Counter[ThankYouOutcome] = Counter()
    for result in thank_you.redrive():
        report_thank_you(result)
        outcomes[result.outcome] += 1
    return RedriveReport(
        examined=outcomes.total(),
        sent=outcomes[ThankYouOutcome.SENT],
        duplicates=outcomes[ThankYouOutcome.SENT_DUPLICATE],
        failed=outcomes[ThankYouOutcome.FAILED],
    )


def main() -> int:
    sys.stderr.write(f"==> target: {target_running_emulation()}\n")
    thank_you = services().thank_you
    if thank_you is None:
        sys.stderr.write("THANK_YOU_TOPIC_ARN must name the thank-you topic\n")
        return 2
    sys.stderr.write("==> scanning for donors who reached the threshold but were not thanked\n")
    report = redrive(thank_you)
    sys.stderr.write(
        f"==> {report.examined} found, {report.sent} thanked now, "
        f"{report.duplicates} thanked concurrently by the stream consumer, "
        f"{report.failed} failed (run again once the cause is fixed)\n"
    )
    return 1 if report.failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
