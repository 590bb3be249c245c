"""Build the Lambda asset, one folder CDK takes as it is (``make asset``, or ``uv run --frozen
python -m infra.asset [--bundle-boto3] [OUT_DIR]``): our runtime code, the wheels locked in
uv.lock for the functions' Python and architecture (on any laptop, no Docker) less what the
functions never import (``infra.asset_contents``), and bytecode when uv finds or installs that
Python (/var/task is read-only: Lambda would otherwise compile every module at every cold
start, ~0.7 s). No cache of its own: make rebuilds it when an input is newer, and the build is
deterministic, so the asset hash changes only with the code or the lock.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from infra.asset_contents import RUNTIME_PROVIDED_PACKAGES, RUNTIME_SOURCES, prune
from infra.constructs.function import ARCHITECTURE, RUNTIME

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# The same list as `make asset`'s prerequisites: a change to any of them needs a rebuild.
BUILD_INPUTS = ("uv.lock", "pyproject.toml", "infra/asset.py", "infra/asset_contents.py")
BUILD_INPUTS += ("infra/constructs/function.py",)
LAMBDA_TASK_ROOT = "/var/task"  # where Lambda unpacks the asset
UV = os.environ.get("UV", "uv")  # `uv run` sets UV to the uv that runs it
PYTHON_VERSION = RUNTIME.name.removeprefix("python")  # "python3.13" -> "3.13"
# manylinux2014 (glibc 2.17) wheels load on every Amazon Linux 2023 based runtime.
PLATFORM = f"{'aarch64' if ARCHITECTURE.name == 'arm64' else 'x86_64'}-manylinux2014"


def asset_dir(*, bundle_boto3: bool = False) -> Path:
    # A folder per variant, so a synth with the other -c bundleBoto3 can't take this one.
    return PROJECT_ROOT / "build" / ("lambda-with-boto3" if bundle_boto3 else "lambda")


def export_command(requirements: Path, *, bundle_boto3: bool = False) -> list[str]:
    # --no-default-groups leaves the dev and infra groups (pytest, moto, CDK) out.
    options = "--frozen --no-dev --no-default-groups --no-hashes --no-emit-project --quiet"
    command = [UV, "export", *options.split(), "--output-file", str(requirements)]
    if not bundle_boto3:  # --prune also drops what only the SDK needs (s3transfer, urllib3)
        command += [arg for package in RUNTIME_PROVIDED_PACKAGES for arg in ("--prune", package)]
    return command


def install_dependencies(target: Path, *, bundle_boto3: bool = False) -> None:
    """The locked runtime closure as Lambda's wheels (--no-deps: the export is the closure)."""
    requirements = target.parent / "requirements.txt"
    export = export_command(requirements, bundle_boto3=bundle_boto3)
    subprocess.run(export, cwd=PROJECT_ROOT, check=True)  # noqa: S603
    wheels = ["--only-binary", ":all:", "--python-platform", PLATFORM, "-r", str(requirements)]
    wheels += ["--python-version", PYTHON_VERSION, "--target", str(target)]
    subprocess.run([UV, "pip", "install", "--quiet", "--no-deps", *wheels], check=True)  # noqa: S603
    # Console scripts, other Pythons' bytecode, C sources, stubs, RECORD: unread on Lambda.
    shutil.rmtree(target / "bin", ignore_errors=True)
    for path in sorted(target.rglob("*"), reverse=True):  # a folder's files before the folder
        if path.name == "__pycache__" or path.name.endswith("-stubs"):
            shutil.rmtree(path)
        elif path.suffix in {".pyc", ".c", ".h", ".pyi"} or path.match("*.dist-info/RECORD"):
            path.unlink()


def copy_runtime_sources(target: Path, project_root: Path = PROJECT_ROOT) -> None:
    for name in RUNTIME_SOURCES:
        source = project_root / name
        if source.is_dir():  # without the caches that local runs leave
            caches = shutil.ignore_patterns("__pycache__", "*.py[co]")
            shutil.copytree(source, target / name, ignore=caches)
        else:
            shutil.copyfile(source, target / name)  # a missing source fails here, by name


