"""`make bench`: prints the five figures, writes them to bench/results/latest.json and
compares them with the previous run.

    uv run --frozen python -m bench            # the full run (about two minutes)
    uv run --frozen python -m bench --quick    # fewer rounds, for a quick look
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.stats import spread

RESULTS = Path(__file__).resolve().parent / "results"
LATEST = RESULTS / "latest.json"
PREVIOUS = RESULTS / "previous.json"
SECTIONS = ("warm", "cold_start", "round_trips", "asset", "worst_case")
# Raised whenever what a figure means changes, so a run is never compared with a different
# measurement. 2: Lambda mode, canned AWS, references with botocore's defaults (issue 13).
METHOD = 2


def _verdict(ok: bool) -> str:
    return "meets goal" if ok else "MISSES goal"


def _git_commit() -> str:
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{head}{'+changes' if dirty else ''}"


def print_warm(warm: dict[str, Any]) -> None:
    print("\n1. Warm CPU per request (process CPU time), in Lambda mode: handler.api_handler with")
    print("   an HTTP API v2 event and X-Ray on, AWS answered by canned responses at botocore's")
    print("   send; goal: ratio to graphql-core + the same DynamoDB calls (default boto3 client)")
    print(
        f"   {'operation':<30}{'handler µs':>11}{'graphql-core µs':>16}"
        f"{'strawberry, no HTTP':>21}   ratio (goal ≤ {warm['goal']})"
    )
    for name, figures in warm.items():
        if not isinstance(figures, dict) or "ratio" not in figures:
            continue
        ok = figures["ratio"]["median"] <= warm["goal"]
        print(
            f"   {name:<30}{figures['handler_us']['median']:>11.0f}"
            f"{figures['graphql_core_us']['median']:>16.0f}"
            f"{figures['strawberry_no_http_us']['median']:>21.0f}"
            f"   {spread(figures['ratio'])}  {_verdict(ok)}"
        )
        if "minimal_app_us" in figures:
            print(
                f"   {'':<30}the same-stack minimal app: "
                f"{figures['minimal_app_us']['median']:.0f} µs; handler/minimal app = "
                f"{spread(figures['ratio_to_minimal_app'])}"
            )


def print_cold(cold: dict[str, Any]) -> None:
    phases = cold["phases_ms"]

    def line(kind: str) -> str:
        return (
            f"{spread(cold[f'{kind}_ms'], ' ms')}: init {phases[kind]['init_ms']['median']:.0f}"
            f" + first request {phases[kind]['first_request_ms']['median']:.1f} ms"
        )

    print("\n2. Cold start in Lambda mode: fresh interpreter to first answer, CPU time (user +")
    print("   system) from spawn to exit; the phases are the child's own CPU time")
    print(f"   handler      {line('handler')}")
    print(f"   minimal app  {line('minimal_app')} (the same stack, one field)")
    ok = cold["ratio"]["median"] <= cold["goal"]
    print(f"   ratio        {spread(cold['ratio'])} (goal ≤ {cold['goal']})  {_verdict(ok)}")
    print(
        f"   old floor    {spread(cold['floor_ms'], ' ms')} (strawberry, mangum, boto3 + 2"
        f" clients); handler/floor = {spread(cold['ratio_to_floor'])}"
    )
    print(f"   peak memory after the first request: {spread(cold['handler_max_rss_mb'], ' MB')}")
    profile = cold["import_profile"]
    beyond = ", ".join(f"{name} {ms:.0f}" for name, ms in profile["beyond_minimal_app_ms"].items())
    print(
        f"   import self-time beyond the minimal app's (-X importtime, ms; `handler` is the"
        f" build at import): {beyond}"
    )
    if "handler_without_bytecode_ms" in cold:
        print(
            "   handler with no .pyc (every module compiled at start, as an asset without"
            f" bytecode): {spread(cold['handler_without_bytecode_ms'], ' ms')}"
        )


def print_round_trips(round_trips: dict[str, Any]) -> None:
    print("\n3. Requests per operation (moto; counted with botocore events, incl. retries)")
    for name, figures in round_trips.items():
        if not isinstance(figures, dict):
            continue
        requests = ", ".join(figures["requests"]) or "none"
        mark = "ok" if figures["ok"] else "WRONG"
        print(f"   {name:<31}{requests}")
        print(f"   {'':<31}expected {figures['expected']}: {mark}")


def print_asset(asset: dict[str, Any]) -> None:
    ok = asset["zipped_bytes"] <= asset["goal_zipped_bytes"]
    print(f"\n4. Lambda asset ({asset['built_by']})")
    print(
        f"   {asset['zipped_bytes'] / 1e6:.2f} MB zipped, bytecode included (goal ≤ "
        f"{asset['goal_zipped_bytes'] / 1e6:.0f} MB) {_verdict(ok)}; "
        f"{asset['unzipped_bytes'] / 1e6:.2f} MB unzipped; {asset['files']} files, "
        f"{asset['python_files']} .py, {asset['bytecode_files']} .pyc "
        f"({asset['bytecode_zipped_bytes'] / 1e6:.2f} MB zipped)"
    )
    largest = ", ".join(
        f"{item['package']} {item['zipped_bytes'] / 1e6:.2f}" for item in asset["contents"][:8]
    )
    print(f"   largest (MB zipped): {largest}")


def print_worst_case(worst_case: dict[str, Any]) -> None:
    worst = worst_case["worst"]
    ok = worst["ratio"]["median"] <= worst_case["goal"]
    print(
        "\n5. Worst case: the costliest document found within the limits "
        f"({worst_case['accepted']} of {worst_case['candidates']} shapes accepted, "
        f"{worst_case['search_examples']} searched), CPU through the handler with fresh text"
        '\n   each time, against a plain { donationCount(donorId: "d") } sent as clients do'
    )
    print(f"   worst     {worst['family']}: {worst['shape']}")
    print(
        f"             {spread(worst['cpu_ms'], ' ms')}; ratio {spread(worst['ratio'])} "
        f"(goal ≤ {worst_case['goal']:.0f})  {_verdict(ok)}"
    )
    print(
        f"   plain     {spread(worst_case['plain_ms'], ' ms')}; with fresh text "
        f"{worst_case['plain_fresh_text_ms']['median']} ms"
    )
    families = ", ".join(
        f"{family} {figures['ratio']}" for family, figures in worst_case["worst_by_family"].items()
    )
    print(f"   worst of each family (screening, ratio): {families}")


def _headline(results: dict[str, Any]) -> dict[str, float]:
    figures: dict[str, float] = {}
    warm = results.get("warm", {})
    for name, value in warm.items():
        if isinstance(value, dict) and "ratio" in value:
            figures[f"warm ratio {name}"] = value["ratio"]["median"]
            figures[f"warm µs {name}"] = value["handler_us"]["median"]
    if "cold_start" in results and "minimal_app_ms" in results["cold_start"]:
        figures["cold-start ratio"] = results["cold_start"]["ratio"]["median"]
        figures["cold-start ms"] = results["cold_start"]["handler_ms"]["median"]
    if "asset" in results:
        figures["asset MB zipped"] = round(results["asset"]["zipped_bytes"] / 1e6, 3)
    if "worst_case" in results:
        figures["worst-case ratio"] = results["worst_case"]["worst"]["ratio"]["median"]
    return figures


def print_comparison(current: dict[str, Any], previous: dict[str, Any] | None) -> None:
    if previous is None or previous["meta"].get("method") != METHOD:
        print("\nNo previous run of the same measurements to compare with.")
        return
    print(f"\nCompared with the previous run ({previous['meta']['finished']}):")
    before = _headline(previous)
    for name, now in _headline(current).items():
        if before.get(name):
            change = (now - before[name]) / before[name] * 100
            print(f"   {name:<32}{before[name]:>10} -> {now:<10} ({change:+.0f}%)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer rounds and runs")
    parser.add_argument(
        "--only", default=",".join(SECTIONS), help=f"comma-separated subset of {SECTIONS}"
    )
    args = parser.parse_args(argv)
    wanted = [section.strip() for section in args.only.split(",") if section.strip()]
    started = time.perf_counter()
    results: dict[str, Any] = {}
    print(
        f"make bench: Python {platform.python_version()} on {platform.machine()}, "
        f"{os.cpu_count()} CPUs; times are medians [interquartile range, runs]; every goal"
        " is a ratio measured side by side in this run"
    )
    if "warm" in wanted:
        from bench.warm import measure_warm

        rounds, iterations = (5, 100) if args.quick else (11, 300)
        results["warm"] = measure_warm(rounds=rounds, iterations=iterations)
        print_warm(results["warm"])
    if "cold_start" in wanted:
        from bench.cold_start import measure_cold_start

        runs = 3 if args.quick else 9
        results["cold_start"] = measure_cold_start(runs=runs, without_bytecode_runs=2)
        print_cold(results["cold_start"])
    if "round_trips" in wanted:
        from bench.round_trips import measure_round_trips

        results["round_trips"] = measure_round_trips()
        print_round_trips(results["round_trips"])
    if "asset" in wanted:
        from bench.asset import measure_asset

        results["asset"] = measure_asset()
        print_asset(results["asset"])
    if "worst_case" in wanted:
        from bench.worst_case import measure_worst_case

        rounds, examples = (5, 60) if args.quick else (9, 200)
        results["worst_case"] = measure_worst_case(rounds=rounds, examples=examples)
        print_worst_case(results["worst_case"])
    results["meta"] = {
        "finished": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "commit": _git_commit(),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "quick": args.quick,
        "method": METHOD,
        "seconds": round(time.perf_counter() - started, 1),
    }
    previous = json.loads(LATEST.read_text()) if LATEST.exists() else None
    print_comparison(results, previous)
    RESULTS.mkdir(exist_ok=True)
    if previous is not None:
        PREVIOUS.write_text(json.dumps(previous, indent=2) + "\n")
    LATEST.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nWrote {LATEST} in {results['meta']['seconds']:.0f} s")
    round_trips_ok = results.get("round_trips", {}).get("all_ok", True)
    return 0 if round_trips_ok else 1


if __name__ == "__main__":
    sys.exit(main())
