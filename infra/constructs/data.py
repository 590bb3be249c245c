from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from constructs import Construct

from donations import constants

# What the API's adapter calls: a TransactWriteItems is authorised per item as PutItem,
# UpdateItem and ConditionCheckItem; reads are GetItem and Query. No Scan, no DeleteItem.
API_TABLE_ACTIONS = (
    "dynamodb:GetItem",
    "dynamodb:Query",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:ConditionCheckItem",
)
# The thank-you consumer re-reads the donor and sets the conditional "thanked" mark.
THANK_YOU_TABLE_ACTIONS = ("dynamodb:GetItem", "dynamodb:UpdateItem")


class DonationsData(Construct):
    """The single table: donors, donations and idempotency markers (see the data model)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        removal_policy: RemovalPolicy,
        deletion_protection: bool,
    ) -> None:
        super().__init__(scope, construct_id)
        # dynamodb.Table rather than TableV2: cdk-nag's PITR rule only inspects
        # AWS::DynamoDB::Table, and a single-region table gains nothing from GlobalTable.
        self.table = dynamodb.Table(
            self,
            "Table",
            partition_key=dynamodb.Attribute(
                name=constants.PARTITION_KEY, type=dynamodb.AttributeType.STRING
            ),
            sort_key=dynamodb.Attribute(
                name=constants.SORT_KEY, type=dynamodb.AttributeType.STRING
            ),
            # On-demand: no capacity planning, scales per request, and costs nothing idle.
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            # The thank-you rule compares the donor's count before and after each change.
            stream=dynamodb.StreamViewType.NEW_AND_OLD_IMAGES,
            # Idempotency markers carry their expiry: DynamoDB deletes them for free some
            # time after it (the API already treats a lapsed marker as absent).
            time_to_live_attribute=constants.EXPIRES_AT_ATTRIBUTE,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            # AWS-managed key: donor data is encrypted under a key whose every use shows in
            # CloudTrail, without the KMS request cost of a customer key on each read.
            encryption=dynamodb.TableEncryption.AWS_MANAGED,
            deletion_protection=deletion_protection,
            removal_policy=removal_policy,
        )

    def grant_api_access(self, grantee: iam.IGrantable) -> None:
        self.table.grant(grantee, *API_TABLE_ACTIONS)

    def grant_thank_you_access(self, grantee: iam.IGrantable) -> None:
        self.table.grant(grantee, *THANK_YOU_TABLE_ACTIONS)
