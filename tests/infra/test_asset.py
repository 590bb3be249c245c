"""The Lambda asset: built by `make asset` for arm64 from uv.lock, runtime code only, small."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import FileSystem

from bench.asset import describe
from donations import constants
from infra.asset import (
    LAMBDA_TASK_ROOT,
    PYTHON_VERSION,
    asset_dir,
    compile_bytecode,
    copy_runtime_sources,
    export_command,
    find_python,
)
from infra.asset_contents import RUNTIME_SOURCES, UNUSED, prune
from infra.stack import lambda_code
from schema.documents import TrustedDocuments, sha256_hex
from tests.infra.conftest import ROOT, Synthesis

# The cold-start budget for the deployment package, bytecode included (issue 13).
MAX_ZIPPED_BYTES = 3_000_000
PYC_TAG = f"cpython-{PYTHON_VERSION.replace('.', '')}"


@pytest.fixture(scope="module")
def asset(dev: Synthesis) -> Path:
    s3_key = dev.function(constants.API_HANDLER)["Code"]["S3Key"]
    directory = dev.outdir / f"asset.{s3_key.removesuffix('.zip')}"
    assert directory.is_dir()
    return directory


@pytest.fixture(scope="module")
def runtime_python(asset: Path) -> str:
    """The runtime's Python, to read the asset's bytecode with."""
    if not list(asset.glob("__pycache__")):
        pytest.skip(f"the asset was built without bytecode (no CPython {PYTHON_VERSION} found)")
    python = find_python(PYTHON_VERSION)
    if python is None:
        pytest.skip(f"no CPython {PYTHON_VERSION} here to read the asset's bytecode with")
    return python


def _normalised(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_synthesis_takes_the_folder_make_asset_built(dev: Synthesis) -> None:
    # The asset hash is CDK's hash of the folder's contents: the same code, the same hash.
    s3_key = dev.function(constants.API_HANDLER)["Code"]["S3Key"]
    assert s3_key == f"{FileSystem.fingerprint(str(asset_dir()))}.zip"


def test_the_asset_holds_the_service_code_and_its_runtime_dependencies(asset: Path) -> None:
    for path in ("handler.py", "donations/constants.py", "schema", "resolvers"):
        assert (asset / path).exists(), path
    for package in ("strawberry", "mangum", "aws_lambda_powertools", "graphql", "starlette"):
        # Sourceless when the asset has bytecode (infra/asset.py: compile_bytecode).
        assert list((asset / package).glob("__init__.py*")), package
    # GraphiQL's page, which the dev stage serves.
    assert (asset / "strawberry" / "static" / "graphiql.html").is_file()


def test_the_asset_lists_only_the_runtime_code_and_the_locked_runtime_closure(
    asset: Path, tmp_path: Path
) -> None:
    listing = sorted(path.relative_to(asset).as_posix() for path in asset.rglob("*"))
    # Of the repository, only the runtime sources: no local/ (the dev harness), tests/ (and
    # its fakes in tests/support), scripts/, bench/ or infra/.
    top_level = {entry.split("/", 1)[0] for entry in listing} - {"__pycache__"}
    assert top_level & {path.name for path in ROOT.iterdir()} == set(RUNTIME_SOURCES)
    # ... and of those, exactly the modules the repository has there.
    ours = {e for e in listing if e.split("/", 1)[0] in RUNTIME_SOURCES and e.endswith(".py")}
    in_repository = {
        path.relative_to(ROOT).as_posix()
        for name in RUNTIME_SOURCES
        for path in ((ROOT / name).rglob("*.py") if (ROOT / name).is_dir() else [ROOT / name])
    }
    assert ours == in_repository
    # Of the dependencies, only the runtime closure locked in uv.lock: no moto, pytest, CDK.
    requirements = tmp_path / "requirements.txt"
    subprocess.run(export_command(requirements), cwd=ROOT, check=True)
    locked = {
        _normalised(line.split("==", 1)[0])
        for line in requirements.read_text().splitlines()
        if line and not line.startswith(("#", " "))
    }
    installed = {
        _normalised(entry.split("-", 1)[0]) for entry in top_level if ".dist-info" in entry
    }
    assert installed <= locked, installed - locked
    assert "moto" not in installed


def test_the_runtime_code_in_the_asset_imports_nothing_of_the_dev_harness(asset: Path) -> None:
    harness = re.compile(r"^\s*(?:from|import)\s+(?:local|tests|scripts|bench|moto)\b", re.M)
    for name in RUNTIME_SOURCES:
        modules = (asset / name).rglob("*.py") if (asset / name).is_dir() else [asset / name]
        for module in modules:
            assert not harness.search(module.read_text()), module.relative_to(asset)


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
        # Every Python Lambda runtime ships the SDK; see infra/asset.py.
        "boto3",
        "botocore",
        "s3transfer",
    ):
        assert not (asset / absent).exists(), absent
    # Caches copied from the source tree or the wheels (the tests' own interpreter's) are
    # stripped; only bytecode compiled into the asset remains: tagged for the runtime's Python
    # in __pycache__, or sourceless in the dependencies' folders.
    stray = [
        path
        for path in asset.rglob("*.py[co]")
        if path.parent.name == "__pycache__" and not path.name.endswith(f".{PYC_TAG}.pyc")
    ]
    assert not stray, stray[:5]
    for folder, names, _ in UNUSED:
        for name in names.split():
            assert not list((asset / folder).glob(name)), f"{folder}/{name}"


def _pyc(asset: Path, module: str) -> Path:
    source = asset / module
    if module.split("/", 1)[0] in RUNTIME_SOURCES:  # ours keep their sources
        return source.parent / "__pycache__" / f"{source.stem}.{PYC_TAG}.pyc"
    return source.with_suffix(".pyc")  # the dependencies' replace theirs


@pytest.mark.parametrize(
    "module",
    [
        "handler.py",
        "schema/__init__.py",
        "donations/constants.py",
        "strawberry/__init__.py",
        "graphql/__init__.py",
        "aws_lambda_powertools/__init__.py",
        "typing_extensions.py",
    ],
)
def test_the_asset_ships_unchecked_hash_bytecode_for_the_runtime(
    asset: Path, runtime_python: str, module: str
) -> None:
    pyc = _pyc(asset, module).read_bytes()
    # PEP 552 header: magic, a 32-bit little-endian flags field, then 8 bytes that are the
    # source hash for hash-based pycs (bit 0 set) and mtime + size otherwise. Bit 1 is
    # check_source: clear, so Python trusts the pyc without reading the source.
    magic = subprocess.run(
        [runtime_python, "-I", "-c", "import importlib.util as u; print(u.MAGIC_NUMBER.hex())"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert pyc[:4].hex() == magic
    assert int.from_bytes(pyc[4:8], "little") == 0b01
    # Tracebacks name the file where Lambda unpacks it, not the build directory.
    co_filename = subprocess.run(
        [
            runtime_python,
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
    assert find_python("3.99") is None
    warning = capsys.readouterr().err
    assert warning.count("\n") == 1
    assert "no bytecode" in warning
    assert "`uv python install 3.99`" in warning


def test_compiled_wheels_are_built_for_the_lambda_architecture_and_python(asset: Path) -> None:
    extensions = [path.name for path in asset.rglob("*.so")]
    assert extensions, "expected at least one compiled extension (wrapt)"
    tag = f"{PYC_TAG}-aarch64-linux-gnu"
    assert all(tag in name for name in extensions), extensions


def test_the_zipped_asset_fits_the_cold_start_budget_bytecode_included(asset: Path) -> None:
    zipped = describe(asset)["zipped_bytes"]
    assert zipped <= MAX_ZIPPED_BYTES, zipped


def test_the_dependencies_ship_their_bytecode_instead_of_their_sources(
    asset: Path, runtime_python: str
) -> None:
    dependencies = [p for p in asset.iterdir() if p.name not in RUNTIME_SOURCES]
    sources = [path for dependency in dependencies for path in dependency.rglob("*.py")]
    assert not sources, sources[:5]
    assert list((asset / "strawberry").rglob("*.pyc"))


def test_pruning_drops_each_unused_path_and_keeps_metadata_to_versions_and_licences(
    tmp_path: Path,
) -> None:
    for folder, names, _ in UNUSED:
        for name in names.split():
            path = tmp_path / folder / name.replace("*", "1.0")
            path.mkdir(parents=True, exist_ok=True)
            (path / "module.py").write_text("")
    kept = ["strawberry/asgi/__init__.py", "aws_lambda_powertools/utilities/batch/base.py"]
    metadata = tmp_path / "strawberry_graphql-1.0.dist-info"
    metadata_files = ["METADATA", "LICENSE", "licenses/LICENSE", "WHEEL", "INSTALLER", "RECORD"]
    for name in [*kept, *(f"{metadata.name}/{file}" for file in metadata_files)]:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("")

    prune(tmp_path)

    left = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file())
    assert left == sorted(
        [
            *kept,
            *(f"{metadata.name}/{name}" for name in ("METADATA", "LICENSE", "licenses/LICENSE")),
        ]
    )


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


def test_the_trusted_documents_manifest_ships_and_graphiqls_scripts_do_not(asset: Path) -> None:
    manifest = ROOT / "schema" / "trusted-documents.json"

    assert (asset / "schema" / "trusted-documents.json").read_bytes() == manifest.read_bytes()
    # The deployed page loads them from unpkg.com; only `make run` serves them.
    for script in ("graphiql.min.js", "react-dom.production.min.js", "index.umd.js"):
        assert not list(asset.rglob(script)), script


def test_rebuilding_unchanged_code_gives_the_same_asset_hash(tmp_path: Path) -> None:
    # unchecked-hash bytecode holds no timestamps, so two builds of one tree are identical.
    python = find_python(PYTHON_VERSION)
    builds = [tmp_path / "first", tmp_path / "second"]
    for build in builds:
        build.mkdir()
        copy_runtime_sources(build)
        if python is not None:
            compile_bytecode(build, python)
    first, second = (FileSystem.fingerprint(str(build)) for build in builds)
    assert first == second


def test_synthesis_refuses_an_asset_that_is_missing_or_older_than_its_inputs(
    tmp_path: Path,
) -> None:
    with pytest.raises(FileNotFoundError, match=r"run `make asset` first"):
        lambda_code(directory=tmp_path / "missing")
    with pytest.raises(FileNotFoundError, match=r"make asset CDK_ARGS='-c bundleBoto3=true'"):
        lambda_code(bundle_boto3=True, directory=tmp_path / "missing")
    stale = tmp_path / "stale"
    stale.mkdir()
    os.utime(stale, (0, 0))
    with pytest.raises(RuntimeError, match=r"older than .*: run `make asset`"):
        lambda_code(directory=stale)


def test_the_export_drops_the_sdk_only_when_asked(tmp_path: Path) -> None:
    slim = export_command(tmp_path / "r.txt")
    full = export_command(tmp_path / "r.txt", bundle_boto3=True)
    assert slim[slim.index("--prune") : slim.index("--prune") + 2] == ["--prune", "boto3"]
    assert "--prune" not in full
    assert asset_dir(bundle_boto3=True) != asset_dir()
    for command in (slim, full):
        assert {"--frozen", "--no-dev", "--no-default-groups", "--no-hashes"} <= set(command)


def test_a_missing_source_fails_loudly(tmp_path: Path) -> None:
    project = tmp_path / "project"
    for source in RUNTIME_SOURCES:
        if not source.endswith(".py"):
            (project / source).mkdir(parents=True)
    (tmp_path / "asset").mkdir()
    with pytest.raises(FileNotFoundError, match=r"handler\.py"):
        copy_runtime_sources(tmp_path / "asset", project_root=project)


def _module_path(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    assert spec is not None, name
    assert spec.origin is not None, name
    return Path(spec.origin)


# What the Lambda Python runtime puts on sys.path next to the function's code.
RUNTIME_PROVIDED_MODULES = ("boto3", "botocore", "s3transfer", "jmespath", "urllib3", "dateutil")


# Runs in a fresh interpreter with only the asset and the SDK importable: registers canned AWS
# answers on boto3's default session, imports handler in Lambda mode (which builds the entry
# point named by _HANDLER, as Lambda's init does), invokes it and prints what came back.
ASSET_RUN = r"""
import json, sys
sys.path[:0] = [sys.argv[1], sys.argv[2]]
import boto3
from botocore.awsrequest import AWSResponse

