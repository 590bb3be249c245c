"""Runtime settings, read once from the environment and validated.

The variable names come from ``donations.constants``, which the CDK stack uses too, and the
CDK stack reads its context values with the same parsers, so the two accept the same words.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import TypeVar

from donations.constants import (
    DEFAULT_DONOR_ID_CLAIM,
    DEFAULT_IDEMPOTENCY_WINDOW_HOURS,
    DEFAULT_THANK_YOU_THRESHOLD,
    ENV_AUTHORIZATION,
    ENV_DONOR_ID_CLAIM,
    ENV_GRAPHIQL,
    ENV_IDEMPOTENCY_WINDOW_HOURS,
    ENV_INTROSPECTION,
    ENV_LOG_HASH_KEY,
    ENV_LOG_HASH_KEY_SECRET_ARN,
    ENV_STAGE,
    ENV_TABLE_NAME,
    ENV_THANK_YOU_THRESHOLD,
    ENV_TOPIC_ARN,
    ENV_TRUSTED_DOCUMENTS,
)

T = TypeVar("T")
Choice = TypeVar("Choice", bound=StrEnum)

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


class Authorization(StrEnum):
    """Who verifies callers in front of the API function (the CDK stack's `authorization`)."""

    NONE = "none"  # an open stage: everyone may do everything (dev, by default)
    JWT = "jwt"  # API Gateway's JWT authorizer; the function reads its claims and scopes
    IAM = "iam"  # SigV4 callers that an IAM policy lets invoke the API: trusted backends


class TrustedDocumentsMode(StrEnum):
    """Which documents the API runs (the CDK stack's `trustedDocuments`)."""

    ALLOW = "allow"  # any document; the manifest's by id too, and APQ registrations
    REQUIRE = "require"  # only the manifest's documents, by id or as their exact text


class SettingsError(ValueError):
    """A setting is missing or malformed; the function must not start with it."""


def parse_bool(value: object) -> bool:
    """``true``/``false`` (or 1/0, yes/no, on/off, any case) from an env var or CDK context."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(f"expected true or false, not {value!r}")


def parse_choice(value: object, choices: type[Choice]) -> Choice:
    """One of an enum's values (any case), from an env var or CDK context."""
    try:
        return choices(str(value).strip().lower())
    except ValueError:
        expected = ", ".join(choice.value for choice in choices)
        raise ValueError(f"expected one of {expected}, not {value!r}") from None


def parse_authorization(value: object) -> Authorization:
    """``none``, ``jwt`` or ``iam``."""
    return parse_choice(value, Authorization)


def parse_trusted_documents(value: object) -> TrustedDocumentsMode:
    """``allow`` or ``require``."""
    return parse_choice(value, TrustedDocumentsMode)


def parse_list(value: object) -> tuple[str, ...]:
    """Comma-separated words (or a JSON list) from an env var, or a list from CDK context."""
    # `-c corsOrigins=https://a.example,https://b.example` arrives as a string, cdk.json as a list.
    if isinstance(value, list | tuple):
        return tuple(str(item) for item in value)
    text = str(value).strip()
    if text.startswith("["):
        return tuple(str(item) for item in json.loads(text))
    return tuple(item.strip() for item in text.split(",") if item.strip())


def parse_positive_int(value: object) -> int:
    """A whole number of at least 1, from an env var or CDK context."""
    text = str(value).strip()
    if not text.isdigit() or int(text) < 1:
        raise ValueError(f"expected a whole number of at least 1, not {value!r}")
    return int(text)


@dataclass(frozen=True, slots=True)
class Settings:
    table_name: str
    topic_arn: str | None = None
    thank_you_threshold: int = DEFAULT_THANK_YOU_THRESHOLD
    # How long a replay with the same idempotency key returns the original donation.
    idempotency_window_hours: int = DEFAULT_IDEMPOTENCY_WINDOW_HOURS
    stage: str = "dev"
    graphiql: bool = True
    introspection: bool = True
    # Keys the hash that stands for a donor id in logs; without it ids can't be linked.
    log_hash_key: str = ""
    # Or where to fetch it at start-up (the deployed functions), so it isn't in their config.
    log_hash_key_secret_arn: str | None = None
    # How callers were verified, so the function knows whose claims to trust: the stack
    # sets both from the same context values that configure the gateway.
    authorization: Authorization = Authorization.NONE
    donor_id_claim: str = DEFAULT_DONOR_ID_CLAIM
    trusted_documents: TrustedDocumentsMode = TrustedDocumentsMode.ALLOW

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        table_name = env.get(ENV_TABLE_NAME, "").strip()
        if not table_name:
            raise SettingsError(f"{ENV_TABLE_NAME} must name the donations table")
        stage = env.get(ENV_STAGE, "dev").strip() or "dev"
        is_prod = stage == "prod"
        log_hash_key = env.get(ENV_LOG_HASH_KEY, "")
        log_hash_key_secret_arn = env.get(ENV_LOG_HASH_KEY_SECRET_ARN, "").strip() or None
        if is_prod and not (log_hash_key or log_hash_key_secret_arn):
            # Unkeyed, the hash of a guessable donor id can be reversed by trying ids.
            raise SettingsError(
                f"either {ENV_LOG_HASH_KEY} or {ENV_LOG_HASH_KEY_SECRET_ARN} must be set in prod"
            )
        return cls(
            table_name=table_name,
            topic_arn=env.get(ENV_TOPIC_ARN, "").strip() or None,
            thank_you_threshold=_read(
                env, ENV_THANK_YOU_THRESHOLD, parse_positive_int, DEFAULT_THANK_YOU_THRESHOLD
            ),
            idempotency_window_hours=_read(
                env,
                ENV_IDEMPOTENCY_WINDOW_HOURS,
                parse_positive_int,
                DEFAULT_IDEMPOTENCY_WINDOW_HOURS,
            ),
            stage=stage,
            graphiql=_read(env, ENV_GRAPHIQL, parse_bool, not is_prod),
            introspection=_read(env, ENV_INTROSPECTION, parse_bool, not is_prod),
            log_hash_key=log_hash_key,
            log_hash_key_secret_arn=log_hash_key_secret_arn,
            # Closed unless told otherwise in prod, as the stack deploys it.
            authorization=_read(
                env,
                ENV_AUTHORIZATION,
                parse_authorization,
                Authorization.JWT if is_prod else Authorization.NONE,
            ),
            donor_id_claim=env.get(ENV_DONOR_ID_CLAIM, "").strip() or DEFAULT_DONOR_ID_CLAIM,
            trusted_documents=_read(
                env, ENV_TRUSTED_DOCUMENTS, parse_trusted_documents, TrustedDocumentsMode.ALLOW
            ),
        )


def _read(env: Mapping[str, str], name: str, parse: Callable[[str], T], default: T) -> T:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        return parse(raw)
    except ValueError as error:
        raise SettingsError(f"{name}: {error}") from None
