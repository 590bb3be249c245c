"""The deployed functions read the log-hash key from Secrets Manager, once per container."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from donations.constants import ENV_LOG_HASH_KEY, ENV_LOG_HASH_KEY_SECRET_ARN
from donations.container import LogHashKeyError
from donations.observability import configure_donor_hashing, donor_ref
from tests.support.aws import EmulatedAccount


def _expected_ref(key: str, donor_id: str) -> str:
    return hmac.new(key.encode(), donor_id.encode(), hashlib.sha256).hexdigest()[:16]


@pytest.fixture
def secret_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.delenv(ENV_LOG_HASH_KEY, raising=False)
    yield boto3.client("secretsmanager")
    configure_donor_hashing("")  # leave no key behind for the next test


@pytest.mark.parametrize(
    "value",
    [
        # What the stack generates: a plain string (infra/stack.py).
        "k3yGeneratedBySecretsManagerWithoutPunctuation0123456789abcdef",
        # A JSON string is not parsed: the whole SecretString is the key.
        json.dumps({"key": "value"}),
    ],
)
def test_the_key_is_fetched_from_the_secret_named_by_its_arn(
    aws: EmulatedAccount, secret_env: Any, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    arn = secret_env.create_secret(Name="LogHashKey", SecretString=value)["ARN"]
    monkeypatch.setenv(ENV_LOG_HASH_KEY_SECRET_ARN, arn)

    aws.compose()

    assert donor_ref("x") == _expected_ref(value, "x")


def test_an_explicit_key_wins_over_the_secret(
    aws: EmulatedAccount, secret_env: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    arn = secret_env.create_secret(Name="LogHashKey", SecretString="from-secret")["ARN"]
    monkeypatch.setenv(ENV_LOG_HASH_KEY_SECRET_ARN, arn)
    monkeypatch.setenv(ENV_LOG_HASH_KEY, "from-env")

    aws.compose()

    assert donor_ref("x") == _expected_ref("from-env", "x")


def test_an_unreadable_secret_stops_the_function_with_a_clear_reason(
    aws: EmulatedAccount, secret_env: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    arn = "arn:aws:secretsmanager:eu-west-2:123456789012:secret:Missing-abcdef"
    monkeypatch.setenv(ENV_LOG_HASH_KEY_SECRET_ARN, arn)

    with pytest.raises(LogHashKeyError, match="ResourceNotFoundException") as raised:
        aws.compose()

    assert arn in str(raised.value)
