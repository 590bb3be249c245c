"""Cold start: a fresh interpreter in Lambda mode serving its first request, against references.

``python -m bench.cold_start handler`` does what Lambda's init and first invoke do: imports
``handler`` in Lambda mode (which builds the API function's clients, schema and app at
import) and serves a first ``donationCount`` through ``handler.api_handler``, with
``_X_AMZN_TRACE_ID`` set (sampled) as the runtime sets it before an invocation. DynamoDB is
answered by a botocore ``before-send`` hook, so there is no network. ``minimal_app`` does the
same for the same-stack minimal app (``bench.minimal_app``): the goal is a ratio to it.
``floor`` only imports strawberry, mangum and boto3 and builds two clients: the reference of
the old figures. Each child prints its phase times as one JSON line and leaves with
``os._exit`` (Lambda never tears an interpreter down). The parent takes each process's CPU
time from spawn to exit (and its wall time, for context), after an unmeasured run of each
that leaves bytecode behind, as the asset ships it, and interleaves the kinds.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from typing import Any

from bench.environment import (
    GATEWAY_AUTHORIZER,
    LOG_HASH_KEY_SECRET_ARN,
    PROJECT_ROOT,
    child_env,
    trace_header,
)
from bench.stats import summary

GOAL = 1.15
ANSWERS = {
    "dynamodb": b'{"Item": {"donationCount": {"N": "3"}}}',
    "secrets-manager": json.dumps(
        {"ARN": LOG_HASH_KEY_SECRET_ARN, "Name": "LogHashKey", "SecretString": "cold-key"}
    ).encode(),
}


class _Body:
    def __init__(self, content: bytes) -> None:
        self._content = content

    def stream(self, **_: Any) -> Any:
        yield self._content


def _answer_without_network(request: Any, event_name: str, **_: Any) -> Any:
    from botocore.awsrequest import AWSResponse

    headers = {"content-type": "application/x-amz-json-1.0", "x-amzn-requestid": "cold-start"}
    return AWSResponse(request.url, 200, headers, _Body(ANSWERS[event_name.split(".")[1]]))


def answer_without_network() -> None:
    import boto3

    # Registered on the session before any client exists, so the clients inherit it.
    boto3.setup_default_session()
    for service in ANSWERS:
        boto3.DEFAULT_SESSION.events.register(f"before-send.{service}", _answer_without_network)  # type: ignore[union-attr]


def _first_request_event() -> dict[str, Any]:
    event: dict[str, Any] = json.loads(
        (PROJECT_ROOT / "local" / "events" / "http_api_graphql_post.json").read_text()
    )
    event["body"] = json.dumps(
        {
            "query": "query C($id: ID!) { donationCount(donorId: $id) }",
            "variables": {"id": "cold-donor"},
        }
    )
    event["requestContext"]["authorizer"] = GATEWAY_AUTHORIZER
    return event


def _first_invoke(function: Any) -> None:
    from local.lambda_context import LocalLambdaContext

    os.environ["_X_AMZN_TRACE_ID"] = trace_header(sampled=True)
    response = function(_first_request_event(), LocalLambdaContext())
    if response["statusCode"] != 200 or '"donationCount":3' not in response["body"]:
        raise RuntimeError(f"first request failed: {response}")


def _phases(started: float, initialised: float, served: float) -> dict[str, float]:
    return {
        "init_ms": (initialised - started) * 1e3,
        "first_request_ms": (served - initialised) * 1e3,
        # Peak resident memory after the first request (Linux reports KiB): the footprint
        # the memory size must hold.
        "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def run_handler() -> dict[str, float]:
    started = time.process_time()
    answer_without_network()
    import handler

    initialised = time.process_time()
    _first_invoke(handler.api_handler)
    return _phases(started, initialised, time.process_time())


def run_minimal_app() -> dict[str, float]:
    started = time.process_time()
    answer_without_network()
    from bench import minimal_app

    initialised = time.process_time()
    _first_invoke(minimal_app.handler)
    return _phases(started, initialised, time.process_time())


def run_floor() -> dict[str, float]:
    started = time.process_time()
    import boto3
    import mangum  # noqa: F401
    import strawberry  # noqa: F401

    imported = time.process_time()
    boto3.client("dynamodb")
    boto3.client("sns")
    return _phases(started, imported, time.process_time())


_KINDS = {"handler": run_handler, "minimal_app": run_minimal_app, "floor": run_floor}
PHASES = ("init_ms", "first_request_ms")


def _env(*, bytecode: bool) -> dict[str, str]:
    env = child_env()
    if not bytecode:
        # An empty cache directory and no writing: every module is compiled from source,
        # as happens on Lambda when the asset ships without .pyc files.
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        env["PYTHONPYCACHEPREFIX"] = tempfile.mkdtemp(prefix="bench-nopyc-")
    return env


def spawn(kind: str, *, bytecode: bool = True) -> dict[str, float]:
    """Run one fresh interpreter: its CPU time (user + system) from spawn to exit, which a
    busy shared machine disturbs far less than wall time, the wall time, and its phases."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    completed = subprocess.run(
        [sys.executable, "-m", "bench.cold_start", kind],
        cwd=PROJECT_ROOT,
        env=_env(bytecode=bytecode),
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if completed.returncode != 0:
        raise RuntimeError(f"cold start {kind} failed:\n{completed.stderr[-2000:]}")
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    phases: dict[str, float] = json.loads(completed.stdout.strip().splitlines()[-1])
    return {"cpu_ms": cpu * 1e3, "wall_ms": wall * 1e3, **phases}


