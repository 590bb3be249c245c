"""The real CDK CLI (npm aws-cdk pinned in package.json) synthesises the app from cdk.json."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from infra.app import stack_name
from tests.infra.conftest import PROD_CONTEXT, ROOT

CDK_CLI = ROOT / "node_modules" / ".bin" / "cdk"


@pytest.mark.slow
@pytest.mark.skipif(
    not CDK_CLI.exists(), reason="node_modules is absent: run `make test` (it runs npm ci)"
)
@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_cdk_synth_works_without_aws_credentials_or_docker(tmp_path: Path, stage: str) -> None:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AWS_", "CDK_DEFAULT_")) and key != "DOCKER_HOST"
    }
    # No credentials and a Docker that can't exist: the stack takes the folder make asset built.
    env["DOCKER_HOST"] = "unix:///nonexistent/docker.sock"
    env["CDK_DOCKER"] = "/nonexistent/docker"
    # Production refuses to synthesise without an issuer and audience for its authorizer.
    access = [
        part
        for key in ("jwtIssuer", "jwtAudience")
        for part in ("-c", f"{key}={PROD_CONTEXT[key]}")
    ]
    result = subprocess.run(
        [
            *("npx", "--no-install", "cdk", "synth", "--quiet", "-c", f"stage={stage}"),
            *(access if stage == "prod" else []),
            *("-o", str(tmp_path)),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    template = json.loads((tmp_path / f"{stack_name(stage)}.template.json").read_text())
    types = {resource["Type"] for resource in template["Resources"].values()}
    assert {"AWS::DynamoDB::Table", "AWS::ApiGatewayV2::Api", "AWS::SNS::Topic"} <= types