DONOR = {"pk": {"S": "DONOR#donor-1"}, "sk": {"S": "DONOR"}, "donationCount": {"N": "2"}}
JSON = {
    "GetItem": {"Item": DONOR},
    "Query": {"Items": [DONOR], "Count": 1},
    "TransactWriteItems": {},
    "UpdateItem": {},
    "PutItem": {},
}
PUBLISHED = ("<PublishResponse><PublishResult><MessageId>message-1</MessageId></PublishResult>"
             "</PublishResponse>")
calls = []

class Body:
    def __init__(self, content):
        self.content = content
    def stream(self, **_):
        yield self.content

def answer(request, event_name, **_):
    operation = event_name.rsplit(".", 1)[-1]
    calls.append(operation)
    if operation == "Publish":
        return AWSResponse(request.url, 200, {"content-type": "text/xml"}, Body(PUBLISHED.encode()))
    body = json.dumps(JSON[operation]).encode()
    return AWSResponse(request.url, 200, {"content-type": "application/x-amz-json-1.0"}, Body(body))

boto3.setup_default_session()
for service in ("dynamodb", "sns"):
    boto3.DEFAULT_SESSION.events.register(f"before-send.{service}", answer)

import handler

class Context:
    function_name, memory_limit_in_mb, aws_request_id = "asset", 1024, "request-1"
    invoked_function_arn = "arn:aws:lambda:eu-west-2:123456789012:function:asset"

