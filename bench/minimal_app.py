"""The same-stack minimal app: the smallest Lambda function this stack allows, as a yardstick.

A one-field Strawberry schema whose resolver makes the same consistent ``GetItem`` as our
``donationCount``, served by Strawberry's ASGI app through Mangum, with its boto3 client (with
botocore's defaults) built at import and Powertools imported but not used. It has none of
what the service adds: no logging, metrics or tracing, no caches or limits, no domain rules.
Our cold start and warm request are measured against it (bench/cold_start.py, bench/warm.py).
"""

from __future__ import annotations

import os

import boto3
import strawberry
from aws_lambda_powertools import Logger, Metrics, Tracer  # noqa: F401 - imported, as the stack does
from mangum import Mangum
from strawberry.asgi import GraphQL

from donations.constants import (
    DONATION_COUNT_ATTRIBUTE,
    DONOR_KEY_PREFIX,
    DONOR_SORT_KEY,
    ENV_TABLE_NAME,
    PARTITION_KEY,
    SORT_KEY,
)

TABLE_NAME = os.environ[ENV_TABLE_NAME]
dynamodb = boto3.client("dynamodb")


@strawberry.type
class Query:
    @strawberry.field
    def donation_count(self, donor_id: strawberry.ID) -> int:
        item = dynamodb.get_item(
            TableName=TABLE_NAME,
            Key={
                PARTITION_KEY: {"S": DONOR_KEY_PREFIX + donor_id},
                SORT_KEY: {"S": DONOR_SORT_KEY},
            },
            ProjectionExpression=DONATION_COUNT_ATTRIBUTE,
            ConsistentRead=True,
        ).get("Item")
        return int(item[DONATION_COUNT_ATTRIBUTE]["N"]) if item else 0


handler = Mangum(GraphQL(strawberry.Schema(query=Query)), lifespan="off")
