"""Synthesise each stage once per session and share the templates across the infra tests."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App, Stack
from aws_cdk.assertions import Template

from infra.app import build_app, stack_name

ROOT = Path(__file__).resolve().parents[2]
# The CLI merges cdk.json's context (feature flags included); tests must synthesise the same.
CDK_JSON_CONTEXT: dict[str, Any] = json.loads((ROOT / "cdk.json").read_text())["context"]

ISSUER = "https://cognito-idp.eu-west-2.amazonaws.com/eu-west-2_example"
# Production as the docs deploy it: a JWT authorizer for the Cognito app clients.
PROD_CONTEXT: dict[str, Any] = {
    "stage": "prod",
    "jwtIssuer": ISSUER,
    "jwtAudience": "payment-service-client,donor-web-client",
}

# Every switch away from its default, so the optional paths are synthesised and checked too.
OPTIONS_CONTEXT: dict[str, Any] = {
    "stage": "prod",
    "authorization": "jwt",
    "jwtIssuer": ISSUER,
    "jwtAudience": "donations-web",
    "donorIdClaim": "custom:donor_id",
    "domainName": "api.donate.example.org",
    "certificateArn": "arn:aws:acm:eu-west-2:123456789012:certificate/0a1b2c3d-example",
    "corsOrigins": "https://donate.example.org,https://www.example.org",
    "trustedDocuments": "require",
    "apiReservedConcurrency": "200",
    "thankYouReservedConcurrency": "5",
    "apiSnapStart": "true",
    "throttleRate": "250",
    "throttleBurst": "500",
    "thankYouThreshold": "3",
    "idempotencyWindowHours": "48",
    "alarmEmail": "oncall@example.org",
}


@dataclass(frozen=True)
class Synthesis:
    app: App
    stack: Stack
    template: Template
    outdir: Path

    @property
    def template_path(self) -> Path:
        return self.outdir / f"{self.stack.stack_name}.template.json"

    @property
    def json(self) -> dict[str, Any]:
        return self.template.to_json()

    def resources(self, resource_type: str) -> dict[str, dict[str, Any]]:
        return {
            logical_id: resource
            for logical_id, resource in self.json["Resources"].items()
            if resource["Type"] == resource_type
        }

    def function_id(self, handler: str) -> str:
        (logical_id,) = [
            logical_id
            for logical_id, resource in self.resources("AWS::Lambda::Function").items()
            if resource["Properties"]["Handler"] == handler
        ]
        return logical_id

    def function(self, handler: str) -> dict[str, Any]:
        return self.json["Resources"][self.function_id(handler)]["Properties"]

    def role_statements(self, handler: str) -> list[dict[str, Any]]:
        role_id = self.function(handler)["Role"]["Fn::GetAtt"][0]
        statements: list[dict[str, Any]] = []
        for policy in self.resources("AWS::IAM::Policy").values():
            if {"Ref": role_id} in policy["Properties"]["Roles"]:
                statements += policy["Properties"]["PolicyDocument"]["Statement"]
        return statements

    def only(self, resource_type: str) -> tuple[str, dict[str, Any]]:
        (item,) = self.resources(resource_type).items()
        return item


def _synthesise(context: dict[str, Any], outdir: Path) -> Synthesis:
    app = build_app(context={**CDK_JSON_CONTEXT, **context}, outdir=str(outdir))
    stack = app.node.find_child(stack_name(str(context["stage"])))
    assert isinstance(stack, Stack)
    app.synth()
    return Synthesis(app=app, stack=stack, template=Template.from_stack(stack), outdir=outdir)


@pytest.fixture(scope="session")
def dev(tmp_path_factory: pytest.TempPathFactory) -> Synthesis:
    return _synthesise({"stage": "dev"}, tmp_path_factory.mktemp("cdk-dev"))


@pytest.fixture(scope="session")
def prod(tmp_path_factory: pytest.TempPathFactory) -> Synthesis:
    return _synthesise(dict(PROD_CONTEXT), tmp_path_factory.mktemp("cdk-prod"))


@pytest.fixture(scope="session")
def iam(tmp_path_factory: pytest.TempPathFactory) -> Synthesis:
    """Backends signing with SigV4 instead of tokens."""
    return _synthesise({"stage": "dev", "authorization": "iam"}, tmp_path_factory.mktemp("iam"))


@pytest.fixture(scope="session")
def anonymous_prod(tmp_path_factory: pytest.TempPathFactory) -> Synthesis:
    """Production deliberately left open: the one way it may be."""
    context = {"stage": "prod", "authorization": "none", "allowAnonymous": "true"}
    return _synthesise(context, tmp_path_factory.mktemp("anonymous-prod"))


@pytest.fixture(scope="session")
def options(tmp_path_factory: pytest.TempPathFactory) -> Synthesis:
    return _synthesise(dict(OPTIONS_CONTEXT), tmp_path_factory.mktemp("cdk-options"))


@pytest.fixture(scope="session", params=["dev", "prod", "options"])
def every_stage(request: pytest.FixtureRequest) -> Synthesis:
    synthesis: Synthesis = request.getfixturevalue(request.param)
    return synthesis


def dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True)
