from __future__ import annotations

from dataclasses import dataclass, field

from aws_cdk import Acknowledgment, Duration, RemovalPolicy, Validations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from donations import constants

# Python 3.13, not 3.14: the newest runtime whose bytecode the build can produce (there is no
# 3.14 interpreter to compile with), and shipping .pyc saves ~0.7 s per cold start (measured,
# docs/performance.md). The asset's wheels and bytecode are built for the same version
# (infra.asset derives them from this value), so the two can't drift.
RUNTIME = lambda_.Runtime.PYTHON_3_13
# Graviton: ~20% cheaper per GB-second than x86 and every dependency ships aarch64 wheels.
ARCHITECTURE = lambda_.Architecture.ARM_64
LOG_RETENTION = logs.RetentionDays.ONE_MONTH


@dataclass(frozen=True)
class FunctionSpec:
    handler: str
    description: str
    memory_mb: int
    timeout: Duration
    environment: dict[str, str] = field(default_factory=dict)
    reserved_concurrency: int | None = None
    snap_start: bool = False


class ServiceFunction(Construct):
    """A Lambda function with its own log group and role, observable the same way as its twin.

    Each function gets a dedicated role so a grant to one (sns:Publish) can never leak to the
    other, and a log group the stack owns, so retention and removal are set rather than
    left to Lambda's implicit never-expiring group.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        spec: FunctionSpec,
        code: lambda_.Code,
        removal_policy: RemovalPolicy,
        common_environment: dict[str, str],
    ) -> None:
        super().__init__(scope, construct_id)
        self.log_group = logs.LogGroup(
            self, "Logs", retention=LOG_RETENTION, removal_policy=removal_policy
        )
        # A role without AWSLambdaBasicExecutionRole: that managed policy may write to any
        # log group in the account; this one may only write to its own.
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"{spec.description} (execution role)",
        )
        self.log_group.grant_write(self.role)
        self.function = lambda_.Function(
            self,
            "Function",
            description=spec.description,
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            code=code,
            handler=spec.handler,
            role=self.role,
            memory_size=spec.memory_mb,
            timeout=spec.timeout,
            tracing=lambda_.Tracing.ACTIVE,
            log_group=self.log_group,
            logging_format=lambda_.LoggingFormat.JSON,
            application_log_level_v2=lambda_.ApplicationLogLevel.INFO,
            # INFO keeps the platform's REPORT line (duration, init time, max memory): the
            # figures for tuning memory, at ~0.3 KB per invocation.
            system_log_level_v2=lambda_.SystemLogLevel.INFO,
            reserved_concurrent_executions=spec.reserved_concurrency,
            snap_start=lambda_.SnapStartConf.ON_PUBLISHED_VERSIONS if spec.snap_start else None,
            environment={**common_environment, **spec.environment},
        )
        Validations.of(self.function).acknowledge(
            Acknowledgment(
                id="AwsSolutions-L1",
                reason=(
                    "Python 3.13, one release behind the newest (3.14), on purpose: the asset "
                    "ships bytecode only for a Python the build can compile with, which saves "
                    "~0.7 s per cold start (infra/constructs/function.py: RUNTIME)."
                ),
            )
        )
        Validations.of(self.role).acknowledge(
            Acknowledgment(
                id="AwsSolutions-IAM5[Resource::*]",
                reason=(
                    "Active tracing needs xray:PutTraceSegments and xray:PutTelemetryRecords, "
                    "which support no resource-level permissions; every other statement names "
                    "its resource (asserted in tests/infra)."
                ),
            )
        )


def powertools_environment(stage: str) -> dict[str, str]:
    return {
        "POWERTOOLS_SERVICE_NAME": constants.SERVICE_NAME,
        "POWERTOOLS_METRICS_NAMESPACE": constants.METRICS_NAMESPACE,
        "POWERTOOLS_LOG_LEVEL": "INFO",
        # Responses carry donor data; X-Ray metadata is readable by anyone with trace access.
        "POWERTOOLS_TRACER_CAPTURE_RESPONSE": "false",
        "POWERTOOLS_LOGGER_LOG_EVENT": "false",
        constants.ENV_STAGE: stage,
    }
