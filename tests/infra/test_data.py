"""The table: keys, billing, stream, recovery, encryption and what happens on delete."""

from __future__ import annotations

from aws_cdk.assertions import Match

from donations import constants
from tests.infra.conftest import Synthesis


def test_the_table_has_the_shared_key_schema(every_stage: Synthesis) -> None:
    every_stage.template.has_resource_properties(
        "AWS::DynamoDB::Table",
        {
            "KeySchema": [
                {"AttributeName": constants.PARTITION_KEY, "KeyType": "HASH"},
                {"AttributeName": constants.SORT_KEY, "KeyType": "RANGE"},
            ],
            "AttributeDefinitions": Match.array_equals(
                [
                    {"AttributeName": constants.PARTITION_KEY, "AttributeType": "S"},
                    {"AttributeName": constants.SORT_KEY, "AttributeType": "S"},
                ]
            ),
        },
    )


def test_the_table_is_on_demand_with_old_and_new_images_on_its_stream(
    every_stage: Synthesis,
) -> None:
    every_stage.template.has_resource_properties(
        "AWS::DynamoDB::Table",
        {
            "BillingMode": "PAY_PER_REQUEST",
            "ProvisionedThroughput": Match.absent(),
            "StreamSpecification": {"StreamViewType": "NEW_AND_OLD_IMAGES"},
        },
    )


def test_idempotency_markers_expire_through_dynamodb_ttl_on_the_shared_attribute(
    every_stage: Synthesis,
) -> None:
    every_stage.template.has_resource_properties(
        "AWS::DynamoDB::Table",
        {
            "TimeToLiveSpecification": {
                "AttributeName": constants.EXPIRES_AT_ATTRIBUTE,
                "Enabled": True,
            }
        },
    )


def test_the_table_has_point_in_time_recovery_and_encryption(every_stage: Synthesis) -> None:
    every_stage.template.has_resource_properties(
        "AWS::DynamoDB::Table",
        {
            "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
            "SSESpecification": {"SSEEnabled": True},
        },
    )


def test_a_dev_table_is_deleted_with_its_stack(dev: Synthesis) -> None:
    dev.template.has_resource(
        "AWS::DynamoDB::Table",
        {
            "DeletionPolicy": "Delete",
            "UpdateReplacePolicy": "Delete",
            "Properties": Match.object_like({"DeletionProtectionEnabled": False}),
        },
    )


def test_a_prod_table_is_retained_and_protected_from_deletion(prod: Synthesis) -> None:
    prod.template.has_resource(
        "AWS::DynamoDB::Table",
        {
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
            "Properties": Match.object_like({"DeletionProtectionEnabled": True}),
        },
    )


def test_nothing_stateful_is_deleted_with_a_prod_stack(prod: Synthesis) -> None:
    for resource_type in (
        "AWS::DynamoDB::Table",
        "AWS::SQS::Queue",
        "AWS::KMS::Key",
        "AWS::Logs::LogGroup",
        "AWS::SecretsManager::Secret",
    ):
        for logical_id, resource in prod.resources(resource_type).items():
            assert resource.get("DeletionPolicy") == "Retain", logical_id
