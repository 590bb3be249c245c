from __future__ import annotations

from datetime import timedelta

import pytest

from donations.constants import (
    DEFAULT_IDEMPOTENCY_WINDOW_HOURS,
    ENV_AUTHORIZATION,
    ENV_DONOR_ID_CLAIM,
    ENV_GRAPHIQL,
    ENV_IDEMPOTENCY_WINDOW_HOURS,
    ENV_LOG_HASH_KEY,
    ENV_LOG_HASH_KEY_SECRET_ARN,
    ENV_STAGE,
    ENV_TABLE_NAME,
    ENV_THANK_YOU_THRESHOLD,
    ENV_TOPIC_ARN,
    ENV_TRUSTED_DOCUMENTS,
)
from donations.domain.ledger import DEFAULT_IDEMPOTENCY_WINDOW
from donations.settings import Authorization, Settings, SettingsError, TrustedDocumentsMode


def test_defaults_for_development() -> None:
    settings = Settings.from_env({ENV_TABLE_NAME: "donations"})

    assert settings.thank_you_threshold == 2
    assert settings.graphiql
    assert settings.introspection
    assert settings.topic_arn is None
    assert settings.idempotency_window_hours == 24
    assert settings.authorization is Authorization.NONE
    assert settings.donor_id_claim == "sub"
    assert settings.trusted_documents is TrustedDocumentsMode.ALLOW


def test_a_stage_can_be_told_to_run_only_trusted_documents() -> None:
    settings = Settings.from_env({ENV_TABLE_NAME: "t", ENV_TRUSTED_DOCUMENTS: "Require"})

    assert settings.trusted_documents is TrustedDocumentsMode.REQUIRE


def test_the_idempotency_window_is_read_in_hours() -> None:
    settings = Settings.from_env({ENV_TABLE_NAME: "t", ENV_IDEMPOTENCY_WINDOW_HOURS: "48"})

    assert settings.idempotency_window_hours == 48


def test_the_ledger_and_the_settings_agree_on_the_default_window() -> None:
    assert timedelta(hours=DEFAULT_IDEMPOTENCY_WINDOW_HOURS) == DEFAULT_IDEMPOTENCY_WINDOW


def test_production_checks_callers_unless_told_otherwise() -> None:
    prod = {ENV_TABLE_NAME: "t", ENV_STAGE: "prod", ENV_LOG_HASH_KEY: "k"}

    assert Settings.from_env(prod).authorization is Authorization.JWT
    iam = Settings.from_env({**prod, ENV_AUTHORIZATION: "IAM", ENV_DONOR_ID_CLAIM: "email"})
    assert iam.authorization is Authorization.IAM
    assert iam.donor_id_claim == "email"


def test_production_turns_graphiql_and_introspection_off() -> None:
    settings = Settings.from_env(
        {ENV_TABLE_NAME: "t", ENV_STAGE: "prod", ENV_TOPIC_ARN: "arn", ENV_LOG_HASH_KEY: "k"}
    )

    assert not settings.graphiql
    assert not settings.introspection
    assert settings.topic_arn == "arn"


def test_production_accepts_the_log_hash_key_secret_arn_instead_of_the_key() -> None:
    arn = "arn:aws:secretsmanager:eu-west-2:123456789012:secret:LogHashKey-abc123"
    settings = Settings.from_env(
        {ENV_TABLE_NAME: "t", ENV_STAGE: "prod", ENV_LOG_HASH_KEY_SECRET_ARN: arn}
    )

    assert settings.log_hash_key == ""
    assert settings.log_hash_key_secret_arn == arn


def test_production_without_either_log_hash_setting_names_both() -> None:
    with pytest.raises(SettingsError, match=f"{ENV_LOG_HASH_KEY} or {ENV_LOG_HASH_KEY_SECRET_ARN}"):
        Settings.from_env({ENV_TABLE_NAME: "t", ENV_STAGE: "prod"})


@pytest.mark.parametrize(
    "env",
    [
        {},
        {ENV_TABLE_NAME: "t", ENV_THANK_YOU_THRESHOLD: "0"},
        {ENV_TABLE_NAME: "t", ENV_THANK_YOU_THRESHOLD: "two"},
        {ENV_TABLE_NAME: "t", ENV_GRAPHIQL: "maybe"},
        {ENV_TABLE_NAME: "t", ENV_IDEMPOTENCY_WINDOW_HOURS: "0"},
        {ENV_TABLE_NAME: "t", ENV_IDEMPOTENCY_WINDOW_HOURS: "1.5"},
        {ENV_TABLE_NAME: "t", ENV_AUTHORIZATION: "cognito"},
        {ENV_TABLE_NAME: "t", ENV_TRUSTED_DOCUMENTS: "only"},
        {ENV_TABLE_NAME: "t", ENV_STAGE: "prod"},
    ],
)
def test_malformed_settings_stop_the_function_with_a_reason(env: dict[str, str]) -> None:
    with pytest.raises(SettingsError):
        Settings.from_env(env)
