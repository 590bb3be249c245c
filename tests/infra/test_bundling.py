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
    RUNTIME_SOURCES,
    BundleRecipe,
    measure_asset,
    platform_of,
    python_version_of,
)
from infra.constructs.function import ARCHITECTURE, RUNTIME
from tests.infra.conftest import ROOT, Synthesis

# Issue 6's cold-start budget for the deployment package.
MAX_ZIPPED_BYTES = 3_000_000


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
        "donations/local",
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
    assert not list(asset.rglob("__pycache__"))
    assert not list(asset.rglob("*.pyc"))


def test_compiled_wheels_are_built_for_the_lambda_architecture_and_python(asset: Path) -> None:
    extensions = [path.name for path in asset.rglob("*.so")]
    assert extensions, "expected at least one compiled extension (wrapt)"
    tag = f"cpython-{python_version_of(RUNTIME).replace('.', '')}-aarch64-linux-gnu"
    assert all(tag in name for name in extensions), extensions


def test_the_zipped_asset_fits_the_cold_start_budget(asset: Path) -> None:
    size = measure_asset(asset)
    assert size.zipped_bytes <= MAX_ZIPPED_BYTES, size.describe()


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
            (target / "local").mkdir(parents=True)
            (target / "__init__.py").write_text("")
    shutil.copy(ROOT / "uv.lock", tmp_path / "uv.lock")
    return tmp_path


def _recipe(root: Path, *, platform: str | None = None, bundle_boto3: bool = False) -> BundleRecipe:
    return BundleRecipe(
        project_root=root,
        python_version=python_version_of(RUNTIME),
        platform=platform or platform_of(ARCHITECTURE),
        bundle_boto3=bundle_boto3,
    )


def test_the_asset_hash_follows_the_code_and_the_lock_but_not_the_dev_server(
    tmp_path: Path,
) -> None:
    root = _project(tmp_path)
    before = _recipe(root).fingerprint()
    (root / "donations" / "local" / "server.py").write_text("print('dev only')\n")
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