def measure_cold_start(*, runs: int = 7, without_bytecode_runs: int = 2) -> dict[str, Any]:
    """Interleaved runs of each kind (order rotating), after one unmeasured warm-up each."""
    kinds = tuple(_KINDS)
    samples: dict[str, list[dict[str, float]]] = {kind: [] for kind in kinds}
    for kind in kinds:
        spawn(kind)
    for index in range(runs):
        for offset in range(len(kinds)):
            kind = kinds[(index + offset) % len(kinds)]
            samples[kind].append(spawn(kind))
    handlers = samples["handler"]

    def ratio_to(kind: str) -> dict[str, Any]:
        pairs = zip(handlers, samples[kind], strict=True)
        return summary([ours["cpu_ms"] / theirs["cpu_ms"] for ours, theirs in pairs])

    result: dict[str, Any] = {
        **{f"{kind}_ms": summary([run["cpu_ms"] for run in samples[kind]], 1) for kind in kinds},
        **{
            f"{kind}_wall_ms": summary([run["wall_ms"] for run in samples[kind]], 1)
            for kind in kinds
        },
        "ratio": ratio_to("minimal_app"),
        "ratio_to_floor": ratio_to("floor"),
        "phases_ms": {
            kind: {phase: summary([run[phase] for run in samples[kind]], 1) for phase in PHASES}
            for kind in kinds
        },
        "handler_max_rss_mb": summary([run["max_rss_mb"] for run in handlers], 1),
        "goal": GOAL,
        "import_profile": import_profile(),
    }
    if without_bytecode_runs:
        cold = [spawn("handler", bytecode=False)["cpu_ms"] for _ in range(without_bytecode_runs)]
        result["handler_without_bytecode_ms"] = summary(cold, 1)
    return result


def _import_times(statement: str) -> dict[str, int]:
    """Self time in µs of every module a fresh interpreter imports (python -X importtime)."""
    completed = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", statement],
        cwd=PROJECT_ROOT,
        env=_env(bytecode=True),
        capture_output=True,
        text=True,
        check=True,
    )
    times: dict[str, int] = {}
    for line in completed.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            self_us, _, name = line.removeprefix("import time:").split("|")
            if self_us.strip().isdigit():
                times[name.strip()] = int(self_us)
    return times


def import_profile(top: int = 8) -> dict[str, Any]:
    """Where the handler's import time goes beyond the minimal app's, by top-level package
    (in Lambda mode ``import handler`` also builds the API, and imports what that needs)."""
    offline = "import bench.cold_start as cold; cold.answer_without_network(); import "
    handler = _import_times(offline + "handler")
    minimal = _import_times(offline + "bench.minimal_app")
    extra: dict[str, int] = {}
    for module, self_us in handler.items():
        if module not in minimal:
            package = module.split(".")[0]
            extra[package] = extra.get(package, 0) + self_us
    ranked = sorted(extra.items(), key=lambda item: item[1], reverse=True)
    return {
        "handler_import_ms": round(sum(handler.values()) / 1e3, 1),
        "minimal_app_import_ms": round(sum(minimal.values()) / 1e3, 1),
        "beyond_minimal_app_ms": {package: round(us / 1e3, 1) for package, us in ranked[:top]},
    }


def main() -> None:
    kind = sys.argv[1]
    phases = _KINDS[kind]()
    sys.stdout.write(json.dumps(phases) + "\n")
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
