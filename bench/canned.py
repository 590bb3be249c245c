"""AWS answered instantly at botocore's HTTP send, so only code on this machine is timed.

The clients are real (parameter validation, serialisation, SigV4 signing, parsing, retries
config): a ``before-send`` hook hands botocore a ready-made HTTP response per operation
instead of opening a connection. What is timed is therefore what a warm Lambda spends on CPU,
with DynamoDB's own latency left out.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from bench.environment import LOG_HASH_KEY_SECRET_ARN
from donations.adapters.dynamodb import to_wire
from donations.constants import (
    AMOUNT_MINOR_ATTRIBUTE,
    CURRENCY_ATTRIBUTE,
    DONATED_AT_ATTRIBUTE,
    DONATION_COUNT_ATTRIBUTE,
    DONATION_ID_ATTRIBUTE,
    DONATION_KEY_PREFIX,
    DONOR_ID_ATTRIBUTE,
    DONOR_KEY_PREFIX,
    DONOR_SORT_KEY,
    PARTITION_KEY,
    RECORDED_AT_ATTRIBUTE,
    SORT_KEY,
    TOTAL_ATTRIBUTE_PREFIX,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

DONOR_ID = "bench-donor-seeded"
DONATIONS = 12
# What the API function asks AWS for: DynamoDB, and Secrets Manager once at start-up.
SERVICES = ("dynamodb", "secrets-manager")


class _Body:
    def __init__(self, content: bytes) -> None:
        self._content = content

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._content


def _donation(index: int) -> dict[str, Any]:
    when = (datetime(2026, 11, 1, tzinfo=UTC) + timedelta(hours=index)).isoformat()
    donation_id = f"00000000-0000-4000-8000-{index:012d}"
    return to_wire(
        {
            PARTITION_KEY: DONOR_KEY_PREFIX + DONOR_ID,
            SORT_KEY: f"{DONATION_KEY_PREFIX}{when}#{donation_id}",
            DONATION_ID_ATTRIBUTE: donation_id,
            DONOR_ID_ATTRIBUTE: DONOR_ID,
            AMOUNT_MINOR_ATTRIBUTE: 500 + index * 100,
            CURRENCY_ATTRIBUTE: "GBP",
            DONATED_AT_ATTRIBUTE: when,
            RECORDED_AT_ATTRIBUTE: when,
        }
    )


def answers() -> dict[str, bytes]:
    """What DynamoDB says to each operation the API makes, for a donor with 12 donations."""
    donor = to_wire(
        {
            PARTITION_KEY: DONOR_KEY_PREFIX + DONOR_ID,
            SORT_KEY: DONOR_SORT_KEY,
            DONOR_ID_ATTRIBUTE: DONOR_ID,
            DONATION_COUNT_ATTRIBUTE: DONATIONS,
            TOTAL_ATTRIBUTE_PREFIX + "GBP": 12600,
        }
    )
    # `donor` with a page of 10 is one Query, backwards: the donor item, then the newest
    # donations, one more than the page to tell whether there is a next.
    items = [donor, *(_donation(index) for index in range(DONATIONS - 1, DONATIONS - 12, -1))]
    return {
        "GetItem": json.dumps({"Item": donor}).encode(),
        "Query": json.dumps({"Items": items, "Count": len(items)}).encode(),
        "TransactWriteItems": b"{}",
        "GetSecretValue": json.dumps(
            {"ARN": LOG_HASH_KEY_SECRET_ARN, "Name": "LogHashKey", "SecretString": "bench-key"}
        ).encode(),
    }


class CannedTransport:
    """A ``before-send`` hook that answers each operation from ``answers``."""

    def __init__(self, canned: Mapping[str, bytes]) -> None:
        self._canned = dict(canned)
        self.sent = 0

    def __call__(self, request: Any, event_name: str, **_: Any) -> Any:
        from botocore.awsrequest import AWSResponse

        self.sent += 1
        operation = event_name.rsplit(".", 1)[-1]
        headers = {"content-type": "application/x-amz-json-1.0", "x-amzn-requestid": "canned"}
        return AWSResponse(request.url, 200, headers, _Body(self._canned[operation]))


def answer_from_canned() -> CannedTransport:
    """Make every client boto3's default session builds from now on answer from ``answers``:
    the clients the service builds at import in Lambda mode, and the minimal app's."""
    import boto3

    transport = CannedTransport(answers())
    boto3.setup_default_session()
    for service in SERVICES:
        boto3.DEFAULT_SESSION.events.register(f"before-send.{service}", transport)  # type: ignore[union-attr]
    return transport


def canned_dynamodb_client(*, as_the_service_configures_it: bool = True) -> DynamoDBClient:
    """A real DynamoDB client that never connects: configured as the service configures it,
    or with botocore's defaults (what the references use)."""
    import boto3

    from donations.container import aws_client_config

    config = aws_client_config() if as_the_service_configures_it else None
    client: DynamoDBClient = boto3.client("dynamodb", config=config)
    client.meta.events.register("before-send.dynamodb", CannedTransport(answers()))
    return client
