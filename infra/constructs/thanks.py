from __future__ import annotations

from typing import Any

from aws_cdk import Acknowledgment, Duration, RemovalPolicy, Validations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as event_sources
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from donations import constants
from infra.constructs.data import DonationsData
from infra.constructs.function import FunctionSpec, ServiceFunction

# A stream batch is retried this many times (each failing half again, with bisection) before
# its position is sent to the DLQ. Unbounded retries would stall every donor on the shard
# behind one poisoned record; five spans an SNS blip without blocking the shard for long.
STREAM_RETRY_ATTEMPTS = 5
# After an hour the donor is better served by the DLQ alarm and `make redrive` than by
# more retries; the stream itself keeps records for 24 hours.
STREAM_MAX_RECORD_AGE = Duration.hours(1)
# Crossing records are one per donor lifetime, so batches stay small and a bisected retry
# reaches the bad record in at most four splits.
STREAM_BATCH_SIZE = 10


def thank_you_filter_patterns(threshold: int) -> list[dict[str, Any]]:
    """Lambda event filters that let through only the change where a donor reaches the threshold.

    Lambda compares a DynamoDB stream's ``N`` values as strings: a ``numeric`` filter never
    matches them, so ``>=`` can't be expressed. Each recorded donation raises the count with
    ``ADD donationCount :1``, so the crossing is exactly the change whose new count equals the
    threshold and whose old count was one less (or absent, for a new donor or a donor item
    written before counting). The "thanked" mark that the consumer writes leaves the count
    unchanged, so it never re-triggers the function. The consumer still checks the crossing
    itself, and `make redrive` finds any donor a filter could not see.
    """
    donor_key = {constants.SORT_KEY: {"S": [constants.DONOR_SORT_KEY]}}
    reached = {constants.DONATION_COUNT_ATTRIBUTE: {"N": [str(threshold)]}}
    patterns: list[dict[str, Any]] = [
        {
            "eventName": ["INSERT"],
            "dynamodb": {"Keys": donor_key, "NewImage": reached},
        },
        {
            "eventName": ["MODIFY"],
            "dynamodb": {
                "Keys": donor_key,
                "NewImage": reached,
                "OldImage": {constants.DONATION_COUNT_ATTRIBUTE: [{"exists": False}]},
            },
        },
    ]
    if threshold > 1:
        below = {constants.DONATION_COUNT_ATTRIBUTE: {"N": [str(threshold - 1)]}}
        patterns.append(
            {
                "eventName": ["MODIFY"],
                "dynamodb": {"Keys": donor_key, "NewImage": reached, "OldImage": below},
            }
        )
    return patterns


class ThankYouPipeline(Construct):
    """Donor changes → filtered stream → thank-you function → encrypted SNS topic (+ DLQ)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        data: DonationsData,
        code: lambda_.Code,
        threshold: int,
        reserved_concurrency: int | None,
        removal_policy: RemovalPolicy,
        common_environment: dict[str, str],
    ) -> None:
        super().__init__(scope, construct_id)
        self.key = kms.Key(
            self,
            "MessagesKey",
            description="Encrypts the thank-you and alarm topics (donor messages at rest)",
            enable_key_rotation=True,
            removal_policy=removal_policy,
        )
        self.topic = sns.Topic(
            self,
            "ThankYouTopic",
            display_name="Thank you for your donations",
            master_key=self.key,
            enforce_ssl=True,
            # SHA256 signatures for HTTP/S and e-mail subscribers to verify.
            signature_version="2",
        )
        # The on-failure destination receives the batch's shard and sequence numbers, not
        # donor data; SQS-managed encryption covers it at rest without a key policy to keep.
        self.dead_letter_queue = sqs.Queue(
            self,
            "ThankYouDeadLetterQueue",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=Duration.days(14),
            removal_policy=removal_policy,
        )
        Validations.of(self.dead_letter_queue).acknowledge(
            Acknowledgment(
                id="AwsSolutions-SQS3",
                reason=(
                    "This queue is itself the dead-letter destination: the stream mapping's "
                    "on-failure target. Nothing consumes it automatically, so a further DLQ "
                    "would never receive anything; depth >= 1 raises an alarm instead."
                ),
            )
        )
        self.function = ServiceFunction(
            self,
            "ThankYouFunction",
            spec=FunctionSpec(
                handler=constants.THANK_YOU_HANDLER,
                description="Thanks a donor once, when their donation count reaches the threshold",
                # I/O bound (one read, one publish, one conditional write per record) and off
                # the request path, so a cold start costs no user anything: 512 MB suffices.
                memory_mb=512,
                # A batch of 10 records x 3 calls, each with SDK retries, stays far below 60 s;
                # the ceiling only bounds a hung SNS call before the stream retries the batch.
                timeout=Duration.seconds(60),
                reserved_concurrency=reserved_concurrency,
                environment={
                    constants.ENV_TABLE_NAME: data.table.table_name,
                    constants.ENV_TOPIC_ARN: self.topic.topic_arn,
                    constants.ENV_THANK_YOU_THRESHOLD: str(threshold),
                },
            ),
            code=code,
            removal_policy=removal_policy,
            common_environment=common_environment,
        )
        fn = self.function.function
        data.grant_thank_you_access(fn)
        # grant_publish also grants kms:GenerateDataKey*/Decrypt on the topic's key.
        self.topic.grant_publish(fn)
        self.event_source = event_sources.DynamoEventSource(
            data.table,
            # TRIM_HORIZON: a donor who crosses the threshold while the mapping is being
            # created (first deploy, re-enable after an incident) is still thanked.
            starting_position=lambda_.StartingPosition.TRIM_HORIZON,
            batch_size=STREAM_BATCH_SIZE,
            bisect_batch_on_error=True,
            retry_attempts=STREAM_RETRY_ATTEMPTS,
            max_record_age=STREAM_MAX_RECORD_AGE,
            report_batch_item_failures=True,
            # One batch per shard at a time keeps each donor's changes in order. Matching
            # records are rare (one per donor, ever); if iterator age still grows, raise this
            # to 10: Lambda keeps per-key order at any parallelisation factor.
            parallelization_factor=1,
            on_failure=event_sources.SqsDlq(self.dead_letter_queue),
            filters=[
                lambda_.FilterCriteria.filter(pattern)
                for pattern in thank_you_filter_patterns(threshold)
            ],
            # Polled / filtered-out / invoked / failed counts: proof in production that the
            # filter lets crossings through, and the first place to look when none arrive.
            metrics_config=lambda_.MetricsConfig(metrics=[lambda_.MetricType.EVENT_COUNT]),
        )
        fn.add_event_source(self.event_source)
        Validations.of(self.function.role).acknowledge(
            Acknowledgment(
                id="AwsSolutions-IAM5[Resource::*]",
                reason=(
                    "Only actions without resource-level permissions use '*': X-Ray "
                    "PutTraceSegments/PutTelemetryRecords and dynamodb:ListStreams. Stream "
                    "reads are scoped to this table's stream ARN (asserted in tests/infra)."
                ),
            ),
            Acknowledgment(
                id="AwsSolutions-IAM5[Action::kms:GenerateDataKey*]",
                reason=(
                    "Publishing to a KMS-encrypted topic needs a data key; the wildcard only "
                    "spans GenerateDataKey variants and the statement is scoped to this one key."
                ),
            ),
        )

    def grant_alarm_encryption(self) -> None:
        # CloudWatch publishes alarm notifications to a topic encrypted with this key.
        self.key.grant(
            iam.ServicePrincipal("cloudwatch.amazonaws.com"), "kms:Decrypt", "kms:GenerateDataKey*"
        )
