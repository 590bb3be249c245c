"""Composition root: builds clients, adapters and services once per process."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from donations.settings import Settings

if TYPE_CHECKING:
    from donations.domain.ledger import DonationLedger
    from donations.domain.thank_you import ThankYouService


@dataclass(frozen=True, slots=True)
class Services:
    settings: Settings
    ledger: DonationLedger
    thank_you: ThankYouService | None


def aws_client_config() -> object:
    """botocore settings chosen for Lambda: fail fast, retry a little, reuse connections."""
    from botocore.config import Config

    return Config(
        # DynamoDB answers in milliseconds; a call that takes seconds is a call to give up
        # on. Three tries of at most 0.5 s + 1.5 s, plus standard mode's jittered backoff,
        # end well inside the API function's 10 s timeout, so the client gets a clean
        # SERVICE_UNAVAILABLE rather than a gateway timeout. The stream consumer's failures
        # are retried by Lambda as well.
        connect_timeout=0.5,
        read_timeout=1.5,
        retries={"mode": "standard", "total_max_attempts": 3},
        tcp_keepalive=True,
    )


class LogHashKeyError(RuntimeError):
    """The log-hash key could not be read; the function must not log with an unkeyed hash."""


def fetch_log_hash_key(client: Any, secret_arn: str) -> str:
    """The key from Secrets Manager, read once per container (never logged or put in errors).

    The stack generates the secret as a plain string (``generate_secret_string`` without a
    template, infra/stack.py), but whatever the string is, JSON included, it is used as the
    key as-is: the same bytes the runbook's ``get-secret-value --query SecretString`` gives.
    """
    try:
        key = client.get_secret_value(SecretId=secret_arn)["SecretString"]
    except Exception as error:
        # The failed call never returned the value, so neither this nor the chained error
        # can carry it; the AWS error code (AccessDeniedException, ...) says what to fix.
        code = getattr(error, "response", {}).get("Error", {}).get("Code", "")
        reason = f"{type(error).__name__} {code}".strip()
        raise LogHashKeyError(
            f"could not read the log-hash key from Secrets Manager secret {secret_arn}: {reason}"
        ) from error
    if not isinstance(key, str) or not key:
        raise LogHashKeyError(f"the log-hash key secret {secret_arn} has no string value")
    return key


def build_services(settings: Settings) -> Services:
    """Build everything a function needs. Called once per container, on first use."""
    import boto3

    from donations.adapters.dynamodb import DynamoDBDonationStore
    from donations.adapters.sns import SnsThankYouSender
    from donations.domain.ledger import DonationLedger
    from donations.domain.thank_you import ThankYouService
    from donations.observability import configure_donor_hashing

    config = aws_client_config()
    log_hash_key = settings.log_hash_key
    if not log_hash_key and settings.log_hash_key_secret_arn:
        # One extra client and call per cold start; the key then stays in this process only.
        log_hash_key = fetch_log_hash_key(
            boto3.client("secretsmanager", config=config),  # type: ignore[call-overload]
            settings.log_hash_key_secret_arn,
        )
    configure_donor_hashing(log_hash_key)
    store = DynamoDBDonationStore(
        boto3.client("dynamodb", config=config),  # type: ignore[call-overload]
        settings.table_name,
    )
    thank_you = None
    if settings.topic_arn:
        sender = SnsThankYouSender(
            boto3.client("sns", config=config),  # type: ignore[call-overload]
            settings.topic_arn,
        )
        thank_you = ThankYouService(store, sender, settings.thank_you_threshold)
    return Services(settings, DonationLedger(store), thank_you)


@functools.cache
def services() -> Services:
    return build_services(Settings.from_env())
