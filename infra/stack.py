from __future__ import annotations

from pathlib import Path
from typing import Any

from aws_cdk import Acknowledgment, CfnOutput, Stack, Tags, Validations
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from donations import constants
from infra.asset import BUILD_INPUTS, PROJECT_ROOT, asset_dir
from infra.asset_contents import RUNTIME_SOURCES
from infra.config import StageConfig
from infra.constructs.api import GraphqlApi
from infra.constructs.data import DonationsData
from infra.constructs.function import powertools_environment
from infra.constructs.monitoring import Monitoring
from infra.constructs.thanks import ThankYouPipeline


def lambda_code(*, bundle_boto3: bool = False, directory: Path | None = None) -> lambda_.Code:
    """The built folder, refused if missing or older than an input: a bare `cdk deploy`
    must not ship yesterday's code. CDK hashes the folder's contents for the asset hash."""
    directory = directory or asset_dir(bundle_boto3=bundle_boto3)
    rebuild = "make asset" + (" CDK_ARGS='-c bundleBoto3=true'" if bundle_boto3 else "")
    if not directory.is_dir():
        raise FileNotFoundError(f"no Lambda asset at {directory}: run `{rebuild}` first")
    built = directory.stat().st_mtime
    for name in (*BUILD_INPUTS, *RUNTIME_SOURCES):
        path = PROJECT_ROOT / name
        for file in path.rglob("*") if path.is_dir() else [path]:
            if file.is_file() and "__pycache__" not in file.parts and file.stat().st_mtime > built:
                raise RuntimeError(f"the Lambda asset is older than {file}: run `{rebuild}`")
    return lambda_.Code.from_asset(str(directory))


class DonationsStack(Stack):
    """The whole service: data, API, thank-you pipeline and monitoring, for one stage."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
        bundle_boto3: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        Tags.of(self).add("service", constants.SERVICE_NAME)
        Tags.of(self).add("stage", config.stage.value)

        code = lambda_code(bundle_boto3=bundle_boto3)
        # Logs carry a keyed hash in place of each donor id, so one donor's lines can be
        # joined across both functions without the id itself being readable in the logs.
        self.log_hash_key = secretsmanager.Secret(
            self,
            "LogHashKey",
            description="Keys the hash that stands for donor ids in the service's logs",
            generate_secret_string=secretsmanager.SecretStringGenerator(
                password_length=48, exclude_punctuation=True
            ),
            removal_policy=config.removal_policy,
        )
        Validations.of(self.log_hash_key).acknowledge(
            Acknowledgment(
                id="AwsSolutions-SMG4",
                reason=(
                    "The key guards no system: it only pseudonymises donor ids in logs. "
                    "Rotating it would split one donor's history into unlinkable halves, so it "
                    "is rotated by hand (docs/deploy.md) only if it ever leaks."
                ),
            )
        )
        common_environment = {
            **powertools_environment(config.stage.value),
            # The ARN, not the value: each function reads the key at start-up (granted
            # below), so lambda:GetFunctionConfiguration can't reveal it.
            constants.ENV_LOG_HASH_KEY_SECRET_ARN: self.log_hash_key.secret_arn,
        }

        self.data = DonationsData(
            self,
            "Data",
            removal_policy=config.removal_policy,
            deletion_protection=config.deletion_protection,
        )
        self.thanks = ThankYouPipeline(
            self,
            "Thanks",
            data=self.data,
            code=code,
            threshold=config.thank_you_threshold,
            reserved_concurrency=config.thank_you_reserved_concurrency,
            removal_policy=config.removal_policy,
            common_environment=common_environment,
        )
        self.api = GraphqlApi(
            self,
            "Api",
            config=config,
            data=self.data,
            code=code,
            common_environment=common_environment,
        )
        for function in (self.thanks.function.function, self.api.function.function):
            self.log_hash_key.grant_read(function)
        self.monitoring = Monitoring(
            self,
            "Monitoring",
            api=self.api,
            data=self.data,
            thanks=self.thanks,
            alarm_email=config.alarm_email,
        )

        CfnOutput(self, constants.OUTPUT_GRAPHQL_URL, value=self.api.url)
        CfnOutput(self, constants.OUTPUT_TABLE_NAME, value=self.data.table.table_name)
        CfnOutput(self, constants.OUTPUT_TOPIC_ARN, value=self.thanks.topic.topic_arn)
        CfnOutput(self, constants.OUTPUT_DLQ_URL, value=self.thanks.dead_letter_queue.queue_url)
        # To compute a donor's log reference (docs/deploy.md) and to find the dashboard.
        CfnOutput(
            self, constants.OUTPUT_LOG_HASH_KEY_SECRET_ARN, value=self.log_hash_key.secret_arn
        )
        CfnOutput(
            self, constants.OUTPUT_DASHBOARD_NAME, value=self.monitoring.dashboard.dashboard_name
        )