events = json.loads(sys.stdin.read())
entry_point = getattr(handler, sys.argv[3])
responses = [entry_point(event, Context()) for event in events]
print(json.dumps({"responses": responses, "calls": calls}))
"""


TRACE_HEADER = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"


def _lambda_process(
    asset: Path, sdk: Path, python: str, entry_point: str, events: list[dict[str, Any]], **env: str
) -> dict[str, Any]:
    result = subprocess.run(
        # -S: no site-packages; -B: the shared staged asset must not gain __pycache__.
        [python, "-S", "-B", "-c", ASSET_RUN, str(asset), str(sdk), entry_point],
        input=json.dumps(events),
        env={
            "PATH": os.environ["PATH"],
            "AWS_DEFAULT_REGION": "eu-west-2",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            # Lambda mode, tracing on (X-Ray's datagrams go to a port where nothing listens).
            "LAMBDA_TASK_ROOT": str(asset),
            "AWS_LAMBDA_FUNCTION_NAME": "asset",
            "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:2000",
            "_X_AMZN_TRACE_ID": TRACE_HEADER,
            "_HANDLER": f"handler.{entry_point}",
            "POWERTOOLS_SERVICE_NAME": constants.SERVICE_NAME,
            constants.ENV_TABLE_NAME: "donations-test",
            constants.ENV_LOG_HASH_KEY: "asset-test-key",
            **env,
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    outcome: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return outcome


@pytest.fixture(scope="module")
def runtime_sdk(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What the Lambda Python runtime puts on sys.path next to the function's code."""
    sdk = tmp_path_factory.mktemp("runtime-sdk")
    for module in RUNTIME_PROVIDED_MODULES:
        (sdk / module).symlink_to(_module_path(module).parent)
    (sdk / "six.py").symlink_to(_module_path("six"))
    return sdk


