"""Stack outputs: the names `make smoke` and the README read."""

from __future__ import annotations

from donations import constants
from tests.infra.conftest import Synthesis


def test_the_stack_outputs_the_url_table_topic_and_dlq(every_stage: Synthesis) -> None:
    outputs = every_stage.json["Outputs"]
    assert {
        constants.OUTPUT_GRAPHQL_URL,
        constants.OUTPUT_TABLE_NAME,
        constants.OUTPUT_TOPIC_ARN,
        constants.OUTPUT_DLQ_URL,
        constants.OUTPUT_LOG_HASH_KEY_SECRET_ARN,
        constants.OUTPUT_DASHBOARD_NAME,
    } <= set(outputs)
    (api_id,) = every_stage.resources("AWS::ApiGatewayV2::Api")
    domain = every_stage.stack.node.try_get_context("domainName")
    if domain:  # the execute-api URL is switched off; callers use the custom domain
        assert outputs[constants.OUTPUT_GRAPHQL_URL]["Value"] == (
            f"https://{domain}{constants.GRAPHQL_PATH}"
        )
    else:
        assert outputs[constants.OUTPUT_GRAPHQL_URL]["Value"] == {
            "Fn::Join": ["", [{"Fn::GetAtt": [api_id, "ApiEndpoint"]}, constants.GRAPHQL_PATH]]
        }
    table_id, _ = every_stage.only("AWS::DynamoDB::Table")
    assert outputs[constants.OUTPUT_TABLE_NAME]["Value"] == {"Ref": table_id}
    queue_id, _ = every_stage.only("AWS::SQS::Queue")
    assert outputs[constants.OUTPUT_DLQ_URL]["Value"] == {"Ref": queue_id}
    topic_ref = every_stage.function(constants.THANK_YOU_HANDLER)["Environment"]["Variables"][
        constants.ENV_TOPIC_ARN
    ]
    assert outputs[constants.OUTPUT_TOPIC_ARN]["Value"] == topic_ref
