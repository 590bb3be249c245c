"""Composition root: clients → adapters → services, built once per container.

``build_services`` takes its AWS clients as a parameter, so a test (or the benchmark) hands in
clients it has hooked or stubbed through botocore's public events and ``Stubber``; everything
else builds them from the environment with ``AwsClients.from_settings``.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from donations.constants import SERVICE_NAME
from donations.settings import Settings

if TYPE_CHECKING:
    from botocore.config import Config
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_secretsmanager import SecretsManagerClient
    from mypy_boto3_sns import SNSClient

    from donations.domain.cursors import PageCursors
    from donations.domain.erasure import DonorErasure
    from donations.domain.ledger import DonationLedger
    from donations.domain.ports import DocumentRegistry
    from donations.domain.thank_you import ThankYouService


def aws_client_config() -> Config:
    """botocore settings chosen for Lambda: fail fast, retry a little, reuse connections, and
    spend as little CPU per call as is safe (figures: `make bench`, docs/performance.md)."""
    import platform

    import botocore
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
        # A fixed User-Agent: botocore otherwise assembles its telemetry string (OS, feature
        # ids, ...) twice per call, ~10 % of a warm donationCount's CPU. It still names the
        # service, the SDK and Python, which is what CloudTrail and AWS support read.
        user_agent=(
            f"{SERVICE_NAME} Botocore/{botocore.__version__} Python/{platform.python_version()}"
        ),
        # Every request is built by our adapters from values the domain has validated
        # (domain/validation.py), and DynamoDB, SNS and Secrets Manager validate each request
        # again, so a mistake would still fail loudly (ValidationException). botocore's own
        # walk of the input shape costs ~3 % of a warm donationCount, ~8 % of a recordDonation.
        parameter_validation=False,
    )


@dataclass(frozen=True, slots=True)
class AwsClients:
    """The boto3 clients a function uses; only those its settings call for are built."""

    dynamodb: DynamoDBClient
    sns: SNSClient | None = None
    secretsmanager: SecretsManagerClient | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> AwsClients:
        import boto3

        config = aws_client_config()
        return cls(
            dynamodb=boto3.client("dynamodb", config=config),
            sns=boto3.client("sns", config=config) if settings.topic_arn else None,
            secretsmanager=(
                boto3.client("secretsmanager", config=config)
                if settings.log_hash_key_secret_arn and not settings.log_hash_key
                else None
            ),
        )


@dataclass(frozen=True, slots=True)
class Services:
    settings: Settings
    clients: AwsClients
    ledger: DonationLedger
    thank_you: ThankYouService | None
    # Automatic persisted queries' registrations, shared by every container.
    documents: DocumentRegistry
    cursors: PageCursors  # the ledger's, to key after a SnapStart restore


class LogHashKeyError(RuntimeError):
    """The log-hash key could not be read; the function must not log with an unkeyed hash."""


def fetch_log_hash_key(client: SecretsManagerClient, secret_arn: str) -> str:
    """The key from Secrets Manager through Powertools Parameters (never logged or in errors).

    The stack generates the secret as a plain string (``generate_secret_string`` without a
    template, infra/stack.py), but whatever the string is, JSON included, it is used as the
    key as-is: the same bytes the runbook's ``get-secret-value --query SecretString`` gives.
    """
    from aws_lambda_powertools.utilities.parameters import SecretsProvider
    from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError

    try:
        key = SecretsProvider(boto3_client=client).get(secret_arn)
    except GetParameterError as error:
        # The failed call never returned the value, so its message can't carry it; the AWS
        # error code in it (AccessDeniedException, ...) says what to fix.
        raise LogHashKeyError(
            f"could not read the log-hash key from Secrets Manager secret {secret_arn}: {error}"
        ) from None
    if not isinstance(key, str) or not key:
        raise LogHashKeyError(f"the log-hash key secret {secret_arn} has no string value")
    return key


def configure_log_hashing(
    settings: Settings, clients: AwsClients, cursors: PageCursors | None = None
) -> None:
    """Key the hash that stands for donor ids in logs: the explicit key, else the secret's.

    Page cursors are signed with a key derived from the same secret, so every container of a
    stage accepts the others' cursors; without a secret they keep a key of their own.
    """
    from donations.observability import configure_donor_hashing

    log_hash_key = settings.log_hash_key
    if not log_hash_key and settings.log_hash_key_secret_arn:
        if clients.secretsmanager is None:
            raise LogHashKeyError("a Secrets Manager client is needed to read the log-hash key")
        # One call per container; the key then stays in this process only.
        log_hash_key = fetch_log_hash_key(clients.secretsmanager, settings.log_hash_key_secret_arn)
    configure_donor_hashing(log_hash_key)
    if cursors is not None and log_hash_key:
        cursors.use_secret(log_hash_key)


def build_services(
    settings: Settings,
    clients: AwsClients | None = None,
    *,
    sleep: Callable[[float], None] = time.sleep,
    log_hash_key_later: bool = False,
) -> Services:
    """Build everything a function needs. ``sleep`` is the stores' backoff between retries.

    ``log_hash_key_later`` leaves the log-hash key unread (and the cursors' key derived from
    it), for a SnapStart snapshot that must not hold it: the caller runs
    ``configure_log_hashing`` with ``cursors`` after the restore (handler.py).
    """
    from donations.adapters.dynamodb import DynamoDBDocumentRegistry, DynamoDBDonationStore
    from donations.domain.cursors import PageCursors
    from donations.domain.ledger import DonationLedger

    clients = clients or AwsClients.from_settings(settings)
    cursors = PageCursors()  # keyed from the log-hash secret once it is read
    if not log_hash_key_later:
        configure_log_hashing(settings, clients, cursors)
    store = DynamoDBDonationStore(clients.dynamodb, settings.table_name, sleep=sleep)
    thank_you = None
    if settings.topic_arn:  # the stream consumer's modules load only where it runs
        from donations.adapters.sns import SnsThankYouSender
        from donations.domain.thank_you import ThankYouService

        if clients.sns is None:
            raise ValueError("an SNS client is needed to send thank-yous")
        sender = SnsThankYouSender(clients.sns, settings.topic_arn)
        thank_you = ThankYouService(store, sender, settings.thank_you_threshold)
    window = timedelta(hours=settings.idempotency_window_hours)
    ledger = DonationLedger(store, idempotency_window=window, cursors=cursors)
    documents = DynamoDBDocumentRegistry(clients.dynamodb, settings.table_name)
    return Services(settings, clients, ledger, thank_you, documents, cursors)


def build_erasure(settings: Settings, clients: AwsClients | None = None) -> DonorErasure:
    """The operator's `make forget`: kept out of the functions' services, which never delete."""
    from donations.adapters.dynamodb import DynamoDBDonationStore
    from donations.domain.erasure import DonorErasure

    clients = clients or AwsClients.from_settings(settings)
    configure_log_hashing(settings, clients)
    return DonorErasure(DynamoDBDonationStore(clients.dynamodb, settings.table_name))


@functools.cache
def services() -> Services:
    """This container's services, from its environment."""
    return build_services(Settings.from_env())
