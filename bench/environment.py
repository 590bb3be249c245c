"""Process settings the measurements share: Lambda mode, a production stage, no network.

"Lambda mode" is the environment the Lambda runtime gives a function, because libraries
behave differently in it: the X-Ray SDK skips its sampler and its own client (~200 ms at
import outside Lambda, ~13 ms inside), Powertools turns tracing on, and our entry points are
built at import. Each measurement runs in a child interpreter started with this environment,
so nothing of it leaks into the process (or the test session) that asked for it.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from donations.constants import (
    API_HANDLER,
    ENV_LOG_HASH_KEY,
    ENV_LOG_HASH_KEY_SECRET_ARN,
    ENV_STAGE,
    ENV_TABLE_NAME,
    ENV_TOPIC_ARN,
    READ_SCOPE,
    SERVICE_NAME,
    WRITE_SCOPE,
)
from local.lambda_events import jwt_authorizer

PROJECT_ROOT = Path(__file__).resolve().parent.parent
LOG_HASH_KEY_SECRET_ARN = "arn:aws:secretsmanager:eu-west-2:123456789012:secret:LogHashKey-AbCdEf"

# What the API function sees in production (STAGE=prod: no GraphiQL, no introspection),
# plus fake credentials so nothing can reach a real account from a benchmark.
SERVICE_ENV: Mapping[str, str] = {
    ENV_STAGE: "prod",
    ENV_TABLE_NAME: "donations-bench",
    ENV_LOG_HASH_KEY: "bench-log-hash-key",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "eu-west-2",
    "AWS_REGION": "eu-west-2",
    "POWERTOOLS_SERVICE_NAME": SERVICE_NAME,
    "POWERTOOLS_DEV": "false",
}

# The variables the Lambda runtime sets that our code or its libraries read. Tracing stays on,
# as in production: the X-Ray SDK then sends each subsegment as one non-blocking UDP datagram
# to the daemon address (the runtime's is 169.254.79.129:2000). Here it goes to a local port
# where nothing listens: the send costs what it costs in Lambda and nothing waits for it.
# The log-hash key comes from Secrets Manager at start-up, as the stack configures it.
LAMBDA_ENV: Mapping[str, str] = {
    **{name: value for name, value in SERVICE_ENV.items() if name != ENV_LOG_HASH_KEY},
    ENV_LOG_HASH_KEY_SECRET_ARN: LOG_HASH_KEY_SECRET_ARN,
    "LAMBDA_TASK_ROOT": str(PROJECT_ROOT),
    "AWS_LAMBDA_FUNCTION_NAME": "donations-bench-api",
    "AWS_LAMBDA_FUNCTION_VERSION": "1",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1024",
    "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
    "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
    "_HANDLER": API_HANDLER,
    "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:2000",
    "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
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


def trace_header(*, sampled: bool) -> str:
    """A fresh ``_X_AMZN_TRACE_ID``, as the runtime sets it before each invocation."""
    trace = uuid.uuid4().hex
    return f"Root=1-{trace[:8]}-{trace[8:]};Parent={uuid.uuid4().hex[:16]};Sampled={int(sampled)}"


def child_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of a measuring child: this one's, in Lambda mode, never a real account."""
    env = {**os.environ, **LAMBDA_ENV, **(extra or {})}
    leftovers = ("AWS_ENDPOINT_URL", "AWS_PROFILE", "POWERTOOLS_TRACE_DISABLED", "_X_AMZN_TRACE_ID")
    # The API function has no topic and reads its key from the secret (LAMBDA_ENV).
    for name in (*leftovers, ENV_LOG_HASH_KEY, ENV_TOPIC_ARN):
        env.pop(name, None)
    env["PYTHONPATH"] = str(PROJECT_ROOT)
    return env


def run_measurement(
    module: str,
    *arguments: object,
    what: str,
    env: Mapping[str, str] | None = None,
    timeout: float | None = None,
) -> dict[str, Any]:
    """Run ``python -m module arguments`` in a fresh interpreter (by default a measuring child
    in Lambda mode) and return the JSON object it prints on its last line."""
    completed = subprocess.run(
        [sys.executable, "-m", module, *map(str, arguments)],
        cwd=PROJECT_ROOT,
        env=child_env() if env is None else dict(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"{what} failed:\n{completed.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    return result


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
