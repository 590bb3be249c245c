"""Build the Lambda asset on this machine, without Docker.

The asset is the runtime code (``handler.py``, ``donations/``, ``schema/``, ``resolvers/``) plus
the runtime dependencies pinned in ``uv.lock``, installed as manylinux wheels for the Lambda
architecture. ``uv pip install --python-platform`` resolves wheels for a platform other than the
host's, so an x86_64 laptop builds a correct arm64 asset, and ``--only-binary :all:`` guarantees
nothing is compiled for the wrong machine. When a local CPython of the runtime's version exists,
the asset is compiled to bytecode with it: ``/var/task`` is read-only, so Lambda would otherwise
compile every module on every cold start.

Bundles are cached by a fingerprint of exactly what goes into them (sources, ``uv.lock``, target
platform and the bundler's own recipe), so repeated synths (tests, ``cdk diff``) reuse the build
and the asset hash, and therefore the Lambda versions, only change when the code does.
"""

from __future__ import annotations

import functools
import hashlib
import io
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsii
from aws_cdk import AssetHashType, BundlingOptions, DockerImage, ILocalBundling
from aws_cdk import aws_lambda as lambda_

PROJECT_ROOT = Path(__file__).resolve().parent.parent

# What the functions import: the runtime packages only. The dev harness (local/), tests,
# bench and scripts live outside them, so nothing needs excluding by name.
RUNTIME_SOURCES: tuple[str, ...] = ("handler.py", "donations", "schema", "resolvers")
EXCLUDED_SOURCES: tuple[str, ...] = ()

# boto3/botocore/s3transfer (and urllib3, which only botocore needs) are left out: every Python
# Lambda runtime ships them, and botocore alone is ~25 MB unzipped, which would blow the 3 MB
# budget set for cold starts. The APIs we call (TransactWriteItems, streams, sns:Publish) are
# years older than the SDK in the runtime. `-c bundleBoto3=true` pins the lock's copy instead.
RUNTIME_PROVIDED_PACKAGES: tuple[str, ...] = ("boto3", "botocore")

# Bump when the recipe below changes, so cached bundles built the old way are not reused.
RECIPE_VERSION = "6"

# Where Lambda unpacks the asset: compiled code names its source files as they will be there,
# not as they were in the build directory (a random temporary path).
LAMBDA_TASK_ROOT = "/var/task"

_JUNK_DIRS = frozenset({"__pycache__", ".mypy_cache", ".pytest_cache", ".ruff_cache", "bin"})
_JUNK_SUFFIXES = (".pyc", ".pyo")
# Build and type-checking leftovers: C sources of compiled extensions, and stubs.
_UNUSED_AT_RUNTIME_SUFFIXES = (".c", ".h", ".pyi")
_CACHE_ENTRIES_KEPT = 4


@dataclass(frozen=True)
class AssetSize:
    files: int
    unzipped_bytes: int
    zipped_bytes: int

    def describe(self) -> str:
        return (
            f"{self.zipped_bytes / 1_000_000:.2f} MB zipped, "
            f"{self.unzipped_bytes / 1_000_000:.2f} MB unzipped, {self.files} files"
        )


def measure_asset(directory: Path) -> AssetSize:
    """Size the directory the way Lambda sees it: deflated, as CDK uploads it."""
    files = sorted(path for path in directory.rglob("*") if path.is_file())
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for path in files:
            zf.write(path, path.relative_to(directory).as_posix())
    return AssetSize(
        files=len(files),
        unzipped_bytes=sum(path.stat().st_size for path in files),
        zipped_bytes=buffer.getbuffer().nbytes,
    )


def python_version_of(runtime: lambda_.Runtime) -> str:
    # "python3.13" -> "3.13": the wheels' ABI must match the runtime, so derive, don't repeat.
    name = runtime.name
    if not name.startswith("python"):
        raise ValueError(f"not a Python runtime: {name}")
    return name.removeprefix("python")


def platform_of(architecture: lambda_.Architecture) -> str:
    # manylinux2014 (glibc 2.17) wheels load on every Amazon Linux 2023 based runtime.
    if architecture.name == lambda_.Architecture.ARM_64.name:
        return "aarch64-manylinux2014"
    return "x86_64-manylinux2014"


