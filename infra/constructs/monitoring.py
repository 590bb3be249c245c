from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from aws_cdk import ArnFormat, Duration, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from donations import constants
from infra.constructs.api import GraphqlApi
from infra.constructs.data import DonationsData
from infra.constructs.thanks import STREAM_MAX_RECORD_AGE, ThankYouPipeline

ONE_MINUTE = Duration.minutes(1)
FIVE_MINUTES = Duration.minutes(5)
# Percent of requests answered 5xx over a minute, three minutes out of five: long enough to
# ignore one unlucky cold start, short enough to page before most donors notice.
API_5XX_PERCENT = 1
# Below this many requests a minute, one failure is an anecdote, not a rate.
API_5XX_MIN_REQUESTS = 20
# A healthy consumer reads within seconds; at a sixth of the record age limit there is still
# time to act before records start going to the DLQ.
ITERATOR_AGE_MS = STREAM_MAX_RECORD_AGE.to_milliseconds() // 6


# Emitted by handler.py through Powertools Metrics.
SERVICE_DONATION_METRICS = ("DonationRecorded", "DonationReplayed", "ServerErrors", "ColdStart")
SERVICE_THANK_YOU_METRICS = ("ThankYouSent", "ThankYouFailed", "ThankYouDuplicate")
# Emitted by the stream's event source mapping (metrics_config EVENT_COUNT in thanks.py).
EVENT_SOURCE_MAPPING_COUNTS = (
    "PolledEventCount",
    "FilteredOutEventCount",
    "InvokedEventCount",
    "FailedInvokeEventCount",
    "DroppedEventCount",
)


@dataclass(frozen=True)
class WatchedFunction:
    label: str
    function: lambda_.IFunction

    @property
    def construct_id_prefix(self) -> str:
        return self.label.replace("-", "")


