"""Cold start: a fresh interpreter serving its first request, against the library floor.

``python -m bench.cold_start handler`` imports the handler, builds settings, clients and
schema, and serves a first ``donationCount`` through ``api_handler`` (DynamoDB answered by a
botocore ``before-send`` hook, so no network). ``python -m bench.cold_start floor`` only
imports strawberry, mangum and boto3 and builds the same two clients. Each prints its phase
times as one JSON line and leaves with ``os._exit`` (Lambda never tears an interpreter down).
The parent times each process from spawn to exit and interleaves the two kinds of run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.environment import GATEWAY_AUTHORIZER, LAMBDA_LIKE_ENV
from bench.stats import summary
from donations.constants import ENV_TOPIC_ARN

PROJECT_ROOT = Path(__file__).resolve().parent.parent
TOPIC_ARN = "arn:aws:sns:eu-west-2:123456789012:thank-you"
DONOR_ITEM = (
    b'{"Item": {"pk": {"S": "DONOR#cold-donor"}, "sk": {"S": "DONOR"},'
    b' "donationCount": {"N": "3"}}}'
)


class _Body:
    def __init__(self, content: bytes) -> None:
        self._content = content

    def stream(self, **_: Any) -> Any:
        yield self._content


def _answer_without_network(request: Any, **_: Any) -> Any:
    from botocore.awsrequest import AWSResponse

    headers = {"content-type": "application/x-amz-json-1.0", "x-amzn-requestid": "cold-start"}
    return AWSResponse(request.url, 200, headers, _Body(DONOR_ITEM))


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


def run_handler() -> dict[str, float]:
    started = time.perf_counter()
    import handler

    imported = time.perf_counter()
    import boto3

    # Registered on the session before the clients exist, so they inherit it.
    boto3.setup_default_session()
    boto3.DEFAULT_SESSION.events.register("before-send.dynamodb", _answer_without_network)
    from donations.container import services

    api = handler.create_api_handler(services())
    built = time.perf_counter()
    from local.lambda_context import LocalLambdaContext

    response = api(_first_request_event(), LocalLambdaContext())
    served = time.perf_counter()
    if response["statusCode"] != 200 or '"donationCount":3' not in response["body"]:
        raise RuntimeError(f"first request failed: {response}")
    import resource

    return {
        "import_ms": (imported - started) * 1e3,
        "build_ms": (built - imported) * 1e3,
        "first_request_ms": (served - built) * 1e3,
        # Peak resident memory after the first request (Linux reports KiB): the footprint
        # the memory size must hold.
        "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def run_floor() -> dict[str, float]:
    started = time.perf_counter()
    import boto3
    import mangum  # noqa: F401
    import strawberry  # noqa: F401

    from donations.container import aws_client_config

    imported = time.perf_counter()
    config = aws_client_config()
    boto3.client("dynamodb", config=config)  # type: ignore[call-overload]
    boto3.client("sns", config=config)  # type: ignore[call-overload]
    built = time.perf_counter()
    return {"import_ms": (imported - started) * 1e3, "build_ms": (built - imported) * 1e3}


def run_libraries() -> dict[str, float]:
    """The floor plus every other library the handler loads: Powertools (whose Tracer
    imports the X-Ray SDK) and Strawberry's ASGI integration (Starlette)."""
    started = time.perf_counter()
    import boto3
    import mangum  # noqa: F401
    import strawberry.asgi  # noqa: F401
    from aws_lambda_powertools import Logger, Metrics, Tracer

    from donations.container import aws_client_config

    Logger(service="floor")
    Metrics(namespace="Floor", service="floor")
    Tracer(service="floor")
    imported = time.perf_counter()
    config = aws_client_config()
    boto3.client("dynamodb", config=config)  # type: ignore[call-overload]
    boto3.client("sns", config=config)  # type: ignore[call-overload]
    built = time.perf_counter()
    return {"import_ms": (imported - started) * 1e3, "build_ms": (built - imported) * 1e3}


_KINDS = {"handler": run_handler, "floor": run_floor, "libraries": run_libraries}


