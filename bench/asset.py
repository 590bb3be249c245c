"""The Lambda asset: zipped and unzipped size, and what is in it.

Built exactly as ``make synth`` builds it, by ``infra.bundling`` (locked runtime wheels for
arm64, our code, boto3 left to the runtime, bytecode when a local Python 3.13 exists); a bundle
``cdk synth`` already cached for the same inputs is measured instead of rebuilt. Run in its own
interpreter (``python -m bench.asset``), because importing the CDK starts a Node.js process that
should not share the machine with the timed measurements.
"""

from __future__ import annotations

import collections
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent
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
        "contents": contents,
        "goal_zipped_bytes": GOAL_ZIPPED_BYTES,
    }


def _build_with_infra(scratch: Path) -> tuple[Path, str]:
    from infra import bundling
    from infra.constructs.function import ARCHITECTURE, RUNTIME

    recipe = bundling.recipe_for(RUNTIME, ARCHITECTURE, project_root=PROJECT_ROOT)
    cached = PROJECT_ROOT / "cdk.out" / ".bundle-cache" / recipe.fingerprint()
    compiled = f"bytecode by {recipe.bytecode.version}" if recipe.bytecode else "no bytecode"
    label = f"infra.bundling, Python {recipe.python_version} {recipe.platform}, {compiled}"
    if cached.is_dir():
        return cached, f"{label} (cached by cdk synth)"
    uv = bundling._find_uv()
    if uv is None:
        raise RuntimeError("uv is needed to build the asset")
    bundling.build_bundle(recipe, uv, scratch)
    return scratch, label


def _build_directly(scratch: Path) -> tuple[Path, str]:
    """The same recipe without the CDK: locked runtime wheels for arm64 plus our code."""
    uv = os.environ.get("UV") or shutil.which("uv") or "uv"
    requirements = scratch.parent / "requirements.txt"
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    run: dict[str, Any] = {"cwd": PROJECT_ROOT, "env": env}
    export = [uv, "export", "--frozen", "--no-dev", "--no-default-groups", "--no-hashes"]
    export += ["--no-emit-project", "--quiet", "--prune", "boto3", "--prune", "botocore"]
    subprocess.run([*export, "--output-file", str(requirements)], check=True, **run)
    install = [uv, "pip", "install", "--quiet", "--no-deps", "--only-binary", ":all:"]
    install += ["--python-platform", "aarch64-manylinux2014", "--python-version", "3.13"]
    install += ["--target", str(scratch), "--requirement", str(requirements)]
    subprocess.run(install, check=True, **run)
    for source in ("handler.py", "donations", "schema", "resolvers"):
        path = PROJECT_ROOT / source
        if path.is_file():
            shutil.copy2(path, scratch / source)
        else:
            shutil.copytree(
                path,
                scratch / source,
                ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "local"),
            )
    for junk in list(scratch.rglob("__pycache__")) + list(scratch.glob("bin")):
        shutil.rmtree(junk, ignore_errors=True)
    return scratch, "bench.asset (infra.bundling not importable), Python 3.13 arm64, no bytecode"


def build_and_describe() -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-asset-") as scratch_root:
        scratch = Path(scratch_root) / "asset"
        try:
            directory, how = _build_with_infra(scratch)
        except ImportError:
            scratch.mkdir()
            directory, how = _build_directly(scratch)
        return {"built_by": how, **describe(directory)}


def measure_asset(timeout: float = 240) -> dict[str, Any]:
    """Build (or reuse) the asset in a separate interpreter and describe it."""
    completed = subprocess.run(
        [sys.executable, "-m", "bench.asset"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"asset build failed:\n{completed.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    return result


if __name__ == "__main__":
    sys.stdout.write(json.dumps(build_and_describe()) + "\n")
