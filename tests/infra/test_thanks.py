"""The thank-you pipeline: stream filter, retries, DLQ, encrypted topic, least privilege."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk.assertions import Match

from donations import constants
from infra.constructs.thanks import thank_you_filter_patterns
from tests.infra.conftest import Synthesis

THRESHOLD = constants.DEFAULT_THANK_YOU_THRESHOLD


def _matches(pattern: Any, value: Any, *, present: bool = True) -> bool:
    """The part of Lambda's filter grammar the patterns use: exact values and ``exists``.

    Values compare as JSON values, the way Lambda compares them: a DynamoDB ``N`` is the
    string "2", so it equals "2" and never equals the number 2.
    """
    if isinstance(pattern, dict):
        if not present or not isinstance(value, dict):
            return False
        return all(
            _matches(rule, value.get(key), present=key in value) for key, rule in pattern.items()
        )
    for option in pattern:
        if isinstance(option, dict) and "exists" in option:
            if option["exists"] == present:
                return True
        elif present and option == value:
            return True
    return False


def _wakes(threshold: int, record: dict[str, Any]) -> bool:
    return any(_matches(p, record) for p in thank_you_filter_patterns(threshold))


def _image(sk: str, count: int | None = None, **extra: dict[str, str]) -> dict[str, Any]:
    image: dict[str, Any] = {
        constants.PARTITION_KEY: {"S": f"{constants.DONOR_KEY_PREFIX}d-1"},
        constants.SORT_KEY: {"S": sk},
        **extra,
    }
    if count is not None:
        image[constants.DONATION_COUNT_ATTRIBUTE] = {"N": str(count)}
    return image


def _other_image(pk: str, sk: str, count: int | None = None) -> dict[str, Any]:
    image = _image(sk, count)
    image[constants.PARTITION_KEY] = {"S": pk}
    return image


def _record(event: str, new: dict[str, Any] | None, old: dict[str, Any] | None) -> dict[str, Any]:
    image = new or old
    assert image is not None
    body: dict[str, Any] = {
        "Keys": {k: image[k] for k in (constants.PARTITION_KEY, constants.SORT_KEY)},
        "StreamViewType": "NEW_AND_OLD_IMAGES",
    }
    if new is not None:
        body["NewImage"] = new
    if old is not None:
        body["OldImage"] = old
    return {"eventName": event, "eventSource": "aws:dynamodb", "dynamodb": body}


DONOR = constants.DONOR_SORT_KEY
THANKED = {constants.THANKED_AT_ATTRIBUTE: {"S": "2026-11-22T10:00:00Z"}}


@pytest.mark.parametrize(
    ("description", "record", "wakes"),
    [
        ("first donation creates the donor", _record("INSERT", _image(DONOR, 1), None), False),
        ("second donation: 1 -> 2", _record("MODIFY", _image(DONOR, 2), _image(DONOR, 1)), True),
        ("third donation: 2 -> 3", _record("MODIFY", _image(DONOR, 3), _image(DONOR, 2)), False),
        (
            "the consumer's own thanked mark: 2 -> 2",
            _record("MODIFY", _image(DONOR, 2, **THANKED), _image(DONOR, 2)),
            False,
        ),
        (
            "a donation item, whatever it holds",
            _record("INSERT", _image(f"{constants.DONATION_KEY_PREFIX}x", 2), None),
            False,
        ),
        ("donor deleted", _record("REMOVE", None, _image(DONOR, 2)), False),
        # What `make forget` writes: removals of every item, and additions to the totals.
        ("forgotten donor at 1", _record("REMOVE", None, _image(DONOR, 1)), False),
        (
            "forgotten donation",
            _record("REMOVE", None, _image(f"{constants.DONATION_KEY_PREFIX}x")),
            False,
        ),
        (
            "forgotten idempotency marker",
            _record("REMOVE", None, _other_image("IDEMPOTENCY#k", "IDEMPOTENCY")),
            False,
        ),
        (
            "anonymous monthly total: 1 -> 2",
            _record(
                "MODIFY",
                _other_image("ERASED#2026-11", "ERASED", 2),
                _other_image("ERASED#2026-11", "ERASED", 1),
            ),
            False,
        ),
        (
            "a donor item that had no count reaches the threshold",
            _record("MODIFY", _image(DONOR, 2), _image(DONOR)),
            True,
        ),
    ],
)
def test_the_stream_filter_wakes_the_function_only_when_a_donor_reaches_the_threshold(
    description: str, record: dict[str, Any], wakes: bool
) -> None:
    assert _wakes(THRESHOLD, record) is wakes, description


def test_the_filter_follows_a_configured_threshold() -> None:
    assert _wakes(1, _record("INSERT", _image(DONOR, 1), None))
    assert _wakes(3, _record("MODIFY", _image(DONOR, 3), _image(DONOR, 2)))
    assert not _wakes(3, _record("MODIFY", _image(DONOR, 2), _image(DONOR, 1)))


def test_the_filter_never_uses_numeric_matching() -> None:
    # Lambda sees a stream's N values as strings, so a "numeric" rule would never match
    # and no donor would ever be thanked.
    assert "numeric" not in json.dumps(thank_you_filter_patterns(THRESHOLD))


def test_the_event_source_mapping_is_filtered_bounded_and_has_a_dlq(
    every_stage: Synthesis,
) -> None:
    threshold = int(
        every_stage.function(constants.THANK_YOU_HANDLER)["Environment"]["Variables"][
            constants.ENV_THANK_YOU_THRESHOLD
        ]
    )
    table_id, _ = every_stage.only("AWS::DynamoDB::Table")
    queue_id, _ = every_stage.only("AWS::SQS::Queue")
    every_stage.template.has_resource_properties(
        "AWS::Lambda::EventSourceMapping",
        {
            "FunctionName": {"Ref": every_stage.function_id(constants.THANK_YOU_HANDLER)},
            "EventSourceArn": {"Fn::GetAtt": [table_id, "StreamArn"]},
            "StartingPosition": "TRIM_HORIZON",
            "BisectBatchOnFunctionError": True,
            "MaximumRetryAttempts": 5,
            "MaximumRecordAgeInSeconds": 3600,
            "FunctionResponseTypes": ["ReportBatchItemFailures"],
            "ParallelizationFactor": 1,
            "DestinationConfig": {"OnFailure": {"Destination": {"Fn::GetAtt": [queue_id, "Arn"]}}},
            "FilterCriteria": {
                "Filters": [
                    {"Pattern": Match.serialized_json(pattern)}
                    for pattern in thank_you_filter_patterns(threshold)
                ]
            },
            "MetricsConfig": {"Metrics": ["EventCount"]},
        },
    )


def test_the_thank_you_topic_is_encrypted_with_a_rotated_customer_key(
    every_stage: Synthesis,
) -> None:
    topic_ref = every_stage.function(constants.THANK_YOU_HANDLER)["Environment"]["Variables"][
        constants.ENV_TOPIC_ARN
    ]
    topic = every_stage.json["Resources"][topic_ref["Ref"]]["Properties"]
    key_id = topic["KmsMasterKeyId"]["Fn::GetAtt"][0]
    assert every_stage.json["Resources"][key_id]["Type"] == "AWS::KMS::Key"
    assert every_stage.json["Resources"][key_id]["Properties"]["EnableKeyRotation"] is True
    assert topic["SignatureVersion"] == "2"


def _denies_insecure_transport(statements: list[dict[str, Any]]) -> bool:
    return any(
        statement["Effect"] == "Deny"
        and statement.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}}
        for statement in statements
    )


def test_every_topic_and_queue_refuses_requests_without_tls(every_stage: Synthesis) -> None:
    topics = set(every_stage.resources("AWS::SNS::Topic"))
    for policy in every_stage.resources("AWS::SNS::TopicPolicy").values():
        assert _denies_insecure_transport(policy["Properties"]["PolicyDocument"]["Statement"])
        topics -= {ref["Ref"] for ref in policy["Properties"]["Topics"]}
    assert topics == set(), "topics without a TLS-only policy"
    queues = set(every_stage.resources("AWS::SQS::Queue"))
    for policy in every_stage.resources("AWS::SQS::QueuePolicy").values():
        assert _denies_insecure_transport(policy["Properties"]["PolicyDocument"]["Statement"])
        queues -= {ref["Ref"] for ref in policy["Properties"]["Queues"]}
    assert queues == set(), "queues without a TLS-only policy"


def test_the_dead_letter_queue_is_encrypted_and_keeps_failures_for_14_days(
    every_stage: Synthesis,
) -> None:
    every_stage.template.has_resource_properties(
        "AWS::SQS::Queue",
        {"SqsManagedSseEnabled": True, "MessageRetentionPeriod": 14 * 24 * 3600},
    )


def _actions(statement: dict[str, Any]) -> set[str]:
    actions = statement["Action"]
    return {actions} if isinstance(actions, str) else set(actions)


def _allowed(statements: list[dict[str, Any]]) -> set[str]:
    return {a for s in statements if s["Effect"] == "Allow" for a in _actions(s)}


# Actions that support no resource-level permission: the only ones allowed on "*".
UNSCOPABLE = {"xray:PutTraceSegments", "xray:PutTelemetryRecords", "dynamodb:ListStreams"}


def test_the_api_role_can_read_and_write_the_table_and_nothing_else(
    every_stage: Synthesis,
) -> None:
    allowed = _allowed(every_stage.role_statements(constants.API_HANDLER))
    assert {"dynamodb:GetItem", "dynamodb:Query", "dynamodb:PutItem"} <= allowed
    assert "dynamodb:UpdateItem" in allowed
    assert not {a for a in allowed if a.startswith(("sns:", "kms:", "sqs:"))}
    # Besides the table, only the log-hash key, read-only (test_functions.py).
    assert {a for a in allowed if a.startswith("secretsmanager:")} <= {
        "secretsmanager:GetSecretValue",
        "secretsmanager:DescribeSecret",
    }
    # Forgetting a donor is an operator's command with the operator's credentials.
    deletes = {"dynamodb:DeleteItem", "dynamodb:BatchWriteItem"}
    assert not {"dynamodb:Scan", "dynamodb:GetRecords", *deletes} & allowed
    assert not {a for a in allowed if "*" in a}


def test_the_thank_you_role_publishes_to_its_topic_only(every_stage: Synthesis) -> None:
    statements = every_stage.role_statements(constants.THANK_YOU_HANDLER)
    topic_ref = every_stage.function(constants.THANK_YOU_HANDLER)["Environment"]["Variables"][
        constants.ENV_TOPIC_ARN
    ]
    publish = [s for s in statements if "sns:Publish" in _actions(s)]
    assert [s["Resource"] for s in publish] == [topic_ref]
    table_writes = _allowed(
        [s for s in statements if _actions(s) & {"dynamodb:UpdateItem", "dynamodb:PutItem"}]
    )
    assert table_writes == {"dynamodb:GetItem", "dynamodb:UpdateItem"}


@pytest.mark.parametrize("handler", [constants.API_HANDLER, constants.THANK_YOU_HANDLER])
def test_only_unscopable_actions_are_granted_on_every_resource(
    every_stage: Synthesis, handler: str
) -> None:
    for statement in every_stage.role_statements(handler):
        if statement["Resource"] == "*":
            assert _actions(statement) <= UNSCOPABLE, statement