def find_python(version: str) -> str | None:
    """A CPython ``version`` found, or else installed, by uv (which also asks the version
    managers' shims that answer); None, with one warning line, when there is none."""
    found = _uv_python("find", version)
    if found is None and _uv_python("install", version) is not None:
        found = _uv_python("find", version)
    if found is None:
        missing = f"asset: no CPython {version}, so no bytecode (+~0.7 s per cold start)"
        sys.stderr.write(f"{missing}; get one with `uv python install {version}`\n")
    return found


def _uv_python(command: str, version: str) -> str | None:
    # install honours UV_PYTHON_DOWNLOADS; no retries, so offline it fails at once, not in ~8 s.
    uv_python = [UV, "python", command, f"cpython@{version}"]
    env = {"UV_HTTP_RETRIES": "0", **os.environ}
    try:
        done = subprocess.run(uv_python, env=env, capture_output=True, timeout=120, check=False)  # noqa: S603
    except subprocess.TimeoutExpired:
        return None
    return done.stdout.decode().strip() if done.returncode == 0 else None


def compile_bytecode(directory: Path, python: str) -> None:
    """Bytecode for the runtime's Python, in place of the dependencies' sources.

    The dependencies ship sourceless: one ``module.pyc`` where ``module.py`` was (Python
    imports it from there), which halves what they weigh. Their tracebacks keep file names and
    line numbers and lose only the quoted source line; our logs record faults as file:line
    frames anyway (schema/errors.py). Our own code keeps its sources, with its bytecode in
    __pycache__: it is small, and readable in the Lambda console.
    """
    # unchecked-hash: valid whatever the zip's mtimes, never checked against a source, the same
    # bytes every build. -s/-p: tracebacks name /var/task/..., not this build folder.
    compileall = [python, "-m", "compileall", "-q", "-j0", "--invalidation-mode", "unchecked-hash"]
    compileall += ["-s", str(directory), "-p", LAMBDA_TASK_ROOT]
    ours = [directory / name for name in RUNTIME_SOURCES]
    theirs = [path for path in directory.iterdir() if path not in ours]
    subprocess.run([*compileall, *map(str, ours)], check=True)  # noqa: S603
    if theirs:  # (compileall with no folder would compile sys.path)
        subprocess.run([*compileall, "-b", *map(str, theirs)], check=True)  # noqa: S603
    for source in (path for dependency in theirs for path in _python_sources(dependency)):
        if source.with_suffix(".pyc").is_file():
            source.unlink()


def _python_sources(path: Path) -> list[Path]:
    return sorted(path.rglob("*.py")) if path.is_dir() else [path] if path.suffix == ".py" else []


def build(out_dir: Path, *, bundle_boto3: bool = False) -> Path:
    """Build the asset into ``out_dir``, replacing the old one only once the new one is whole."""
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f".{out_dir.name}-", dir=out_dir.parent) as scratch:
        staging = Path(scratch) / "asset"
        install_dependencies(staging, bundle_boto3=bundle_boto3)
        prune(staging)
        copy_runtime_sources(staging)
        if python := find_python(PYTHON_VERSION):
            compile_bytecode(staging, python)
        # Lambda runs the code as another user: directories need o+rx, files o+r.
        for path in [staging, *staging.rglob("*")]:
            path.chmod(path.stat().st_mode | (0o755 if path.is_dir() else 0o444))
        shutil.rmtree(out_dir, ignore_errors=True)
        staging.rename(out_dir)
    os.utime(out_dir)  # the folder's mtime is when it was built, for make and lambda_code
    return out_dir


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m infra.asset", description=__doc__)
    parser.add_argument("--bundle-boto3", action="store_true", help="ship the lock's boto3 too")
    parser.add_argument("out_dir", nargs="?", type=Path, help="default: build/lambda")
    args = parser.parse_args()
    build(args.out_dir or asset_dir(bundle_boto3=args.bundle_boto3), bundle_boto3=args.bundle_boto3)
