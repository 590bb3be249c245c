"""Both Lambda functions: runtime, architecture, tracing, logging, environment, sizing."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk import App
from aws_cdk.assertions import Match

from donations import constants
from infra.asset import PYTHON_VERSION
from infra.config import load_stage_config
from infra.constructs.function import RUNTIME
from tests.infra.conftest import Synthesis, dumps

HANDLERS = (constants.API_HANDLER, constants.THANK_YOU_HANDLER)
API_GATEWAY_HARD_TIMEOUT_S = 29


# Not the newest runtime CDK knows (3.14): the newest whose bytecode the build can compile
# into the asset (infra/constructs/function.py, infra/asset.py).
EXPECTED_RUNTIME = "python3.13"


def test_the_runtime_is_python_3_13_the_newest_the_asset_can_ship_bytecode_for() -> None:
    assert RUNTIME.name == EXPECTED_RUNTIME
    # The bundled wheels are resolved for the same interpreter the functions run.
    assert PYTHON_VERSION == "3.13"


@pytest.mark.parametrize("handler", HANDLERS)
def test_each_function_runs_on_arm64_with_tracing_and_json_logs(
    every_stage: Synthesis, handler: str
) -> None:
    every_stage.template.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Handler": handler,
            "Runtime": EXPECTED_RUNTIME,
            "Architectures": ["arm64"],
            "TracingConfig": {"Mode": "Active"},
            "LoggingConfig": {
                "LogFormat": "JSON",
                "ApplicationLogLevel": "INFO",
                "SystemLogLevel": "INFO",
                "LogGroup": {"Ref": Match.any_value()},
            },
        },
    )


@pytest.mark.parametrize("handler", HANDLERS)
def test_each_function_logs_to_its_own_group_kept_30_days(
    every_stage: Synthesis, handler: str
) -> None:
    log_group_id = every_stage.function(handler)["LoggingConfig"]["LogGroup"]["Ref"]
    log_group = every_stage.json["Resources"][log_group_id]
    assert log_group["Type"] == "AWS::Logs::LogGroup"
    assert log_group["Properties"]["RetentionInDays"] == 30


def test_log_groups_are_deleted_with_a_dev_stack_and_kept_in_prod(
    dev: Synthesis, prod: Synthesis
) -> None:
    for synthesis, policy in ((dev, "Delete"), (prod, "Retain")):
        for log_group in synthesis.resources("AWS::Logs::LogGroup").values():
            assert log_group["DeletionPolicy"] == policy


@pytest.mark.parametrize("handler", HANDLERS)
def test_each_function_gets_the_shared_observability_settings(
    every_stage: Synthesis, handler: str
) -> None:
    every_stage.template.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Handler": handler,
            "Environment": {
                "Variables": Match.object_like(
                    {
                        "POWERTOOLS_SERVICE_NAME": constants.SERVICE_NAME,
                        "POWERTOOLS_METRICS_NAMESPACE": constants.METRICS_NAMESPACE,
                        "POWERTOOLS_LOG_LEVEL": "INFO",
                        "POWERTOOLS_TRACER_CAPTURE_RESPONSE": "false",
                        constants.ENV_STAGE: every_stage.stack.node.try_get_context("stage"),
                        constants.ENV_TABLE_NAME: {"Ref": Match.string_like_regexp("Table")},
                        # Where to read the key at start-up; never the key itself.
                        constants.ENV_LOG_HASH_KEY_SECRET_ARN: {
                            "Ref": Match.string_like_regexp("LogHashKey")
                        },
                    }
                )
            },
        },
    )


@pytest.mark.parametrize("handler", HANDLERS)
def test_the_log_hash_key_is_read_at_start_up_not_passed_in_the_environment(
    every_stage: Synthesis, handler: str
) -> None:
    variables = every_stage.function(handler)["Environment"]["Variables"]
    # lambda:GetFunctionConfiguration shows the environment: it must hold no secret.
    assert constants.ENV_LOG_HASH_KEY not in variables
    assert "{{resolve:secretsmanager" not in dumps(variables)
    secret_ref = variables[constants.ENV_LOG_HASH_KEY_SECRET_ARN]
    (secret_id,) = every_stage.resources("AWS::SecretsManager::Secret")
    assert secret_ref == {"Ref": secret_id}
    reads = [
        statement
        for statement in every_stage.role_statements(handler)
        if "secretsmanager:GetSecretValue" in _actions(statement)
    ]
    assert reads, "the function's role must be able to read the log-hash key"
    assert all(statement["Resource"] == secret_ref for statement in reads)


def _actions(statement: dict[str, Any]) -> set[str]:
    action = statement["Action"]
    return {action} if isinstance(action, str) else set(action)


def test_graphiql_and_introspection_are_on_in_dev_and_off_in_prod(
    dev: Synthesis, prod: Synthesis
) -> None:
    for synthesis, expected in ((dev, "true"), (prod, "false")):
        variables = synthesis.function(constants.API_HANDLER)["Environment"]["Variables"]
        assert variables[constants.ENV_GRAPHIQL] == expected
        assert variables[constants.ENV_INTROSPECTION] == expected


def test_only_the_thank_you_function_knows_the_topic_and_threshold(
    dev: Synthesis, options: Synthesis
) -> None:
    api = dev.function(constants.API_HANDLER)["Environment"]["Variables"]
    thanks = dev.function(constants.THANK_YOU_HANDLER)["Environment"]["Variables"]
    assert constants.ENV_TOPIC_ARN not in api
    topic_id = thanks[constants.ENV_TOPIC_ARN]["Ref"]
    assert dev.json["Resources"][topic_id]["Type"] == "AWS::SNS::Topic"
    assert thanks[constants.ENV_THANK_YOU_THRESHOLD] == str(constants.DEFAULT_THANK_YOU_THRESHOLD)
    options_thanks = options.function(constants.THANK_YOU_HANDLER)["Environment"]["Variables"]
    assert options_thanks[constants.ENV_THANK_YOU_THRESHOLD] == "3"


def test_the_api_gets_the_idempotency_window_from_the_stage_context(
    dev: Synthesis, options: Synthesis
) -> None:
    for synthesis, hours in ((dev, constants.DEFAULT_IDEMPOTENCY_WINDOW_HOURS), (options, 48)):
        variables = synthesis.function(constants.API_HANDLER)["Environment"]["Variables"]
        assert variables[constants.ENV_IDEMPOTENCY_WINDOW_HOURS] == str(hours)


def test_the_api_times_out_well_before_api_gateway_does(every_stage: Synthesis) -> None:
    api = every_stage.function(constants.API_HANDLER)
    assert api["Timeout"] <= API_GATEWAY_HARD_TIMEOUT_S / 2
    assert api["MemorySize"] == 1024
    thanks = every_stage.function(constants.THANK_YOU_HANDLER)
    assert thanks["Timeout"] == 60
    assert thanks["MemorySize"] == 512


def test_both_functions_run_the_same_asset(every_stage: Synthesis) -> None:
    codes = {str(every_stage.function(handler)["Code"]["S3Key"]) for handler in HANDLERS}
    assert len(codes) == 1


def test_prod_reserves_concurrency_for_both_functions_so_an_api_burst_cannot_starve_thanks(
    dev: Synthesis, prod: Synthesis, options: Synthesis
) -> None:
    # Sized in docs/performance.md ("Capacity"); dev reserves nothing.
    for handler in HANDLERS:
        assert "ReservedConcurrentExecutions" not in dev.function(handler)
    assert prod.function(constants.API_HANDLER)["ReservedConcurrentExecutions"] == 200
    assert prod.function(constants.THANK_YOU_HANDLER)["ReservedConcurrentExecutions"] == 10
    assert options.function(constants.API_HANDLER)["ReservedConcurrentExecutions"] == 200
    assert options.function(constants.THANK_YOU_HANDLER)["ReservedConcurrentExecutions"] == 5


def test_a_stage_reservation_can_be_lifted_from_the_command_line() -> None:
    lifted = {
        "stage": "prod",
        "authorization": "iam",
        "apiReservedConcurrency": "none",
        "thankYouReservedConcurrency": "none",
    }

    config = load_stage_config(App(context=lifted).node)

    assert (config.api_reserved_concurrency, config.thank_you_reserved_concurrency) == (None, None)


def test_snap_start_is_on_in_prod_on_published_versions_and_off_in_dev(
    dev: Synthesis, prod: Synthesis, options: Synthesis
) -> None:
    assert "SnapStart" not in dev.function(constants.API_HANDLER)
    assert "SnapStart" not in prod.function(constants.THANK_YOU_HANDLER)
    for synthesis in (prod, options):
        assert synthesis.function(constants.API_HANDLER)["SnapStart"] == {
            "ApplyOn": "PublishedVersions"
        }
    # SnapStart only runs on published versions, so the API always invokes an alias.
    options.template.has_resource_properties(
        "AWS::Lambda::Alias",
        {
            "Name": "live",
            "FunctionName": {"Ref": options.function_id(constants.API_HANDLER)},
            "FunctionVersion": {"Fn::GetAtt": [Match.any_value(), "Version"]},
        },
    )