class Monitoring(Construct):
    """Alarms to one topic, and a dashboard of what on-call looks at first."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        api: GraphqlApi,
        data: DonationsData,
        thanks: ThankYouPipeline,
        alarm_email: str | None,
    ) -> None:
        super().__init__(scope, construct_id)
        functions = (
            WatchedFunction("API", api.function.function),
            WatchedFunction("Thank-you", thanks.function.function),
        )
        self.alarm_topic = self._alarm_topic(thanks, alarm_email)
        self.alarms: list[cloudwatch.Alarm] = []
        self._alarm_on_api_errors(api)
        self._alarm_on_functions(functions)
        self._alarm_on_stream(thanks)
        self._alarm_on_failed_notifications(thanks)
        self.dashboard = self._dashboard(api, data, thanks, functions)

    def _alarm_topic(self, thanks: ThankYouPipeline, alarm_email: str | None) -> sns.Topic:
        topic = sns.Topic(
            self,
            "AlarmTopic",
            display_name="Donations service alarms",
            master_key=thanks.key,
            enforce_ssl=True,
        )
        thanks.grant_alarm_encryption()
        # The topic policy that enforce_ssl creates replaces SNS's default one, so CloudWatch
        # is allowed explicitly, and only for alarms in this account.
        topic.add_to_resource_policy(_cloudwatch_alarms_may_publish(Stack.of(self), topic))
        if alarm_email:
            topic.add_subscription(subscriptions.EmailSubscription(alarm_email))
        return topic

    def _alarm_on_api_errors(self, api: GraphqlApi) -> None:
        self._alarm(
            "Api5xxRate",
            _api_5xx_rate(api),
            threshold=API_5XX_PERCENT,
            evaluation_periods=5,
            datapoints_to_alarm=3,
            description=f"More than {API_5XX_PERCENT}% of GraphQL requests failed with a 5xx",
        )

    def _alarm_on_functions(self, functions: Sequence[WatchedFunction]) -> None:
        for watched in functions:
            self._alarm(
                f"{watched.construct_id_prefix}FunctionErrors",
                watched.function.metric_errors(period=FIVE_MINUTES, statistic="Sum"),
                threshold=1,
                description=f"{watched.label} function raised unhandled errors",
            )
            self._alarm(
                f"{watched.construct_id_prefix}FunctionThrottles",
                watched.function.metric_throttles(period=FIVE_MINUTES, statistic="Sum"),
                threshold=1,
                description=f"{watched.label} function was throttled (concurrency exhausted)",
            )

    def _alarm_on_stream(self, thanks: ThankYouPipeline) -> None:
        self._alarm(
            "StreamIteratorAge",
            _iterator_age(thanks),
            threshold=ITERATOR_AGE_MS,
            evaluation_periods=5,
            datapoints_to_alarm=3,
            description="The thank-you consumer is falling behind the table stream",
        )
        self._alarm(
            "DeadLetterQueueNotEmpty",
            _dead_letter_queue_depth(thanks),
            threshold=1,
            description="Thank-you batches gave up after retries: run `make redrive`",
        )

    def _alarm_on_failed_notifications(self, thanks: ThankYouPipeline) -> None:
        self._alarm(
            "ThankYouNotificationsFailed",
            _failed_notifications(thanks),
            threshold=1,
            description="SNS could not deliver thank-you messages to a subscriber",
        )

    def _alarm(
        self,
        construct_id: str,
        metric: cloudwatch.IMetric,
        *,
        threshold: float,
        description: str,
        evaluation_periods: int = 1,
        datapoints_to_alarm: int | None = None,
    ) -> None:
        alarm = cloudwatch.Alarm(
            self,
            construct_id,
            metric=metric,
            threshold=threshold,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            evaluation_periods=evaluation_periods,
            datapoints_to_alarm=datapoints_to_alarm,
            # No data means no traffic (or no failures), which is not an incident.
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            alarm_description=description,
        )
        action = cw_actions.SnsAction(self.alarm_topic)
        alarm.add_alarm_action(action)
        alarm.add_ok_action(action)
        self.alarms.append(alarm)

    def _dashboard(
        self,
        api: GraphqlApi,
        data: DonationsData,
        thanks: ThankYouPipeline,
        functions: Sequence[WatchedFunction],
    ) -> cloudwatch.Dashboard:
        dashboard = cloudwatch.Dashboard(self, "Dashboard", default_interval=Duration.hours(3))
        rows: tuple[Sequence[cloudwatch.IWidget], ...] = (
            [cloudwatch.AlarmStatusWidget(title="Alarms", alarms=self.alarms, width=24, height=3)],
            [*_api_widgets(api), _table_widget(data)],
            _function_widgets(functions),
            _stream_widgets(thanks),
            _service_widgets(),
        )
        for row in rows:
            dashboard.add_widgets(*row)
        return dashboard


def _cloudwatch_alarms_may_publish(stack: Stack, topic: sns.ITopic) -> iam.PolicyStatement:
    return iam.PolicyStatement(
        principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
        actions=["sns:Publish"],
        resources=[topic.topic_arn],
        conditions={
            "StringEquals": {"aws:SourceAccount": stack.account},
            "ArnLike": {
                "aws:SourceArn": stack.format_arn(
                    service="cloudwatch",
                    resource="alarm",
                    resource_name="*",
                    arn_format=ArnFormat.COLON_RESOURCE_NAME,
                )
            },
        },
    )


# The figures that are both alarmed on and plotted: one definition each, so an alarm and its
# graph can't drift apart.


def _api_requests(api: GraphqlApi) -> cloudwatch.Metric:
    return api.http_api.metric_count(period=ONE_MINUTE, statistic="Sum")


def _api_server_errors(api: GraphqlApi) -> cloudwatch.Metric:
    return api.http_api.metric_server_error(period=ONE_MINUTE, statistic="Sum")


def _api_5xx_rate(api: GraphqlApi) -> cloudwatch.MathExpression:
    return cloudwatch.MathExpression(
        expression=f"IF(requests >= {API_5XX_MIN_REQUESTS}, 100 * serverErrors / requests, 0)",
        using_metrics={"requests": _api_requests(api), "serverErrors": _api_server_errors(api)},
        label="API 5xx rate (%)",
        period=ONE_MINUTE,
    )


def _iterator_age(thanks: ThankYouPipeline) -> cloudwatch.Metric:
    return thanks.function.function.metric("IteratorAge", period=ONE_MINUTE, statistic="Maximum")


def _dead_letter_queue_depth(thanks: ThankYouPipeline) -> cloudwatch.Metric:
    return thanks.dead_letter_queue.metric_approximate_number_of_messages_visible(
        period=ONE_MINUTE, statistic="Maximum"
    )


def _failed_notifications(thanks: ThankYouPipeline) -> cloudwatch.Metric:
    return thanks.topic.metric_number_of_notifications_failed(period=FIVE_MINUTES, statistic="Sum")


def _api_widgets(api: GraphqlApi) -> list[cloudwatch.IWidget]:
    http_api = api.http_api
    return [
        cloudwatch.GraphWidget(
            title="API requests and errors",
            left=[
                _api_requests(api),
                http_api.metric_client_error(period=ONE_MINUTE, statistic="Sum"),
                _api_server_errors(api),
            ],
            right=[_api_5xx_rate(api)],
            width=8,
        ),
        cloudwatch.GraphWidget(
            title="API latency (ms)",
            left=[
                http_api.metric_latency(period=ONE_MINUTE, statistic=stat)
                for stat in ("p50", "p90", "p99")
            ],
            right=[http_api.metric_integration_latency(period=ONE_MINUTE, statistic="p99")],
            width=8,
        ),
    ]


def _table_widget(data: DonationsData) -> cloudwatch.IWidget:
    return cloudwatch.GraphWidget(
        title="DynamoDB throttles and conflicts",
        left=[
            data.table.metric(name, period=ONE_MINUTE, statistic="Sum")
            for name in ("WriteThrottleEvents", "ReadThrottleEvents", "SystemErrors")
        ],
        right=[data.table.metric("ConsumedWriteCapacityUnits", period=ONE_MINUTE)],
        width=8,
    )


def _function_widgets(functions: Sequence[WatchedFunction]) -> list[cloudwatch.IWidget]:
    widgets: list[cloudwatch.IWidget] = [
        cloudwatch.GraphWidget(
            title=f"{watched.label} function",
            left=[
                watched.function.metric_invocations(period=ONE_MINUTE),
                watched.function.metric_errors(period=ONE_MINUTE),
                watched.function.metric_throttles(period=ONE_MINUTE),
            ],
            right=[watched.function.metric_duration(period=ONE_MINUTE, statistic="p99")],
            width=8,
        )
        for watched in functions
    ]
    concurrency = cloudwatch.GraphWidget(
        title="Concurrent executions",
        left=[
            watched.function.metric("ConcurrentExecutions", period=ONE_MINUTE, statistic="Maximum")
            for watched in functions
        ],
        width=8,
    )
    return [*widgets, concurrency]


def _stream_widgets(thanks: ThankYouPipeline) -> list[cloudwatch.IWidget]:
    topic = thanks.topic
    return [
        cloudwatch.GraphWidget(
            title="Stream: events polled, filtered out, invoked, failed, dropped",
            left=_event_source_mapping_counts(thanks.event_source.event_source_mapping_id),
            right=[_iterator_age(thanks)],
            width=8,
        ),
        cloudwatch.GraphWidget(
            title="Thank-you messages",
            left=[
                topic.metric_number_of_messages_published(period=FIVE_MINUTES),
                topic.metric_number_of_notifications_delivered(period=FIVE_MINUTES),
                _failed_notifications(thanks),
            ],
            width=8,
        ),
        cloudwatch.SingleValueWidget(
            title="Dead-letter queue depth", metrics=[_dead_letter_queue_depth(thanks)], width=8
        ),
    ]


def _event_source_mapping_counts(mapping_id: str) -> list[cloudwatch.IMetric]:
    return [
        cloudwatch.Metric(
            namespace="AWS/Lambda",
            metric_name=name,
            dimensions_map={"EventSourceMappingUUID": mapping_id},
            period=FIVE_MINUTES,
            statistic="Sum",
        )
        for name in EVENT_SOURCE_MAPPING_COUNTS
    ]


def _service_widgets() -> list[cloudwatch.IWidget]:
    # The service's own counts (Powertools embedded metrics, dimension service=...).
    return [
        cloudwatch.GraphWidget(
            title="Donations",
            left=[_service_metric(name) for name in SERVICE_DONATION_METRICS],
            width=12,
        ),
        cloudwatch.GraphWidget(
            title="Thank-yous",
            left=[_service_metric(name) for name in SERVICE_THANK_YOU_METRICS],
            width=12,
        ),
    ]


def _service_metric(name: str) -> cloudwatch.Metric:
    return cloudwatch.Metric(
        namespace=constants.METRICS_NAMESPACE,
        metric_name=name,
        dimensions_map={"service": constants.SERVICE_NAME},
        period=FIVE_MINUTES,
        statistic="Sum",
    )