def _child_env(*, bytecode: bool) -> dict[str, str]:
    env = {**os.environ, **LAMBDA_LIKE_ENV, ENV_TOPIC_ARN: TOPIC_ARN}
    env.pop("AWS_ENDPOINT_URL", None)
    env.pop("AWS_PROFILE", None)
    env["PYTHONPATH"] = str(PROJECT_ROOT)
    if not bytecode:
        # An empty cache directory and no writing: every module is compiled from source,
        # as happens on Lambda when the asset ships without .pyc files.
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        env["PYTHONPYCACHEPREFIX"] = tempfile.mkdtemp(prefix="bench-nopyc-")
    return env


def spawn(kind: str, *, bytecode: bool = True) -> dict[str, float]:
    """Run one fresh interpreter; its wall time from spawn to exit plus its phases."""
    started = time.perf_counter()
    completed = subprocess.run(
        [sys.executable, "-m", "bench.cold_start", kind],
        cwd=PROJECT_ROOT,
        env=_child_env(bytecode=bytecode),
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - started
    if completed.returncode != 0:
        raise RuntimeError(f"cold start {kind} failed:\n{completed.stderr[-2000:]}")
    phases: dict[str, float] = json.loads(completed.stdout.strip().splitlines()[-1])
    return {"wall_ms": wall * 1e3, **phases}


def measure_cold_start(*, runs: int = 7, without_bytecode_runs: int = 2) -> dict[str, Any]:
    """Interleaved runs of each kind (order rotating), after one unmeasured warm-up each,
    which also leaves compiled bytecode behind, as a packaged asset could ship it."""
    kinds = tuple(_KINDS)
    samples: dict[str, list[dict[str, float]]] = {kind: [] for kind in kinds}
    for kind in kinds:
        spawn(kind)
    for index in range(runs):
        for offset in range(len(kinds)):
            kind = kinds[(index + offset) % len(kinds)]
            samples[kind].append(spawn(kind))
    handlers, floors, libraries = samples["handler"], samples["floor"], samples["libraries"]

    def ratio_to(base: list[dict[str, float]]) -> dict[str, Any]:
        return summary([h["wall_ms"] / b["wall_ms"] for h, b in zip(handlers, base, strict=True)])

    result: dict[str, Any] = {
        "handler_ms": summary([h["wall_ms"] for h in handlers], 1),
        "floor_ms": summary([f["wall_ms"] for f in floors], 1),
        "ratio": ratio_to(floors),
        "libraries_ms": summary([lib["wall_ms"] for lib in libraries], 1),
        "ratio_to_libraries": ratio_to(libraries),
        "handler_phases_ms": {
            phase: summary([h[phase] for h in handlers], 1)
            for phase in ("import_ms", "build_ms", "first_request_ms")
        },
        "handler_max_rss_mb": summary([h["max_rss_mb"] for h in handlers], 1),
        "floor_phases_ms": {
            phase: summary([f[phase] for f in floors], 1) for phase in ("import_ms", "build_ms")
        },
        "goal": 1.10,
        "import_profile": import_profile(),
    }
    if without_bytecode_runs:
        cold = [spawn("handler", bytecode=False)["wall_ms"] for _ in range(without_bytecode_runs)]
        result["handler_without_bytecode_ms"] = summary(cold, 1)
    return result


def _import_times(statement: str) -> dict[str, int]:
    """Self time in µs of every module a fresh interpreter imports (python -X importtime)."""
    completed = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", statement],
        cwd=PROJECT_ROOT,
        env=_child_env(bytecode=True),
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
    """Where the handler's import time goes beyond the floor's, by top-level package."""
    handler = _import_times("import handler")
    floor = _import_times("import strawberry, mangum, boto3")
    extra: dict[str, int] = {}
    for module, self_us in handler.items():
        if module not in floor:
            package = module.split(".")[0]
            extra[package] = extra.get(package, 0) + self_us
    ranked = sorted(extra.items(), key=lambda item: item[1], reverse=True)
    return {
        "handler_import_ms": round(sum(handler.values()) / 1e3, 1),
        "floor_import_ms": round(sum(floor.values()) / 1e3, 1),
        "beyond_floor_ms": {package: round(us / 1e3, 1) for package, us in ranked[:top]},
    }


def main() -> None:
    kind = sys.argv[1]
    phases = _KINDS[kind]()
    sys.stdout.write(json.dumps(phases) + "\n")
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