@dataclass(frozen=True)
class BytecodeCompiler:
    """A local CPython whose bytecode the Lambda runtime can load (same major.minor)."""

    interpreter: str
    version: str  # the full version, e.g. "3.13.0": part of the fingerprint

    def compile_command(self, directory: Path) -> list[str]:
        # Everything, not only the modules the cold path imports: the measured options
        # (zipped asset, wheels for Python 3.13 arm64) were 2.85 MB without bytecode; 6.74 MB
        # with all of it; 5.73 MB for our code plus strawberry, graphql, mangum, starlette,
        # Powertools and the X-Ray SDK (their small dependencies, e.g. typing_extensions, and
        # later requests would still compile on Lambda); 4.72 MB for exactly the modules the
        # first request imports (a list that drifts with every change); 4.69 MB sourceless
        # (no source lines in tracebacks). None fits 3 MB, so the smallest drift-free option
        # that removes the whole ~0.7 s wins. `-o 1/2` does not help: it writes .opt-N.pyc,
        # which Lambda ignores unless run with PYTHONOPTIMIZE (and that drops asserts).
        # unchecked-hash: the pyc is valid whatever the files' mtimes in the zip, and Python
        # never stats the source to revalidate it (the asset is immutable). -d: tracebacks
        # and co_filename show /var/task/..., and the build directory's name stays out.
        return [
            self.interpreter,
            "-m",
            "compileall",
            "-q",
            "-j0",
            "--invalidation-mode",
            "unchecked-hash",
            "-d",
            LAMBDA_TASK_ROOT,
            str(directory),
        ]


