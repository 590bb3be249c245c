"""Alarms to an encrypted topic, and the dashboard on-call opens first."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk.assertions import Match

from donations import constants
from infra.constructs.monitoring import API_5XX_PERCENT, ITERATOR_AGE_MS
from tests.infra.conftest import Synthesis


def _alarm_topic_id(synthesis: Synthesis) -> str:
    function_topics = {
        synthesis.function(constants.THANK_YOU_HANDLER)["Environment"]["Variables"][
            constants.ENV_TOPIC_ARN
        ]["Ref"]
    }
    (alarm_topic,) = set(synthesis.resources("AWS::SNS::Topic")) - function_topics
    return alarm_topic


def _alarms_on(synthesis: Synthesis, metric_name: str) -> list[dict[str, Any]]:
    return [
        alarm["Properties"]
        for alarm in synthesis.resources("AWS::CloudWatch::Alarm").values()
        if alarm["Properties"].get("MetricName") == metric_name
    ]


def test_every_alarm_notifies_the_alarm_topic_on_alarm_and_recovery(
    every_stage: Synthesis,
) -> None:
    topic = {"Ref": _alarm_topic_id(every_stage)}
    alarms = every_stage.resources("AWS::CloudWatch::Alarm").values()
    for alarm in alarms:
        assert alarm["Properties"]["AlarmActions"] == [topic]
        assert alarm["Properties"]["OKActions"] == [topic]
        assert alarm["Properties"]["TreatMissingData"] == "notBreaching"


def test_the_alarm_topic_is_encrypted_and_cloudwatch_may_publish_to_it(
    every_stage: Synthesis,
) -> None:
    topic_id = _alarm_topic_id(every_stage)
    topic = every_stage.json["Resources"][topic_id]["Properties"]
    assert "KmsMasterKeyId" in topic
    every_stage.template.has_resource_properties(
        "AWS::SNS::TopicPolicy",
        {
            "Topics": [{"Ref": topic_id}],
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Effect": "Allow",
                                "Principal": {"Service": "cloudwatch.amazonaws.com"},
                                "Action": "sns:Publish",
                            }
                        )
                    ]
                )
            },
        },
    )
    every_stage.template.has_resource_properties(
        "AWS::KMS::Key",
        {
            "KeyPolicy": {
                "Statement": Match.array_with(
                    [Match.object_like({"Principal": {"Service": "cloudwatch.amazonaws.com"}})]
                )
            }
        },
    )


def test_the_api_5xx_rate_alarm_divides_5xx_by_requests(every_stage: Synthesis) -> None:
    (api_id,) = every_stage.resources("AWS::ApiGatewayV2::Api")
    every_stage.template.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "Threshold": API_5XX_PERCENT,
            "ComparisonOperator": "GreaterThanOrEqualToThreshold",
            "Metrics": Match.array_with(
                [
                    Match.object_like(
                        {"Expression": Match.string_like_regexp("100 \\* serverErrors / requests")}
                    ),
                    Match.object_like(
                        {
                            "MetricStat": Match.object_like(
                                {"Metric": Match.object_like({"MetricName": "Count"})}
                            )
                        }
                    ),
                    Match.object_like(
                        {
                            "MetricStat": Match.object_like(
                                {
                                    "Metric": {
                                        "Namespace": "AWS/ApiGateway",
                                        "MetricName": "5xx",
                                        "Dimensions": [{"Name": "ApiId", "Value": {"Ref": api_id}}],
                                    }
                                }
                            )
                        }
                    ),
                ]
            ),
        },
    )


@pytest.mark.parametrize("metric_name", ["Errors", "Throttles"])
@pytest.mark.parametrize("handler", [constants.API_HANDLER, constants.THANK_YOU_HANDLER])
def test_each_function_has_error_and_throttle_alarms(
    every_stage: Synthesis, metric_name: str, handler: str
) -> None:
    function_ref = {"Ref": every_stage.function_id(handler)}
    alarms = [
        alarm
        for alarm in _alarms_on(every_stage, metric_name)
        if alarm["Namespace"] == "AWS/Lambda"
        and alarm["Dimensions"] == [{"Name": "FunctionName", "Value": function_ref}]
    ]
    assert len(alarms) == 1
    assert alarms[0]["Threshold"] == 1
    assert alarms[0]["Statistic"] == "Sum"


def test_stream_iterator_age_is_alarmed(every_stage: Synthesis) -> None:
    (alarm,) = _alarms_on(every_stage, "IteratorAge")
    assert alarm["Dimensions"] == [
        {
            "Name": "FunctionName",
            "Value": {"Ref": every_stage.function_id(constants.THANK_YOU_HANDLER)},
        }
    ]
    assert alarm["Statistic"] == "Maximum"
    assert alarm["Threshold"] == ITERATOR_AGE_MS


def test_any_message_in_the_dead_letter_queue_raises_an_alarm(every_stage: Synthesis) -> None:
    queue_id, _ = every_stage.only("AWS::SQS::Queue")
    (alarm,) = _alarms_on(every_stage, "ApproximateNumberOfMessagesVisible")
    assert alarm["Namespace"] == "AWS/SQS"
    assert alarm["Dimensions"][0]["Value"] == {"Fn::GetAtt": [queue_id, "QueueName"]}
    assert alarm["Threshold"] == 1
    assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"


def test_failed_thank_you_notifications_raise_an_alarm(every_stage: Synthesis) -> None:
    topic_ref = every_stage.function(constants.THANK_YOU_HANDLER)["Environment"]["Variables"][
        constants.ENV_TOPIC_ARN
    ]
    (alarm,) = _alarms_on(every_stage, "NumberOfNotificationsFailed")
    assert alarm["Namespace"] == "AWS/SNS"
    assert alarm["Dimensions"] == [
        {"Name": "TopicName", "Value": {"Fn::GetAtt": [topic_ref["Ref"], "TopicName"]}}
    ]
    assert alarm["Threshold"] == 1


def _dashboard_widgets(synthesis: Synthesis) -> list[dict[str, Any]]:
    _, dashboard = synthesis.only("AWS::CloudWatch::Dashboard")
    # The body is a Fn::Join of JSON text and references; references become placeholders.
    parts = dashboard["Properties"]["DashboardBody"]["Fn::Join"][1]
    text = "".join(part if isinstance(part, str) else "REF" for part in parts)
    widgets: list[dict[str, Any]] = json.loads(text)["widgets"]
    return widgets


def test_the_dashboard_shows_the_figures_on_call_looks_at_first(every_stage: Synthesis) -> None:
    widgets = _dashboard_widgets(every_stage)
    assert widgets[0]["type"] == "alarm"
    assert len(widgets[0]["properties"]["alarms"]) == len(
        every_stage.resources("AWS::CloudWatch::Alarm")
    )
    plotted = json.dumps([w["properties"].get("metrics", []) for w in widgets])
    for figure in (
        "5xx",
        "Latency",
        "IntegrationLatency",
        "Invocations",
        "Errors",
        "Throttles",
        "Duration",
        "ConcurrentExecutions",
        "IteratorAge",
        "FilteredOutEventCount",
        "DroppedEventCount",
        "NumberOfNotificationsFailed",
        "ApproximateNumberOfMessagesVisible",
        "WriteThrottleEvents",
        "DonationRecorded",
        "ThankYouSent",
        "ThankYouFailed",
    ):
        assert f'"{figure}"' in plotted, figure
    assert f'"{constants.METRICS_NAMESPACE}"' in plotted
