"""The Lambda asset: zipped and unzipped size, and what is in it.

The folder ``make asset`` builds for ``make synth`` (``infra.asset``: locked runtime wheels for
arm64 less what the functions never import, our code, boto3 left to the runtime, sourceless
bytecode for the dependencies when uv finds a Python 3.13), rebuilt the
same way first if it is missing or older than its inputs. Run in its own interpreter
(``python -m bench.asset``), because importing the CDK starts a Node.js process that should not
share the machine with the timed measurements.
"""

from __future__ import annotations

import collections
import io
import json
import os
import sys
import zipfile
from pathlib import Path
from typing import Any

from bench.environment import PROJECT_ROOT, run_measurement

GOAL_ZIPPED_BYTES = 3_000_000


def _zip_entries(directory: Path) -> list[zipfile.ZipInfo]:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for path in sorted(p for p in directory.rglob("*") if p.is_file()):
            zf.write(path, path.relative_to(directory).as_posix())
        return zf.infolist()


def _package_of(name: str) -> str:
    top = name.split("/", 1)[0]
    if top.endswith(".dist-info"):
        return "(package metadata)"
    return top.removesuffix(".py") if "/" not in name else top


def describe(directory: Path) -> dict[str, Any]:
    """Sizes as Lambda sees them (deflated, as CDK uploads), by top-level package."""
    entries = _zip_entries(directory)
    by_package: dict[str, list[int]] = collections.defaultdict(lambda: [0, 0, 0])
    for entry in entries:
        figures = by_package[_package_of(entry.filename)]
        figures[0] += entry.file_size
        figures[1] += entry.compress_size
        figures[2] += 1
    zipped = sum(entry.compress_size + 30 + 46 + 2 * len(entry.filename) for entry in entries)
    contents = [
        {"package": name, "unzipped_bytes": raw, "zipped_bytes": packed, "files": files}
        for name, (raw, packed, files) in sorted(
            by_package.items(), key=lambda item: item[1][0], reverse=True
        )
    ]
    return {
        "zipped_bytes": zipped,
        "unzipped_bytes": sum(entry.file_size for entry in entries),
        "files": len(entries),
        "python_files": sum(entry.filename.endswith(".py") for entry in entries),
        "bytecode_files": sum(entry.filename.endswith(".pyc") for entry in entries),
        "bytecode_zipped_bytes": sum(
            entry.compress_size for entry in entries if entry.filename.endswith(".pyc")
        ),
        "contents": contents,
        "goal_zipped_bytes": GOAL_ZIPPED_BYTES,
    }


def build_and_describe() -> dict[str, Any]:
    from infra.asset import PLATFORM, PYTHON_VERSION, asset_dir, build
    from infra.stack import lambda_code

    directory = asset_dir()
    try:
        lambda_code(directory=directory)  # refuses a folder that is missing or stale
    except (FileNotFoundError, RuntimeError):
        build(directory)
    built_by = f"infra.asset, Python {PYTHON_VERSION} {PLATFORM}"
    return {"built_by": f"{built_by}: {directory.relative_to(PROJECT_ROOT)}", **describe(directory)}


def measure_asset(timeout: float = 240) -> dict[str, Any]:
    """Build (or reuse) the asset in a separate interpreter and describe it."""
    # Its own environment, not Lambda mode: it runs the build, not the functions.
    return run_measurement("bench.asset", what="asset build", env=os.environ, timeout=timeout)


if __name__ == "__main__":
    sys.stdout.write(json.dumps(build_and_describe()) + "\n")
