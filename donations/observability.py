"""Logger, tracer and metrics: one instance of each per process, shared by every module.

Also the two things every entry point reports the same way: a donor's reference in logs
(a keyed hash, never the id) and the outcome of a thank-you.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from typing import TYPE_CHECKING

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit

from donations.constants import METRICS_NAMESPACE, SERVICE_NAME

if TYPE_CHECKING:
    from donations.domain.thank_you import ThankYouResult

logger = Logger(service=SERVICE_NAME)
# Only botocore, the one instrumented library the functions call (X-Ray patches boto3 through
# it). The default patches every library X-Ray supports that is installed, importing each:
# ~250 ms of CPU at start-up where the dev tools are (httpx, requests, click, ...); the asset
# ships none of them, nor X-Ray's patches for them (infra/asset.py).
tracer = Tracer(service=SERVICE_NAME, patch_modules=("botocore",))
# X-Ray warns, in a line of its own, about every AWS call made outside an invocation (the
# log-hash key is read at init, or after a SnapStart restore): Lambda traces init itself.
logging.getLogger("aws_xray_sdk.core.lambda_launcher").setLevel(logging.ERROR)
metrics = Metrics(namespace=METRICS_NAMESPACE, service=SERVICE_NAME)

_hash_key = b""


def configure_donor_hashing(key: str) -> None:
    global _hash_key  # noqa: PLW0603 - set once per container by the composition root
    _hash_key = key.encode()


def donor_ref(donor_id: str) -> str:
    """A keyed hash that stands for a donor in logs: linkable across lines, not reversible."""
    return hmac.new(_hash_key, donor_id.encode(), hashlib.sha256).hexdigest()[:16]


def count(name: str, value: int = 1) -> None:
    metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)


# outcome -> (log level, message, metric); shared by the stream consumer and `make redrive`.
_THANK_YOU_REPORTS = {
    "sent": (logger.info, "thank-you sent", "ThankYouSent"),
    "sent_duplicate": (logger.warning, "thank-you sent twice", "ThankYouDuplicate"),
    "already_thanked": (logger.info, "thank-you already sent", None),
    "forgotten": (logger.info, "thank-you not sent: donor forgotten", None),
    "failed": (logger.warning, "thank-you failed", "ThankYouFailed"),
}


def report_thank_you(result: ThankYouResult, *, correlation_id: str | None = None) -> None:
    """One log line (and a metric where it counts) for a thank-you that was due."""
    report = _THANK_YOU_REPORTS.get(result.outcome.value)
    if report is None:  # not a milestone: nothing happened worth a line
        return
    log, message, metric = report
    fields = {
        "event": "thank_you",
        "outcome": result.outcome.value,
        "milestone": result.milestone,
        "sns_message_id": result.message_id,
        "donor_ref": donor_ref(result.donor_id),
        "api_request_id": correlation_id,
    }
    if result.error:
        fields["exception_name"] = result.error
    log(message, extra=fields)
    if metric:
        count(metric)
