from __future__ import annotations

import json

import jsii
from aws_cdk import Acknowledgment, Annotations, Duration, Validations
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_apigatewayv2_authorizers as authorizers
from aws_cdk import aws_apigatewayv2_integrations as integrations
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from donations import constants
from donations.settings import Authorization
from infra.config import StageConfig
from infra.constructs.data import DonationsData
from infra.constructs.function import LOG_RETENTION, FunctionSpec, ServiceFunction

# A healthy request is one DynamoDB transaction (~10 ms) plus, on a cold start, ~1.5 s of
# imports. 10 s leaves room for SDK retries with backoff and still fails well before API
# Gateway's 30 s hard limit, so a stuck call ends as a Lambda timeout we can see and alarm
# on, not as an opaque gateway 503.
API_TIMEOUT = Duration.seconds(10)
INTEGRATION_TIMEOUT = Duration.seconds(12)

# One JSON object per request: what an on-call engineer filters on in Logs Insights. No
# query string, body, user agent or raw path: those may carry donor data (a request for
# /<donor-id> has no route, and its path would be logged as typed); routeKey says what
# was matched, "-" for nothing.
ACCESS_LOG_FIELDS: dict[str, str] = {
    "requestId": "$context.requestId",
    "ip": "$context.identity.sourceIp",
    "requestTime": "$context.requestTime",
    "httpMethod": "$context.httpMethod",
    "routeKey": "$context.routeKey",
    "status": "$context.status",
    "protocol": "$context.protocol",
    "responseLength": "$context.responseLength",
    "responseLatency": "$context.responseLatency",
    "integrationLatency": "$context.integrationLatency",
    "integrationStatus": "$context.integrationStatus",
    "integrationError": "$context.integrationErrorMessage",
    "errorMessage": "$context.error.message",
    "authorizerError": "$context.authorizer.error",
}


