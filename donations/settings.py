"""Runtime settings, read once from the environment and validated.

The variable names come from ``donations.constants``, which the CDK stack uses too.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from donations.constants import (
    DEFAULT_THANK_YOU_THRESHOLD,
    ENV_GRAPHIQL,
    ENV_INTROSPECTION,
    ENV_LOG_HASH_KEY,
    ENV_LOG_HASH_KEY_SECRET_ARN,
    ENV_STAGE,
    ENV_TABLE_NAME,
    ENV_THANK_YOU_THRESHOLD,
    ENV_TOPIC_ARN,
)

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


class SettingsError(ValueError):
    """A setting is missing or malformed; the function must not start with it."""


@dataclass(frozen=True, slots=True)
class Settings:
    table_name: str
    topic_arn: str | None = None
    thank_you_threshold: int = DEFAULT_THANK_YOU_THRESHOLD
    stage: str = "dev"
    graphiql: bool = True
    introspection: bool = True
    # Keys the hash that stands for a donor id in logs; without it ids can't be linked.
    log_hash_key: str = ""
    # Or where to fetch it at start-up (the deployed functions), so it isn't in their config.
    log_hash_key_secret_arn: str | None = None

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
            thank_you_threshold=_positive_int(env, ENV_THANK_YOU_THRESHOLD),
            stage=stage,
            graphiql=_flag(env, ENV_GRAPHIQL, default=not is_prod),
            introspection=_flag(env, ENV_INTROSPECTION, default=not is_prod),
            log_hash_key=log_hash_key,
            log_hash_key_secret_arn=log_hash_key_secret_arn,
        )


def _flag(env: Mapping[str, str], name: str, *, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise SettingsError(f"{name} must be true or false, not {raw!r}")


def _positive_int(env: Mapping[str, str], name: str) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return DEFAULT_THANK_YOU_THRESHOLD
    if not raw.isdigit() or int(raw) < 1:
        raise SettingsError(f"{name} must be a whole number of at least 1, not {raw!r}")
    return int(raw)
