"""Stage settings read once from CDK context (``cdk.json`` defaults, ``-c key=value`` overrides).

Everything that differs between a throwaway dev stack and production lives here, so the
constructs take plain typed values and never read context themselves.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from aws_cdk import RemovalPolicy
from constructs import Node

from donations import constants
from donations.settings import (
    Authorization,
    TrustedDocumentsMode,
    parse_authorization,
    parse_bool,
    parse_list,
    parse_positive_int,
    parse_trusted_documents,
)


class Stage(StrEnum):
    DEV = "dev"
    PROD = "prod"


class StageConfigError(ValueError):
    """The context asks for a stack that must not be deployed as asked; says what to add."""


@dataclass(frozen=True)
class StageConfig:
    stage: Stage
    graphiql: bool
    introspection: bool
    removal_policy: RemovalPolicy
    deletion_protection: bool
    throttle_rate: float
    throttle_burst: int
    cors_origins: tuple[str, ...]
    authorization: Authorization
    jwt_issuer: str | None
    jwt_audience: tuple[str, ...]
    donor_id_claim: str
    # Only with authorization=none in prod: someone said, explicitly, that it is meant.
    allow_anonymous: bool
    domain_name: str | None
    certificate_arn: str | None
    thank_you_threshold: int
    idempotency_window_hours: int
    api_reserved_concurrency: int | None
    thank_you_reserved_concurrency: int | None
    api_snap_start: bool
    alarm_email: str | None
    # require: the API runs only the documents of schema/trusted-documents.json.
    trusted_documents: TrustedDocumentsMode = TrustedDocumentsMode.ALLOW

    @property
    def is_production(self) -> bool:
        return self.stage is Stage.PROD


# Throttles and reserved concurrency. Dev is a shared sandbox: a low ceiling caps the bill if
# a URL leaks, and nothing is reserved (new accounts may have too little concurrency to give).
# Prod is sized in docs/performance.md ("Capacity"), from the measured CPU per request and
# round trips: 1,000 requests/s is the design peak, so the gateway admits 1,500/s (bursts of
# 3,000) and turns the rest away with 429s before they cost anything. At that rate the API
# needs ~25 concurrent executions (~15 ms each), ~55 if DynamoDB's latency triples, twice
# that in a full burst; 200 reserved both guarantees them and caps what an abusive burst can
# take from the account, DynamoDB and the thank-you consumer, whose own 10 (one batch per
# stream shard, only for donors crossing the threshold) an API burst can never starve.
# SnapStart is on in prod: a restore replaces the ~1 s init of a cold start (handler.py
# holds its runtime hooks).
_DEFAULTS: dict[Stage, dict[str, Any]] = {
    Stage.DEV: {
        "graphiql": True,
        "introspection": True,
        "removal_policy": RemovalPolicy.DESTROY,
        "deletion_protection": False,
        "throttle_rate": 50,
        "throttle_burst": 100,
        "cors_origins": ("*",),
        "api_reserved_concurrency": None,
        "thank_you_reserved_concurrency": None,
        "api_snap_start": False,
        "authorization": Authorization.NONE,
    },
    Stage.PROD: {
        "graphiql": False,
        "introspection": False,
        "removal_policy": RemovalPolicy.RETAIN,
        "deletion_protection": True,
        "throttle_rate": 1500,
        "throttle_burst": 3000,
        "cors_origins": (),
        "api_reserved_concurrency": 200,
        "thank_you_reserved_concurrency": 10,
        "api_snap_start": True,
        # Closed by default: anyone on the internet could otherwise record and read donations.
        "authorization": Authorization.JWT,
    },
}


def _parse_optional_int(value: object) -> int | None:
    if value is None or str(value).strip().lower() in {"", "none", "null"}:
        return None
    number = int(str(value))
    if number < 0:
        raise ValueError(f"expected a non-negative integer, got {value!r}")
    return number


def load_stage_config(node: Node) -> StageConfig:
    """Build the settings for ``-c stage=dev|prod``, then apply any explicit overrides."""

    def context(key: str, default: object = None) -> object:
        value = node.try_get_context(key)
        return default if value is None else value

    stage = Stage(str(context("stage", Stage.DEV.value)))
    defaults = _DEFAULTS[stage]
    threshold = parse_positive_int(
        context("thankYouThreshold", constants.DEFAULT_THANK_YOU_THRESHOLD)
    )
    authorization = parse_authorization(context("authorization", defaults["authorization"]))
    jwt_issuer = str(context("jwtIssuer", "")).strip() or None
    jwt_audience = parse_list(context("jwtAudience", ()))
    allow_anonymous = parse_bool(context("allowAnonymous", False))
    _check_access(stage, authorization, jwt_issuer, jwt_audience, allow_anonymous)
    domain_name = str(context("domainName", "")).strip() or None
    certificate_arn = str(context("certificateArn", "")).strip() or None
    if bool(domain_name) != bool(certificate_arn):
        raise StageConfigError(
            "a custom domain needs both -c domainName=api.example.org and "
            "-c certificateArn=arn:aws:acm:<region>:<account>:certificate/<id>"
        )
    alarm_email = context("alarmEmail")
    return StageConfig(
        stage=stage,
        graphiql=parse_bool(context("graphiql", defaults["graphiql"])),
        introspection=parse_bool(context("introspection", defaults["introspection"])),
        removal_policy=defaults["removal_policy"],
        deletion_protection=defaults["deletion_protection"],
        throttle_rate=float(str(context("throttleRate", defaults["throttle_rate"]))),
        throttle_burst=int(str(context("throttleBurst", defaults["throttle_burst"]))),
        cors_origins=parse_list(context("corsOrigins", defaults["cors_origins"])),
        authorization=authorization,
        jwt_issuer=jwt_issuer,
        jwt_audience=jwt_audience,
        donor_id_claim=str(context("donorIdClaim", constants.DEFAULT_DONOR_ID_CLAIM)).strip()
        or constants.DEFAULT_DONOR_ID_CLAIM,
        allow_anonymous=allow_anonymous,
        domain_name=domain_name,
        certificate_arn=certificate_arn,
        thank_you_threshold=threshold,
        idempotency_window_hours=parse_positive_int(
            context("idempotencyWindowHours", constants.DEFAULT_IDEMPOTENCY_WINDOW_HOURS)
        ),
        # "none" lifts a stage's reservation, e.g. in an account with little concurrency.
        api_reserved_concurrency=_parse_optional_int(
            context("apiReservedConcurrency", defaults["api_reserved_concurrency"])
        ),
        thank_you_reserved_concurrency=_parse_optional_int(
            context("thankYouReservedConcurrency", defaults["thank_you_reserved_concurrency"])
        ),
        api_snap_start=parse_bool(context("apiSnapStart", defaults["api_snap_start"])),
        alarm_email=str(alarm_email) if alarm_email else None,
        trusted_documents=parse_trusted_documents(
            context("trustedDocuments", TrustedDocumentsMode.ALLOW.value)
        ),
    )


def _check_access(
    stage: Stage,
    authorization: Authorization,
    jwt_issuer: str | None,
    jwt_audience: tuple[str, ...],
    allow_anonymous: bool,
) -> None:
    """Refuse a stack whose callers would not be checked the way the stage promises."""
    if authorization is Authorization.JWT:
        # Without an audience, any token the issuer signs for any other app would do.
        missing = [
            name
            for name, value in (("jwtIssuer", jwt_issuer), ("jwtAudience", jwt_audience))
            if not value
        ]
        if missing:
            raise StageConfigError(
                f"stage {stage.value} checks callers with authorization=jwt, which needs "
                f"{' and '.join(missing)}: -c jwtIssuer=https://cognito-idp.<region>."
                "amazonaws.com/<user pool id> -c jwtAudience=<app client id>[,<another>] "
                "(docs/deploy.md, Access). Or -c authorization=iam for SigV4 callers."
            )
    if stage is Stage.PROD and authorization is Authorization.NONE and not allow_anonymous:
        raise StageConfigError(
            "stage prod with authorization=none would let anyone record and read donations; "
            "add -c allowAnonymous=true if that is really meant"
        )