@pytest.fixture(scope="module")
def asset_python(asset: Path) -> str:
    """The runtime's Python when the asset has its bytecode (sourceless dependencies need it);
    this interpreter otherwise. wrapt's arm64 extension falls back to its pure-Python twin, so
    this proves the zip is complete, not that its ABI matches."""
    if list(asset.glob("__pycache__")):
        python = find_python(PYTHON_VERSION)
        if python is None:
            pytest.skip(f"no CPython {PYTHON_VERSION} here to run the asset's bytecode with")
        return python
    return sys.executable


def _graphql_event(body: str, *, method: str = "POST") -> dict[str, Any]:
    event: dict[str, Any] = json.loads(
        (ROOT / "local/events/http_api_graphql_post.json").read_text()
    )
    event["requestContext"]["http"]["method"] = method
    event["body"] = body
    return event


def test_the_api_serves_requests_from_the_asset_alone(
    asset: Path, runtime_sdk: Path, asset_python: str
) -> None:
    record = (
        'mutation { recordDonation(input: {donorId: "donor-1", amount: "5.00"}) {'
        " __typename ... on RecordDonationSuccess { donor { donationCount } } } }"
    )
    events = [
        _graphql_event(json.dumps({"query": '{ donationCount(donorId: "donor-1") }'})),
        _graphql_event(json.dumps({"query": record})),
        _graphql_event("{not json"),
        {**_graphql_event(""), "headers": {"accept": "text/html"}, "routeKey": "GET /graphql"},
    ]
    events[-1]["requestContext"]["http"]["method"] = "GET"

    outcome = _lambda_process(
        asset, runtime_sdk, asset_python, "api_handler", events, **{constants.ENV_STAGE: "dev"}
    )

    count, recorded, malformed, graphiql = outcome["responses"]
    assert json.loads(count["body"]) == {"data": {"donationCount": 2}}
    assert json.loads(recorded["body"])["data"]["recordDonation"] == {
        "__typename": "RecordDonationSuccess",
        "donor": {"donationCount": 2},
    }
    assert malformed["statusCode"] == 400
    assert graphiql["statusCode"] == 200
    assert "graphiql" in graphiql["body"].lower()
    assert outcome["calls"] == ["GetItem", "TransactWriteItems", "Query"]


