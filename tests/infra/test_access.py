"""Who the deployed gateway lets in, and what the API function is told about it."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk.assertions import Annotations, Match

from donations import constants
from infra.app import build_app
from infra.config import StageConfigError
from tests.infra.conftest import CDK_JSON_CONTEXT, ISSUER, PROD_CONTEXT, Synthesis


def route_authorization(synthesis: Synthesis) -> dict[str, tuple[str, str | None]]:
    """Each route's authorization type, and the authorizer it names (by logical id)."""
    routes = {}
    for route in synthesis.resources("AWS::ApiGatewayV2::Route").values():
        authorizer: dict[str, Any] | None = route["Properties"].get("AuthorizerId")
        routes[route["Properties"]["RouteKey"]] = (
            route["Properties"]["AuthorizationType"],
            authorizer["Ref"] if authorizer else None,
        )
    return routes


def test_prod_puts_a_jwt_authorizer_with_its_issuer_and_audience_on_every_route(
    prod: Synthesis,
) -> None:
    (authorizer_id, authorizer) = prod.only("AWS::ApiGatewayV2::Authorizer")
    assert authorizer["Properties"]["AuthorizerType"] == "JWT"
    assert authorizer["Properties"]["IdentitySource"] == ["$request.header.Authorization"]
    assert authorizer["Properties"]["JwtConfiguration"] == {
        "Issuer": ISSUER,
        "Audience": ["payment-service-client", "donor-web-client"],
    }
    routes = route_authorization(prod)
    assert set(routes) == {f"POST {constants.GRAPHQL_PATH}", f"GET {constants.GRAPHQL_PATH}"}
    assert set(routes.values()) == {("JWT", authorizer_id)}


def test_route_scopes_are_left_to_the_function(prod: Synthesis) -> None:
    # One route carries every operation; a route scope would shut out signed-in donors.
    for route in prod.resources("AWS::ApiGatewayV2::Route").values():
        assert "AuthorizationScopes" not in route["Properties"]


@pytest.mark.parametrize(
    ("context", "missing"),
    [
        ({"stage": "prod"}, "jwtIssuer and jwtAudience"),
        ({"stage": "prod", "jwtIssuer": ISSUER}, "needs jwtAudience"),
        ({"stage": "prod", "jwtAudience": "app-client"}, "needs jwtIssuer:"),
        ({"stage": "dev", "authorization": "jwt", "jwtIssuer": ISSUER}, "needs jwtAudience"),
    ],
)
def test_a_jwt_stage_refuses_to_synthesise_without_issuer_and_audience(
    context: dict[str, str], missing: str
) -> None:
    with pytest.raises(StageConfigError, match=missing):
        build_app(context={**CDK_JSON_CONTEXT, **context})


def test_an_open_prod_needs_an_explicit_allow_anonymous() -> None:
    with pytest.raises(StageConfigError, match="allowAnonymous=true"):
        build_app(context={**CDK_JSON_CONTEXT, "stage": "prod", "authorization": "none"})


def test_an_open_prod_synthesises_with_a_warning_when_allowed(anonymous_prod: Synthesis) -> None:
    assert set(route_authorization(anonymous_prod).values()) == {("NONE", None)}
    Annotations.from_stack(anonymous_prod.stack).has_warning(
        "*", Match.string_like_regexp("authorization=none in prod")
    )


def test_dev_stays_open_without_warnings(dev: Synthesis) -> None:
    assert set(route_authorization(dev).values()) == {("NONE", None)}
    assert Annotations.from_stack(dev.stack).find_warning("*", Match.any_value()) == []


def test_authorization_iam_wires_iam_on_every_route(iam: Synthesis) -> None:
    assert set(route_authorization(iam).values()) == {("AWS_IAM", None)}
    assert iam.resources("AWS::ApiGatewayV2::Authorizer") == {}


@pytest.mark.parametrize(
    ("stage", "authorization", "claim"),
    [
        ("dev", "none", "sub"),
        ("prod", "jwt", "sub"),
        ("options", "jwt", "custom:donor_id"),
        ("iam", "iam", "sub"),
    ],
)
def test_the_api_function_knows_how_callers_were_verified(
    request: pytest.FixtureRequest, stage: str, authorization: str, claim: str
) -> None:
    synthesis: Synthesis = request.getfixturevalue(stage)

    variables = synthesis.function(constants.API_HANDLER)["Environment"]["Variables"]

    assert variables[constants.ENV_AUTHORIZATION] == authorization
    assert variables[constants.ENV_DONOR_ID_CLAIM] == claim


@pytest.mark.parametrize(
    ("stage", "mode"), [("dev", "allow"), ("prod", "allow"), ("options", "require")]
)
def test_the_api_function_runs_only_trusted_documents_when_told(
    request: pytest.FixtureRequest, stage: str, mode: str
) -> None:
    synthesis: Synthesis = request.getfixturevalue(stage)

    variables = synthesis.function(constants.API_HANDLER)["Environment"]["Variables"]

    assert variables[constants.ENV_TRUSTED_DOCUMENTS] == mode


def test_the_thank_you_function_is_told_nothing_about_callers(prod: Synthesis) -> None:
    variables = prod.function(constants.THANK_YOU_HANDLER)["Environment"]["Variables"]

    assert constants.ENV_AUTHORIZATION not in variables


def test_a_custom_domain_switches_the_execute_api_endpoint_off(
    options: Synthesis, prod: Synthesis
) -> None:
    options.template.has_resource_properties(
        "AWS::ApiGatewayV2::Api", {"DisableExecuteApiEndpoint": True}
    )
    (domain_id, domain) = options.only("AWS::ApiGatewayV2::DomainName")
    assert domain["Properties"]["DomainName"] == "api.donate.example.org"
    assert domain["Properties"]["DomainNameConfigurations"][0]["CertificateArn"] == (
        "arn:aws:acm:eu-west-2:123456789012:certificate/0a1b2c3d-example"
    )
    (_, mapping) = options.only("AWS::ApiGatewayV2::ApiMapping")
    assert mapping["Properties"]["DomainName"] == {"Ref": domain_id}
    # Without a domain of its own, the execute-api URL is the only way in.
    prod.template.has_resource_properties(
        "AWS::ApiGatewayV2::Api", {"DisableExecuteApiEndpoint": False}
    )


def test_a_custom_domain_needs_its_certificate() -> None:
    context = {**CDK_JSON_CONTEXT, **PROD_CONTEXT, "domainName": "api.donate.example.org"}

    with pytest.raises(StageConfigError, match="certificateArn"):
        build_app(context=context)
