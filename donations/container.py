"""Composition root: builds clients, adapters and services once per process."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING

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


def build_services(settings: Settings) -> Services:
    """Build everything a function needs. Called once per container, on first use."""
    import boto3

    from donations.adapters.dynamodb import DynamoDBDonationStore
    from donations.adapters.sns import SnsThankYouSender
    from donations.domain.ledger import DonationLedger
    from donations.domain.thank_you import ThankYouService
    from donations.observability import configure_donor_hashing

    configure_donor_hashing(settings.log_hash_key)
    config = aws_client_config()
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