def _cpython_version(interpreter: str) -> str | None:
    """The interpreter's full version if it runs and is CPython (other bytecode differs)."""
    probe = "import sys; print(sys.implementation.name, '%d.%d.%d' % sys.version_info[:3])"
    try:
        completed = subprocess.run(  # noqa: S603
            [interpreter, "-I", "-c", probe],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    implementation, _, version = completed.stdout.strip().partition(" ")
    if completed.returncode != 0 or implementation != "cpython":
        return None
    return version


def _patch_level(path: Path) -> tuple[int, ...]:
    suffix = path.parent.parent.name.rpartition(".")[2]
    return (int(suffix),) if suffix.isdigit() else (-1,)


def _interpreter_candidates(version: str, uv: str | None) -> Iterator[str]:
    if uv is not None:
        try:
            found = subprocess.run(  # noqa: S603
                [uv, "python", "find", "--no-project", version],
                env={**_uv_env(), "UV_PYTHON_DOWNLOADS": "never"},
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
        except (OSError, subprocess.SubprocessError):
            found = None
        if found is not None and found.returncode == 0 and found.stdout.strip():
            yield found.stdout.strip()
    on_path = shutil.which(f"python{version}")
    if on_path:
        # May be a pyenv shim that fails for an inactive version: the probe weeds it out.
        yield on_path
    pyenv = sorted(
        Path.home().glob(f".pyenv/versions/{version}.*/bin/python{version}"),
        key=_patch_level,
        reverse=True,
    )
    yield from (str(path) for path in pyenv)


@functools.cache
def find_bytecode_compiler(version: str) -> BytecodeCompiler | None:
    """A local CPython ``version`` (e.g. "3.13"), or None with one warning line on stderr."""
    seen: set[str] = set()
    for candidate in _interpreter_candidates(version, _find_uv()):
        if candidate in seen:
            continue
        seen.add(candidate)
        full = _cpython_version(candidate)
        if full is not None and full.rpartition(".")[0] == version:
            return BytecodeCompiler(interpreter=candidate, version=full)
    sys.stderr.write(
        f"asset: no python{version} found; shipping without bytecode (+~0.7 s per cold start)\n"
    )
    return None


def _is_excluded(relative: Path) -> bool:
    text = relative.as_posix()
    if any(text == excluded or text.startswith(f"{excluded}/") for excluded in EXCLUDED_SOURCES):
        return True
    return any(part in _JUNK_DIRS for part in relative.parts) or text.endswith(_JUNK_SUFFIXES)


def _source_files(root: Path, sources: Sequence[str]) -> Iterator[Path]:
    for source in sources:
        path = root / source
        if not path.exists():
            raise FileNotFoundError(f"Lambda source {source!r} is missing from {root}")
        candidates = [path] if path.is_file() else sorted(path.rglob("*"))
        for candidate in candidates:
            if candidate.is_file() and not _is_excluded(candidate.relative_to(root)):
                yield candidate


@dataclass(frozen=True)
class BundleRecipe:
    project_root: Path
    python_version: str
    platform: str
    bundle_boto3: bool
    sources: tuple[str, ...] = RUNTIME_SOURCES
    # None: the asset ships sources only. Otherwise its bytecode is in the asset, and its
    # full version in the fingerprint, so bundles with and without bytecode never mix.
    bytecode: BytecodeCompiler | None = None

    def fingerprint(self) -> str:
        digest = hashlib.sha256()
        bytecode = f"bytecode={self.bytecode.version if self.bytecode else 'none'}"
        for part in (
            RECIPE_VERSION,
            self.python_version,
            self.platform,
            str(self.bundle_boto3),
            bytecode,
        ):
            digest.update(part.encode() + b"\0")
        digest.update((self.project_root / "uv.lock").read_bytes())
        for path in _source_files(self.project_root, self.sources):
            digest.update(path.relative_to(self.project_root).as_posix().encode() + b"\0")
            digest.update(path.read_bytes() + b"\0")
        return digest.hexdigest()

    def export_command(self, uv: str, output: Path) -> list[str]:
        # --no-default-groups drops dev/infra groups: no CDK, pytest or moto in the zip.
        command = [
            uv,
            "export",
            "--frozen",
            "--no-dev",
            "--no-default-groups",
            "--no-hashes",
            "--no-emit-project",
            "--quiet",
            "--output-file",
            str(output),
        ]
        if not self.bundle_boto3:
            # --prune also drops what only the SDK needed (s3transfer, urllib3).
            for package in RUNTIME_PROVIDED_PACKAGES:
                command += ["--prune", package]
        return command

    def install_command(self, uv: str, requirements: Path, target: Path) -> list[str]:
        # --no-deps: the export is already the complete, locked closure.
        return [
            uv,
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--only-binary",
            ":all:",
            "--python-platform",
            self.platform,
            "--python-version",
            self.python_version,
            "--target",
            str(target),
            "--requirement",
            str(requirements),
        ]


def _find_uv() -> str | None:
    # `uv run` exports UV with its own path, so the same uv that synced the venv is used.
    candidate = os.environ.get("UV") or shutil.which("uv")
    return candidate if candidate and Path(candidate).exists() else None


def _strip(directory: Path) -> None:
    for path in sorted(directory.rglob("*"), reverse=True):
        if path.is_dir() and (path.name in _JUNK_DIRS or path.name.endswith("-stubs")):
            shutil.rmtree(path)
        elif path.is_file() and (
            path.name.endswith(_JUNK_SUFFIXES + _UNUSED_AT_RUNTIME_SUFFIXES)
            # RECORD lists every installed file for uninstallers; nothing reads it at runtime.
            or (path.name == "RECORD" and path.parent.name.endswith(".dist-info"))
        ):
            path.unlink()


def build_bundle(recipe: BundleRecipe, uv: str, target: Path) -> None:
    """Install the locked runtime wheels and copy the service code into ``target``."""
    target.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="donations-req-") as scratch:
        requirements = Path(scratch) / "requirements.txt"
        for command in (
            recipe.export_command(uv, requirements),
            recipe.install_command(uv, requirements, target),
        ):
            subprocess.run(command, cwd=recipe.project_root, env=_uv_env(), check=True)  # noqa: S603
    for source in _source_files(recipe.project_root, recipe.sources):
        destination = target / source.relative_to(recipe.project_root)
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, destination)
    # Strip first: stray caches copied from a wheel or the source tree are for other
    # interpreters; the __pycache__ directories compiled below are kept.
    _strip(target)
    if recipe.bytecode is not None:
        subprocess.run(recipe.bytecode.compile_command(target), check=True)  # noqa: S603


def _uv_env() -> dict[str, str]:
    env = dict(os.environ)
    # Installing with --target must not touch, or be redirected into, the project's venv.
    for name in ("VIRTUAL_ENV", "UV_PROJECT_ENVIRONMENT", "PYTHONPATH"):
        env.pop(name, None)
    return env


def _prune_cache(cache_dir: Path, keep: str) -> None:
    entries = sorted(
        (path for path in cache_dir.iterdir() if path.is_dir() and path.name != keep),
        key=lambda path: path.stat().st_mtime,
        reverse=True,
    )
    for stale in entries[_CACHE_ENTRIES_KEPT - 1 :]:
        shutil.rmtree(stale, ignore_errors=True)


