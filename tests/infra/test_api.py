"""The HTTP API: two routes, throttled $default stage, JSON access logs, CORS, authorisers."""

from __future__ import annotations

import json

from aws_cdk.assertions import Match

from donations import constants
from infra.constructs.api import ACCESS_LOG_FIELDS
from tests.infra.conftest import Synthesis


def test_only_post_and_get_graphql_are_routed(every_stage: Synthesis) -> None:
    route_keys = {
        route["Properties"]["RouteKey"]
        for route in every_stage.resources("AWS::ApiGatewayV2::Route").values()
    }
    assert route_keys == {f"POST {constants.GRAPHQL_PATH}", f"GET {constants.GRAPHQL_PATH}"}


def test_both_routes_invoke_the_api_alias_through_a_proxy_integration(
    every_stage: Synthesis,
) -> None:
    (alias_id,) = every_stage.resources("AWS::Lambda::Alias")
    every_stage.template.has_resource_properties(
        "AWS::ApiGatewayV2::Integration",
        {
            "IntegrationType": "AWS_PROXY",
            "PayloadFormatVersion": "2.0",
            "IntegrationUri": {"Ref": alias_id},
            "TimeoutInMillis": 12_000,
        },
    )
    every_stage.template.has_resource_properties(
        "AWS::Lambda::Permission",
        {
            "Action": "lambda:InvokeFunction",
            "FunctionName": {"Ref": alias_id},
            "Principal": "apigateway.amazonaws.com",
        },
    )


def test_the_default_stage_auto_deploys_with_throttling(
    dev: Synthesis, prod: Synthesis, options: Synthesis
) -> None:
    # Prod admits 1.5x the 1,000 requests/s design peak (docs/performance.md, "Capacity").
    for synthesis, rate, burst in ((dev, 50, 100), (prod, 1500, 3000), (options, 250, 500)):
        synthesis.template.has_resource_properties(
            "AWS::ApiGatewayV2::Stage",
            {
                "StageName": "$default",
                "AutoDeploy": True,
                "DefaultRouteSettings": {
                    "ThrottlingRateLimit": rate,
                    "ThrottlingBurstLimit": burst,
                },
            },
        )


def test_access_logs_are_json_with_the_request_id_status_and_latency(
    every_stage: Synthesis,
) -> None:
    _, stage = every_stage.only("AWS::ApiGatewayV2::Stage")
    settings = stage["Properties"]["AccessLogSettings"]
    log_group_id = settings["DestinationArn"]["Fn::GetAtt"][0]
    log_group = every_stage.json["Resources"][log_group_id]
    assert log_group["Properties"]["RetentionInDays"] == 30
    fields = json.loads(settings["Format"])
    assert fields == ACCESS_LOG_FIELDS
    for name, variable in {
        "requestId": "$context.requestId",
        "ip": "$context.identity.sourceIp",
        "httpMethod": "$context.httpMethod",
        "routeKey": "$context.routeKey",
        "status": "$context.status",
        "responseLatency": "$context.responseLatency",
        "integrationError": "$context.integrationErrorMessage",
    }.items():
        assert fields[name] == variable


def test_access_logs_carry_no_request_content(every_stage: Synthesis) -> None:
    _, stage = every_stage.only("AWS::ApiGatewayV2::Stage")
    log_format = stage["Properties"]["AccessLogSettings"]["Format"]
    for leak in ("requestBody", "querystring", "userAgent", "$input", "$context.path"):
        assert leak not in log_format


def test_dev_allows_any_origin_at_the_gateway(dev: Synthesis) -> None:
    dev.template.has_resource_properties(
        "AWS::ApiGatewayV2::Api",
        {
            "ProtocolType": "HTTP",
            "CorsConfiguration": {
                "AllowOrigins": ["*"],
                "AllowMethods": Match.array_equals(["GET", "POST", "OPTIONS"]),
                "AllowHeaders": Match.array_equals(list(constants.CORS_ALLOWED_HEADERS)),
                "ExposeHeaders": ["x-request-id"],
                "MaxAge": 3600,
            },
        },
    )


def test_prod_allows_only_the_configured_origins(prod: Synthesis, options: Synthesis) -> None:
    # No origins configured: no CORS, so browsers on other sites can't call a prod API.
    prod.template.has_resource_properties(
        "AWS::ApiGatewayV2::Api", {"CorsConfiguration": Match.absent()}
    )
    options.template.has_resource_properties(
        "AWS::ApiGatewayV2::Api",
        {
            "CorsConfiguration": Match.object_like(
                {"AllowOrigins": ["https://donate.example.org", "https://www.example.org"]}
            )
        },
    )


def test_routes_are_open_by_default_and_use_the_jwt_authoriser_when_switched_on(
    dev: Synthesis, options: Synthesis
) -> None:
    for route in dev.resources("AWS::ApiGatewayV2::Route").values():
        assert route["Properties"]["AuthorizationType"] == "NONE"
    for route in options.resources("AWS::ApiGatewayV2::Route").values():
        assert route["Properties"]["AuthorizationType"] == "JWT"
    options.template.has_resource_properties(
        "AWS::ApiGatewayV2::Authorizer",
        {
            "AuthorizerType": "JWT",
            "JwtConfiguration": {
                "Issuer": "https://cognito-idp.eu-west-2.amazonaws.com/eu-west-2_example",
                "Audience": ["donations-web"],
            },
        },
    )
