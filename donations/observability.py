"""Logger, tracer and metrics: one instance of each per process, shared by every module."""

from __future__ import annotations

import hashlib
import hmac

from aws_lambda_powertools import Logger, Metrics, Tracer

from donations.constants import METRICS_NAMESPACE, SERVICE_NAME

logger = Logger(service=SERVICE_NAME)
tracer = Tracer(service=SERVICE_NAME)
metrics = Metrics(namespace=METRICS_NAMESPACE, service=SERVICE_NAME)

_hash_key = b""


def configure_donor_hashing(key: str) -> None:
    global _hash_key  # noqa: PLW0603 - set once per container by the composition root
    _hash_key = key.encode()


def donor_ref(donor_id: str) -> str:
    """A keyed hash that stands for a donor in logs: linkable across lines, not reversible."""
    return hmac.new(_hash_key, donor_id.encode(), hashlib.sha256).hexdigest()[:16]