@jsii.implements(ILocalBundling)
class UvLocalBundling:
    """CDK's local bundling hook: build (or reuse) the bundle, then hand it to CDK."""

    def __init__(self, recipe: BundleRecipe, fingerprint: str, cache_dir: Path) -> None:
        self._recipe = recipe
        self._fingerprint = fingerprint
        self._cache_dir = cache_dir

    def try_bundle(self, output_dir: str, *, image: DockerImage, **_options: Any) -> bool:
        uv = _find_uv()
        if uv is None:
            sys.stderr.write("uv not found: falling back to Docker bundling\n")
            return False
        cached = self._cache_dir / self._fingerprint
        if not cached.is_dir():
            self._cache_dir.mkdir(parents=True, exist_ok=True)
            building = Path(tempfile.mkdtemp(prefix=".building-", dir=self._cache_dir))
            # mkdtemp makes the directory private (0700); Lambda needs it world-readable.
            building.chmod(0o755)
            try:
                build_bundle(self._recipe, uv, building)
                # Atomic rename: a parallel synth sees either no cache entry or a whole one.
                building.rename(cached)
            except OSError:
                if not cached.is_dir():
                    raise
            finally:
                shutil.rmtree(building, ignore_errors=True)
            _prune_cache(self._cache_dir, keep=self._fingerprint)
        shutil.copytree(cached, output_dir, dirs_exist_ok=True)
        Path(output_dir).chmod(0o755)
        sys.stderr.write(
            f"Lambda asset {self._fingerprint[:12]}: {measure_asset(cached).describe()}\n"
        )
        return True


def _docker_command(recipe: BundleRecipe) -> list[str]:
    # Fallback for machines without uv: the same recipe inside the SAM build image.
    prune = (
        "" if recipe.bundle_boto3 else " ".join(f"--prune {p}" for p in RUNTIME_PROVIDED_PACKAGES)
    )
    sources = " ".join(recipe.sources)
    script = (
        "set -euo pipefail; pip install --quiet uv; "
        f"uv export --frozen --no-dev --no-default-groups --no-hashes --no-emit-project {prune}"
        " --output-file /tmp/requirements.txt; "
        "uv pip install --quiet --no-deps --only-binary :all: --target /asset-output"
        " --requirement /tmp/requirements.txt; "
        f"cp -r {sources} /asset-output/; "
        + " ".join(f"rm -rf /asset-output/{excluded};" for excluded in EXCLUDED_SOURCES)
        + " find /asset-output -name __pycache__ -prune -exec rm -rf {} +"
    )
    if recipe.bytecode is not None:
        # The SAM build image's python is the runtime's version.
        script += (
            "; python -m compileall -q -j0 --invalidation-mode unchecked-hash"
            f" -d {LAMBDA_TASK_ROOT} /asset-output"
        )
    return ["bash", "-c", script]


def recipe_for(
    runtime: lambda_.Runtime,
    architecture: lambda_.Architecture,
    *,
    bundle_boto3: bool = False,
    project_root: Path = PROJECT_ROOT,
) -> BundleRecipe:
    python_version = python_version_of(runtime)
    return BundleRecipe(
        project_root=project_root,
        python_version=python_version,
        platform=platform_of(architecture),
        bundle_boto3=bundle_boto3,
        bytecode=find_bytecode_compiler(python_version),
    )


def lambda_code(
    runtime: lambda_.Runtime,
    architecture: lambda_.Architecture,
    *,
    bundle_boto3: bool = False,
    project_root: Path = PROJECT_ROOT,
    cache_dir: Path | None = None,
) -> lambda_.Code:
    """The one asset both functions run: service code plus locked runtime dependencies."""
    recipe = recipe_for(runtime, architecture, bundle_boto3=bundle_boto3, project_root=project_root)
    fingerprint = recipe.fingerprint()
    bundling = BundlingOptions(
        image=runtime.bundling_image,
        platform=architecture.docker_platform,
        command=_docker_command(recipe),
        local=UvLocalBundling(
            recipe, fingerprint, cache_dir or project_root / "cdk.out" / ".bundle-cache"
        ),
    )
    # CUSTOM hash: CDK would otherwise fingerprint the whole project root (.venv,
    # node_modules) on every synth; this hash covers exactly what goes into the zip.
    return lambda_.Code.from_asset(
        str(project_root),
        asset_hash_type=AssetHashType.CUSTOM,
        asset_hash=fingerprint,
        bundling=bundling,
    )