class GraphqlApi(Construct):
    """HTTP API → API function (alias) for POST /graphql and GET /graphql (GraphiQL) only."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
        data: DonationsData,
        code: lambda_.Code,
        common_environment: dict[str, str],
    ) -> None:
        super().__init__(scope, construct_id)
        self._config = config
        self.function = ServiceFunction(
            self,
            "ApiFunction",
            spec=FunctionSpec(
                handler=constants.API_HANDLER,
                description="GraphQL API for recording and reading donations",
                # Cold starts are CPU bound (importing strawberry and boto3 takes ~1.2 s of
                # CPU) and Lambda's CPU share grows with memory: 1024 MB halves them against
                # 512 MB for about the same cost per warm request, which is I/O bound.
                memory_mb=1024,
                timeout=API_TIMEOUT,
                reserved_concurrency=config.api_reserved_concurrency,
                snap_start=config.api_snap_start,
                environment={
                    constants.ENV_TABLE_NAME: data.table.table_name,
                    constants.ENV_GRAPHIQL: str(config.graphiql).lower(),
                    constants.ENV_INTROSPECTION: str(config.introspection).lower(),
                    constants.ENV_IDEMPOTENCY_WINDOW_HOURS: str(config.idempotency_window_hours),
                    # The same values that configure the routes' authorizer below, so the
                    # function trusts exactly the identity the gateway verified.
                    constants.ENV_AUTHORIZATION: config.authorization.value,
                    constants.ENV_DONOR_ID_CLAIM: config.donor_id_claim,
                    constants.ENV_TRUSTED_DOCUMENTS: config.trusted_documents.value,
                },
            ),
            code=code,
            removal_policy=config.removal_policy,
            common_environment=common_environment,
        )
        data.grant_api_access(self.function.function)
        # The gateway invokes an alias, never $LATEST: SnapStart only applies to published
        # versions, and an alias is where provisioned concurrency or canaries attach later.
        self.alias = lambda_.Alias(
            self,
            "Live",
            alias_name="live",
            version=self.function.function.current_version,
        )

        self.access_logs = logs.LogGroup(
            self,
            "AccessLogs",
            retention=LOG_RETENTION,
            removal_policy=config.removal_policy,
        )
        cors = (
            apigwv2.CorsPreflightOptions(
                allow_origins=list(config.cors_origins),
                # The same names `make run` answers preflights with (local/cors.py).
                allow_methods=[
                    apigwv2.CorsHttpMethod(method) for method in constants.CORS_ALLOWED_METHODS
                ],
                allow_headers=list(constants.CORS_ALLOWED_HEADERS),
                expose_headers=list(constants.CORS_EXPOSED_HEADERS),
                max_age=Duration.seconds(constants.CORS_MAX_AGE_SECONDS),
            )
            if config.cors_origins
            else None
        )
        self.domain_name = _custom_domain(self, config)
        self.http_api = apigwv2.HttpApi(
            self,
            "HttpApi",
            description="Donations GraphQL API",
            cors_preflight=cors,
            # The stage is declared below so its throttling and access logs are explicit.
            create_default_stage=False,
            # With a custom domain, the execute-api URL would be a way around whatever sits
            # in front of that domain (CloudFront, WAF), so it is switched off.
            disable_execute_api_endpoint=self.domain_name is not None,
        )
        self.stage = apigwv2.HttpStage(
            self,
            "DefaultStage",
            http_api=self.http_api,
            stage_name="$default",
            auto_deploy=True,
            throttle=apigwv2.ThrottleSettings(
                rate_limit=config.throttle_rate, burst_limit=config.throttle_burst
            ),
            access_log_settings=JsonAccessLogs(self.access_logs),
            domain_mapping=(
                apigwv2.DomainMappingOptions(domain_name=self.domain_name)
                if self.domain_name
                else None
            ),
        )
        integration = integrations.HttpLambdaIntegration(
            "GraphqlIntegration", self.alias, timeout=INTEGRATION_TIMEOUT
        )
        # Only these two routes exist: the ASGI app answers on any path, so anything else
        # must stop at the gateway (404) without invoking, or paying for, the function.
        self.routes = self.http_api.add_routes(
            path=constants.GRAPHQL_PATH,
            methods=[apigwv2.HttpMethod.POST, apigwv2.HttpMethod.GET],
            integration=integration,
            authorizer=_authorizer(config),
        )
        if config.authorization is Authorization.NONE:
            if config.is_production:
                Annotations.of(self).add_warning_v2(
                    "donations:anonymous-production-api",
                    "authorization=none in prod (allowAnonymous=true): anyone on the internet "
                    "can record donations for any donor and read every donor's history.",
                )
            for route in self.routes:
                Validations.of(route).acknowledge(
                    Acknowledgment(
                        id="AwsSolutions-APIG4",
                        reason=(
                            "Open on purpose: dev is an open sandbox by default, and prod is "
                            "open only when deployed with -c allowAnonymous=true (synthesis "
                            "fails otherwise). Abuse is bounded by stage throttling and "
                            "GraphQL depth/token limits."
                        ),
                    )
                )

    @property
    def url(self) -> str:
        if self._config.domain_name is not None:
            return f"https://{self._config.domain_name}{constants.GRAPHQL_PATH}"
        return f"{self.http_api.api_endpoint}{constants.GRAPHQL_PATH}"


@jsii.implements(apigwv2.IAccessLogSettings)
class JsonAccessLogs:
    # IAccessLogSettings is a jsii interface, not a struct: Python must implement it.
    def __init__(self, log_group: logs.ILogGroup) -> None:
        self._destination = apigwv2.LogGroupLogDestination(log_group)

    @property
    def destination(self) -> apigwv2.IAccessLogDestination:
        return self._destination

    @property
    def format(self) -> apigw.AccessLogFormat:
        return apigw.AccessLogFormat.custom(json.dumps(ACCESS_LOG_FIELDS))


def _authorizer(config: StageConfig) -> apigwv2.IHttpRouteAuthorizer | None:
    # IAM: backends sign requests with SigV4. JWT: backends with client-credentials tokens
    # and donors signed in through Cognito or any OIDC provider. The gateway only proves
    # who is calling; route scopes are left unset because one GraphQL route carries every
    # operation, so the function checks each operation's scope (resolvers/access.py).
    if config.authorization is Authorization.IAM:
        return authorizers.HttpIamAuthorizer()
    if config.authorization is Authorization.JWT:
        assert config.jwt_issuer is not None, "load_stage_config requires jwtIssuer for jwt"
        return authorizers.HttpJwtAuthorizer(
            "JwtAuthorizer",
            config.jwt_issuer,
            jwt_audience=list(config.jwt_audience),
        )
    return None


def _custom_domain(scope: Construct, config: StageConfig) -> apigwv2.DomainName | None:
    if config.domain_name is None or config.certificate_arn is None:
        return None
    return apigwv2.DomainName(
        scope,
        "Domain",
        domain_name=config.domain_name,
        certificate=acm.Certificate.from_certificate_arn(
            scope, "Certificate", config.certificate_arn
        ),
    )
