"""Process settings the measurements share: a production-like stage, no network, quiet logs."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator, Mapping
from typing import Any

from donations.constants import (
    ENV_LOG_HASH_KEY,
    ENV_STAGE,
    ENV_TABLE_NAME,
    READ_SCOPE,
    WRITE_SCOPE,
)
from local.lambda_events import jwt_authorizer

# What the API function sees in production (STAGE=prod: no GraphiQL, no introspection),
# plus fake credentials so nothing can reach a real account from a benchmark.
LAMBDA_LIKE_ENV: Mapping[str, str] = {
    ENV_STAGE: "prod",
    ENV_TABLE_NAME: "donations-bench",
    ENV_LOG_HASH_KEY: "bench-log-hash-key",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "eu-west-2",
    # X-Ray needs the Lambda runtime's daemon; off the platform Powertools disables it anyway.
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_DEV": "false",
}


# What production's JWT authorizer puts in every event (prod checks callers): a backend
# that records and reads, so each measured request also passes the access policy.
GATEWAY_AUTHORIZER: Mapping[str, Any] = jwt_authorizer(
    {
        "sub": "bench-backend",
        "client_id": "bench-backend",
        "token_use": "access",
        "scope": f"{WRITE_SCOPE} {READ_SCOPE}",
        "iat": 1_795_327_200,
        "exp": 1_795_330_800,
    }
)


@contextlib.contextmanager
def environment(values: Mapping[str, str | None]) -> Iterator[None]:
    """Set (or, for None, remove) variables for the duration, then put everything back."""
    saved = {name: os.environ.get(name) for name in values}
    try:
        for name, value in values.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextlib.contextmanager
def stdout_discarded() -> Iterator[None]:
    """Send file descriptor 1 to /dev/null: log lines and EMF metrics are still formatted
    and written (that is part of the cost, as in Lambda), but not shown."""
    sys.stdout.flush()
    saved = os.dup(1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)
