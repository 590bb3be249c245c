"""The Lambda asset: built locally for arm64 from uv.lock, runtime code only, small."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from donations import constants
from infra.bundling import (
    LAMBDA_TASK_ROOT,
    RUNTIME_SOURCES,
    BundleRecipe,
    BytecodeCompiler,
    find_bytecode_compiler,
    measure_asset,
    platform_of,
    python_version_of,
)
from infra.constructs.function import ARCHITECTURE, RUNTIME
from tests.infra.conftest import ROOT, Synthesis

# Issue 6's cold-start budget for the deployment package, held for the code and its
# dependencies. The bytecode comes on top: it cannot fit in 3 MB in any form measured (see
# BytecodeCompiler in infra/bundling.py) and saves ~0.7 s per cold start; its own ceiling
# catches e.g. a second optimisation level or a bundled SDK being compiled.
MAX_ZIPPED_BYTES = 3_000_000
MAX_BYTECODE_ZIPPED_BYTES = 4_500_000
COMPILER = find_bytecode_compiler(python_version_of(RUNTIME))
needs_compiler = pytest.mark.skipif(
    COMPILER is None,
    reason=f"no local CPython {python_version_of(RUNTIME)}: the asset ships without bytecode",
)


@pytest.fixture(scope="module")
def asset(dev: Synthesis) -> Path:
    s3_key = dev.function(constants.API_HANDLER)["Code"]["S3Key"]
    directory = dev.outdir / f"asset.{s3_key.removesuffix('.zip')}"
    assert directory.is_dir()
    return directory


def test_the_asset_holds_the_service_code_and_its_runtime_dependencies(asset: Path) -> None:
    for path in ("handler.py", "donations/constants.py", "schema", "resolvers"):
        assert (asset / path).exists(), path
    for package in ("strawberry", "mangum", "aws_lambda_powertools", "graphql", "starlette"):
        assert (asset / package / "__init__.py").exists(), package


def test_the_asset_leaves_out_dev_tools_the_dev_server_and_the_sdk(asset: Path) -> None:
    for absent in (
        "local",
        "scripts",
        "tests",
        "moto",
        "pytest",
        "uvicorn",
        "aws_cdk",
        "cdk_nag",
        # Every Python Lambda runtime ships the SDK; see infra/bundling.py.
        "boto3",
        "botocore",
        "s3transfer",
    ):
        assert not (asset / absent).exists(), absent
    # Caches copied from the source tree or the wheels (the tests' own interpreter's) are
    # stripped; only bytecode for the runtime's Python, compiled into the asset, remains.
    tag = f".cpython-{python_version_of(RUNTIME).replace('.', '')}.pyc"
    stray = [path for path in asset.rglob("*.py[co]") if not path.name.endswith(tag)]
    assert not stray, stray[:5]
    if COMPILER is None:
        assert not list(asset.rglob("__pycache__"))


def _pyc(asset: Path, module: str) -> Path:
    source = asset / module
    tag = f"cpython-{python_version_of(RUNTIME).replace('.', '')}"
    return source.parent / "__pycache__" / f"{source.stem}.{tag}.pyc"


@needs_compiler
@pytest.mark.parametrize(
    "module",
    [
        "handler.py",
        "schema/__init__.py",
        "donations/constants.py",
        "strawberry/__init__.py",
        "graphql/__init__.py",
        "aws_lambda_powertools/__init__.py",
    ],
)
def test_the_asset_ships_unchecked_hash_bytecode_for_the_runtime(asset: Path, module: str) -> None:
    assert COMPILER is not None
    pyc = _pyc(asset, module).read_bytes()
    # PEP 552 header: magic, a 32-bit little-endian flags field, then 8 bytes that are the
    # source hash for hash-based pycs (bit 0 set) and mtime + size otherwise. Bit 1 is
    # check_source: clear, so Python trusts the pyc without reading the source.
    magic = subprocess.run(
        [
            COMPILER.interpreter,
            "-I",
            "-c",
            "import importlib.util as u; print(u.MAGIC_NUMBER.hex())",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert pyc[:4].hex() == magic
    assert int.from_bytes(pyc[4:8], "little") == 0b01
    # Tracebacks name the file where Lambda unpacks it, not the build directory.
    co_filename = subprocess.run(
        [
            COMPILER.interpreter,
            "-I",
            "-c",
            "import marshal, sys\n"
            "print(marshal.loads(open(sys.argv[1], 'rb').read()[16:]).co_filename)",
            str(_pyc(asset, module)),
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert co_filename == f"{LAMBDA_TASK_ROOT}/{module}"


def test_a_missing_interpreter_means_no_bytecode_and_one_warning(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert find_bytecode_compiler("3.99") is None
    assert capsys.readouterr().err == (
        "asset: no python3.99 found; shipping without bytecode (+~0.7 s per cold start)\n"
    )


def test_compiled_wheels_are_built_for_the_lambda_architecture_and_python(asset: Path) -> None:
    extensions = [path.name for path in asset.rglob("*.so")]
    assert extensions, "expected at least one compiled extension (wrapt)"
    tag = f"cpython-{python_version_of(RUNTIME).replace('.', '')}-aarch64-linux-gnu"
    assert all(tag in name for name in extensions), extensions


def test_the_zipped_asset_fits_the_cold_start_budget(asset: Path, tmp_path: Path) -> None:
    without_bytecode = tmp_path / "asset"
    shutil.copytree(asset, without_bytecode, ignore=shutil.ignore_patterns("__pycache__"))
    size = measure_asset(without_bytecode)
    assert size.zipped_bytes <= MAX_ZIPPED_BYTES, size.describe()
    bytecode = measure_asset(asset).zipped_bytes - size.zipped_bytes
    assert bytecode <= MAX_BYTECODE_ZIPPED_BYTES, bytecode


def test_lambda_can_read_every_file_and_directory_in_the_asset(asset: Path) -> None:
    # Lambda runs code as an unprivileged user: files need o+r, directories o+rx.
    for path in [asset, *asset.rglob("*")]:
        mode = path.stat().st_mode
        needed = 0o005 if path.is_dir() else 0o004
        assert mode & needed == needed, (path, oct(mode))


def test_the_schema_sdl_ships_with_the_code_when_it_exists(asset: Path) -> None:
    sdl = ROOT / "schema" / "schema.graphql"
    if sdl.exists():
        assert (asset / "schema" / "schema.graphql").read_bytes() == sdl.read_bytes()


def _project(tmp_path: Path) -> Path:
    for source in RUNTIME_SOURCES:
        target = tmp_path / source
        if source.endswith(".py"):
            target.write_text("def api_handler(event, context): ...\n")
        else:
            target.mkdir(parents=True)
            (target / "__init__.py").write_text("")
    shutil.copy(ROOT / "uv.lock", tmp_path / "uv.lock")
    return tmp_path


def _recipe(
    root: Path,
    *,
    platform: str | None = None,
    bundle_boto3: bool = False,
    bytecode: BytecodeCompiler | None = None,
) -> BundleRecipe:
    return BundleRecipe(
        project_root=root,
        python_version=python_version_of(RUNTIME),
        platform=platform or platform_of(ARCHITECTURE),
        bundle_boto3=bundle_boto3,
        bytecode=bytecode,
    )


def test_the_asset_hash_follows_the_code_and_the_lock_but_not_the_dev_harness(
    tmp_path: Path,
) -> None:
    root = _project(tmp_path)
    before = _recipe(root).fingerprint()
    (root / "local").mkdir()
    (root / "local" / "server.py").write_text("print('dev only')\n")
    (root / "donations" / "__pycache__").mkdir()
    (root / "donations" / "__pycache__" / "x.cpython-311.pyc").write_bytes(b"\0")
    assert _recipe(root).fingerprint() == before
    (root / "handler.py").write_text("def api_handler(event, context): return 1\n")
    after_code = _recipe(root).fingerprint()
    assert after_code != before
    (root / "uv.lock").write_text((root / "uv.lock").read_text() + "\n# changed\n")
    assert _recipe(root).fingerprint() != after_code


def test_the_asset_hash_follows_the_target_platform(tmp_path: Path) -> None:
    root = _project(tmp_path)
    assert (
        _recipe(root).fingerprint() != _recipe(root, platform="x86_64-manylinux2014").fingerprint()
    )
    assert _recipe(root).fingerprint() != _recipe(root, bundle_boto3=True).fingerprint()


def test_the_asset_hash_says_whether_and_by_which_python_the_bytecode_was_compiled(
    tmp_path: Path,
) -> None:
    root = _project(tmp_path)
    fingerprints = {
        _recipe(root, bytecode=bytecode).fingerprint()
        for bytecode in (
            None,
            BytecodeCompiler(interpreter="/a/python3.13", version="3.13.0"),
            BytecodeCompiler(interpreter="/b/python3.13", version="3.13.5"),
        )
    }
    assert len(fingerprints) == 3
    # Where the interpreter lives is not part of what goes into the zip.
    assert (
        _recipe(root, bytecode=BytecodeCompiler("/a/python3.13", "3.13.0")).fingerprint()
        == _recipe(root, bytecode=BytecodeCompiler("/c/python3.13", "3.13.0")).fingerprint()
    )


def test_the_export_drops_the_sdk_only_when_asked(tmp_path: Path) -> None:
    slim = _recipe(tmp_path).export_command("uv", tmp_path / "r.txt")
    full = _recipe(tmp_path, bundle_boto3=True).export_command("uv", tmp_path / "r.txt")
    assert slim[slim.index("--prune") : slim.index("--prune") + 2] == ["--prune", "boto3"]
    assert "--prune" not in full
    for command in (slim, full):
        assert {"--frozen", "--no-dev", "--no-default-groups", "--no-hashes"} <= set(command)


def test_a_missing_source_fails_loudly(tmp_path: Path) -> None:
    root = _project(tmp_path)
    (root / "handler.py").unlink()
    with pytest.raises(FileNotFoundError, match=r"handler\.py"):
        _recipe(root).fingerprint()


def _module_path(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    assert spec is not None, name
    assert spec.origin is not None, name
    return Path(spec.origin)


# What the Lambda Python runtime puts on sys.path next to the function's code.
RUNTIME_PROVIDED_MODULES = ("boto3", "botocore", "s3transfer", "jmespath", "urllib3", "dateutil")


def test_both_entry_points_import_from_the_asset_plus_the_runtime_sdk(
    asset: Path, tmp_path: Path
) -> None:
    # Only the asset and the SDK the runtime ships are importable (-S: no site-packages).
    # The host interpreter stands in for Lambda's, and wrapt's arm64 extension falls back to
    # its pure-Python twin, so this proves completeness of the zip, not ABI compatibility.
    sdk = tmp_path / "runtime-sdk"
    sdk.mkdir()
    for module in RUNTIME_PROVIDED_MODULES:
        (sdk / module).symlink_to(_module_path(module).parent)
    (sdk / "six.py").symlink_to(_module_path("six"))
    script = (
        "import sys; sys.path[:0] = [sys.argv[1], sys.argv[2]]\n"
        "import handler\n"
        "assert callable(handler.api_handler) and callable(handler.thank_you_handler)\n"
    )
    env = {
        "PATH": os.environ["PATH"],
        "AWS_DEFAULT_REGION": "eu-west-2",
        constants.ENV_TABLE_NAME: "donations-test",
        constants.ENV_TOPIC_ARN: "arn:aws:sns:eu-west-2:123456789012:thank-you",
        "POWERTOOLS_SERVICE_NAME": constants.SERVICE_NAME,
        "POWERTOOLS_TRACE_DISABLED": "true",
    }
    result = subprocess.run(
        # -B: the shared staged asset must not gain __pycache__ from this import.
        [sys.executable, "-S", "-B", "-c", script, str(asset), str(sdk)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
