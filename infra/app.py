"""CDK entry point: ``cdk synth -c stage=dev|prod`` (see cdk.json and docs/deploy.md).

No lookups and no credentials: the stack is environment-agnostic unless the CLI supplies an
account and region (it does when credentials exist), so synth works on any laptop or CI.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from typing import Any

from aws_cdk import App, Environment, Validations
from cdk_nag import AwsSolutionsChecks

from donations.settings import parse_bool
from infra.config import StageConfigError, load_stage_config
from infra.stack import DonationsStack


def stack_name(stage: str) -> str:
    return f"Donations-{stage}"


def build_app(context: Mapping[str, Any] | None = None, outdir: str | None = None) -> App:
    app = App(context=dict(context) if context else None, outdir=outdir)
    config = load_stage_config(app.node)
    account = os.environ.get("CDK_DEFAULT_ACCOUNT")
    region = os.environ.get("CDK_DEFAULT_REGION")
    env = Environment(account=account, region=region) if account and region else None
    DonationsStack(
        app,
        stack_name(config.stage.value),
        config=config,
        bundle_boto3=parse_bool(app.node.try_get_context("bundleBoto3") or False),
        env=env,
        description=f"Donations GraphQL service ({config.stage.value})",
    )
    # Synthesis fails on any AwsSolutions finding that is not acknowledged with a reason.
    Validations.of(app).add_plugins(
        AwsSolutionsChecks(app, verbose=True, write_suppressions_to_cloud_formation=True)
    )
    return app


def main() -> None:
    try:
        app = build_app()
    except StageConfigError as error:
        # What to add to the command line, without a traceback in front of it.
        sys.stderr.write(f"Cannot synthesise: {error}\n")
        raise SystemExit(1) from None
    app.synth()


if __name__ == "__main__":
    main()