def test_persisted_documents_resolve_and_register_from_the_asset_alone(
    asset: Path, runtime_sdk: Path, asset_python: str
) -> None:
    count = "query Count($id: ID!) { donationCount(donorId: $id) }"
    trusted = TrustedDocuments.load()
    count_id = next(doc.id for doc in trusted if doc.name == "DonationCount")

    def persisted(sha256: str, query: str | None = None) -> dict[str, Any]:
        extensions = {"persistedQuery": {"version": 1, "sha256Hash": sha256}}
        body = {"query": query, "variables": {"id": "d", "donorId": "d"}, "extensions": extensions}
        return _graphql_event(json.dumps(body))

    events = [
        persisted(count_id),  # a trusted document, by id
        persisted(sha256_hex(count)),  # unknown: the registry has no such item
        persisted(sha256_hex(count), count),  # the text with its hash: runs, then registered
    ]

    outcome = _lambda_process(asset, runtime_sdk, asset_python, "api_handler", events)

    by_id, unknown, registered = (json.loads(r["body"]) for r in outcome["responses"])
    assert by_id == {"data": {"donationCount": 2}}
    assert unknown["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
    assert registered == {"data": {"donationCount": 2}}
    assert outcome["calls"] == ["GetItem", "GetItem", "GetItem", "PutItem"]


def test_the_thank_you_consumer_handles_a_stream_batch_from_the_asset_alone(
    asset: Path, runtime_sdk: Path, asset_python: str
) -> None:
    keys = {"pk": {"S": "DONOR#donor-1"}, "sk": {"S": "DONOR"}}
    record = {
        "eventID": "1",
        "eventName": "MODIFY",
        "eventSource": "aws:dynamodb",
        "dynamodb": {
            "Keys": keys,
            "OldImage": {**keys, "donationCount": {"N": "1"}},
            "NewImage": {**keys, "donationCount": {"N": "2"}},
            "SequenceNumber": "100",
            "StreamViewType": "NEW_AND_OLD_IMAGES",
        },
    }

    outcome = _lambda_process(
        asset,
        runtime_sdk,
        asset_python,
        "thank_you_handler",
        [{"Records": [record]}],
        **{constants.ENV_TOPIC_ARN: "arn:aws:sns:eu-west-2:123456789012:thank-you"},
    )

    assert outcome["responses"] == [{"batchItemFailures": []}]
    assert outcome["calls"] == ["GetItem", "Publish", "UpdateItem"]
