"""Names shared by the runtime and the CDK app, so the two can never drift apart.

The CDK stack sets these environment variables on the functions; ``donations.settings``
reads them. Tests import the same names to assert both sides.
"""

from typing import Final

SERVICE_NAME: Final = "donations"
METRICS_NAMESPACE: Final = "Donations"

# Environment variable names.
ENV_TABLE_NAME: Final = "DONATIONS_TABLE_NAME"
ENV_TOPIC_ARN: Final = "THANK_YOU_TOPIC_ARN"
ENV_THANK_YOU_THRESHOLD: Final = "THANK_YOU_THRESHOLD"
ENV_IDEMPOTENCY_WINDOW_HOURS: Final = "IDEMPOTENCY_WINDOW_HOURS"
ENV_STAGE: Final = "STAGE"
ENV_GRAPHIQL: Final = "GRAPHIQL_ENABLED"
ENV_INTROSPECTION: Final = "INTROSPECTION_ENABLED"
ENV_LOG_HASH_KEY: Final = "LOG_HASH_KEY"
ENV_LOG_HASH_KEY_SECRET_ARN: Final = "LOG_HASH_KEY_SECRET_ARN"  # noqa: S105 - a name, not a secret
ENV_AWS_ENDPOINT_URL: Final = "AWS_ENDPOINT_URL"
# Who verified the caller before the function runs: none (an open stage), jwt or iam.
ENV_AUTHORIZATION: Final = "AUTHORIZATION"
# The JWT claim that names the signed-in donor (-c donorIdClaim=..., default `sub`).
ENV_DONOR_ID_CLAIM: Final = "DONOR_ID_CLAIM"
# allow (default) or require: whether the API runs only trusted documents (-c trustedDocuments).
ENV_TRUSTED_DOCUMENTS: Final = "TRUSTED_DOCUMENTS"
# Origins a browser may call the API from (-c corsOrigins in the stack; `make run` reads it).
ENV_CORS_ORIGINS: Final = "CORS_ORIGINS"

# Table layout (README, "Data model"): the key names and every attribute name, in one place
# for the DynamoDB adapter, the stream reader, the local emulator and the CDK stack's filters.
PARTITION_KEY: Final = "pk"
SORT_KEY: Final = "sk"
DONOR_KEY_PREFIX: Final = "DONOR#"
DONOR_SORT_KEY: Final = "DONOR"
DONATION_KEY_PREFIX: Final = "DONATION#"
IDEMPOTENCY_KEY_PREFIX: Final = "IDEMPOTENCY#"
IDEMPOTENCY_SORT_KEY: Final = "IDEMPOTENCY"
# What stays of forgotten donors' donations: anonymous totals per calendar month.
ANONYMOUS_TOTALS_KEY_PREFIX: Final = "ERASED#"
ANONYMOUS_TOTALS_SORT_KEY: Final = "ERASED"
# Donor item.
DONATION_COUNT_ATTRIBUTE: Final = "donationCount"
TOTAL_ATTRIBUTE_PREFIX: Final = "total#"  # one per currency, in minor units
DONOR_ID_ATTRIBUTE: Final = "donorId"
LAST_RECORDED_AT_ATTRIBUTE: Final = "lastRecordedAt"
LAST_REQUEST_ATTRIBUTE: Final = "lastRequestId"
THANKED_AT_ATTRIBUTE: Final = "thankedAt"
THANK_YOU_MESSAGE_ID_ATTRIBUTE: Final = "thankYouMessageId"
# Donation item, and the copy of it an idempotency marker keeps.
DONATION_ID_ATTRIBUTE: Final = "donationId"
AMOUNT_MINOR_ATTRIBUTE: Final = "amountMinor"
CURRENCY_ATTRIBUTE: Final = "currency"
DONATED_AT_ATTRIBUTE: Final = "donatedAt"
RECORDED_AT_ATTRIBUTE: Final = "recordedAt"
IDEMPOTENCY_KEY_ATTRIBUTE: Final = "idempotencyKey"
FINGERPRINT_ATTRIBUTE: Final = "fingerprint"
# Documents registered by automatic persisted queries: the text, keyed by its SHA-256 hash.
DOCUMENT_KEY_PREFIX: Final = "DOCUMENT#"
DOCUMENT_SORT_KEY: Final = "DOCUMENT"
DOCUMENT_ATTRIBUTE: Final = "document"
# Idempotency markers and registered documents: when the item lapses, in epoch seconds (the
# table's DynamoDB TTL attribute, so the sweeper removes them some time after they lapse).
EXPIRES_AT_ATTRIBUTE: Final = "expiresAt"

DEFAULT_THANK_YOU_THRESHOLD: Final = 2
DEFAULT_IDEMPOTENCY_WINDOW_HOURS: Final = 24

# OAuth 2.0 scopes (a Cognito resource server's identifier is `donations`): writers record,
# readers read any donor. A token with neither may read only the donor its claim names.
WRITE_SCOPE: Final = "donations/write"
READ_SCOPE: Final = "donations/read"
DEFAULT_DONOR_ID_CLAIM: Final = "sub"

# Lambda entry points in handler.py.
API_HANDLER: Final = "handler.api_handler"
THANK_YOU_HANDLER: Final = "handler.thank_you_handler"

# GraphQL route served by the HTTP API (POST for operations, GET for GraphiQL).
GRAPHQL_PATH: Final = "/graphql"

# CORS as the dev stage's gateway answers it, and `make run` too (local/cors.py).
CORS_ALLOWED_METHODS: Final = ("GET", "POST", "OPTIONS")
CORS_ALLOWED_HEADERS: Final = ("content-type", "authorization", "x-request-id")
CORS_EXPOSED_HEADERS: Final = ("x-request-id",)
CORS_MAX_AGE_SECONDS: Final = 3600

# CloudFormation output names (used by `make smoke` and the README).
OUTPUT_GRAPHQL_URL: Final = "GraphQLUrl"
OUTPUT_TABLE_NAME: Final = "TableName"
OUTPUT_TOPIC_ARN: Final = "ThankYouTopicArn"
OUTPUT_DLQ_URL: Final = "ThankYouDeadLetterQueueUrl"
OUTPUT_LOG_HASH_KEY_SECRET_ARN: Final = "LogHashKeySecretArn"  # noqa: S105 - a name, not a secret
OUTPUT_DASHBOARD_NAME: Final = "DashboardName"
