"""Lambda's init phase: the entry point is built once, at import; SnapStart restores are safe.

A SnapStart snapshot of the init phase is restored into many execution environments. The
runtime hooks are called the way Lambda's runtime calls them: registered through the
``snapshot_restore_py`` module (a stand-in here, since only Lambda's runtimes ship it), the
before-snapshot ones in reverse order of registration, the after-restore ones in order.
"""

from __future__ import annotations

import hashlib
import hmac
import importlib
import json
import os
import random
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import boto3
import pytest

import handler
from donations.constants import (
    API_HANDLER,
    ENV_LOG_HASH_KEY,
    ENV_LOG_HASH_KEY_SECRET_ARN,
    ENV_TABLE_NAME,
)
from donations.observability import configure_donor_hashing, donor_ref
from tests.support.aws import EmulatedAccount

RUNTIME_LIBRARY = '''
"""Stands in for snapshot-restore-py (its public functions), as Lambda's runtime ships it."""
_before_snapshot = []
_after_restore = []


def register_before_snapshot(func, *args, **kwargs):
    _before_snapshot.append((func, args, kwargs))
    return func


def register_after_restore(func, *args, **kwargs):
    _after_restore.append((func, args, kwargs))
    return func


def get_before_snapshot():
    return _before_snapshot


def get_after_restore():
    return _after_restore
'''


@pytest.fixture
def runtime(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    (tmp_path / "snapshot_restore_py.py").write_text(RUNTIME_LIBRARY)
    monkeypatch.syspath_prepend(str(tmp_path))
    sys.modules.pop("snapshot_restore_py", None)
    yield importlib.import_module("snapshot_restore_py")
    sys.modules.pop("snapshot_restore_py", None)
    configure_donor_hashing("")  # leave no key behind for the next test


def take_snapshot(runtime: ModuleType) -> None:
    hooks = runtime.get_before_snapshot()
    while hooks:
        func, args, kwargs = hooks.pop()
        func(*args, **kwargs)


def restore(runtime: ModuleType) -> None:
    for func, args, kwargs in runtime.get_after_restore():
        func(*args, **kwargs)


def _ref(key: str, donor_id: str) -> str:
    return hmac.new(key.encode(), donor_id.encode(), hashlib.sha256).hexdigest()[:16]


@pytest.fixture
def snapstart_init(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_LAMBDA_INITIALIZATION_TYPE", "snap-start")


@pytest.mark.usefixtures("aws", "snapstart_init")
def test_each_restored_environment_draws_its_own_retry_jitter(
    runtime: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ENV_LOG_HASH_KEY, "a-key")
    handler.lambda_services()
    take_snapshot(runtime)
    snapshotted = random.getstate()

    draws = []
    for _ in range(2):
        random.setstate(snapshotted)  # every environment starts from the snapshot's memory
        restore(runtime)
        draws.append([random.random() for _ in range(3)])

    assert draws[0] != draws[1]


@pytest.mark.usefixtures("aws", "snapstart_init")
def test_the_log_hash_key_is_read_after_each_restore_and_never_into_the_snapshot(
    runtime: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = boto3.client("secretsmanager").create_secret(Name="LogHashKey", SecretString="k3y")
    monkeypatch.delenv(ENV_LOG_HASH_KEY, raising=False)
    monkeypatch.setenv(ENV_LOG_HASH_KEY_SECRET_ARN, secret["ARN"])
    configure_donor_hashing("")

    handler.lambda_services()
    take_snapshot(runtime)

    assert donor_ref("donor-1") == _ref("", "donor-1")  # the snapshot holds no key
    restore(runtime)
    assert donor_ref("donor-1") == _ref("k3y", "donor-1")


@pytest.mark.usefixtures("aws", "snapstart_init")
def test_page_cursors_are_keyed_from_the_secret_after_each_restore(
    runtime: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    from donations.domain.cursors import PageCursors

    secret = boto3.client("secretsmanager").create_secret(Name="LogHashKey", SecretString="k3y")
    monkeypatch.delenv(ENV_LOG_HASH_KEY, raising=False)
    monkeypatch.setenv(ENV_LOG_HASH_KEY_SECRET_ARN, secret["ARN"])
    services = handler.lambda_services()
    take_snapshot(runtime)
    in_the_snapshot = services.cursors.issue("donor-1", "DONATION#1")

    restore(runtime)

    # After the restore, cursors are the stage's: any container with the secret opens them.
    issued = services.cursors.issue("donor-1", "DONATION#1")
    assert PageCursors.from_secret("k3y").open("donor-1", issued) == "DONATION#1"
    assert issued != in_the_snapshot  # the snapshot's own key was never the secret's


def test_an_on_demand_init_reads_the_key_at_once_and_only_reseeds_after_a_restore(
    aws: EmulatedAccount, runtime: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = boto3.client("secretsmanager").create_secret(Name="LogHashKey", SecretString="k3y")
    monkeypatch.delenv(ENV_LOG_HASH_KEY, raising=False)
    monkeypatch.setenv(ENV_LOG_HASH_KEY_SECRET_ARN, secret["ARN"])
    monkeypatch.setenv("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand")

    handler.lambda_services()

    assert donor_ref("donor-1") == _ref("k3y", "donor-1")
    assert [func for func, _, _ in runtime.get_after_restore()] == [random.seed]


# Counts the schemas and ASGI apps built while `handler` is imported the way Lambda imports it.
COUNT_BUILDS = """
import json
import schema, schema.http

built = {"schemas": 0, "apps": 0}
for cls, name in ((schema.DonationsSchema, "schemas"), (schema.http.DonationsGraphQL, "apps")):
    def counting(self, *args, _init=cls.__init__, _name=name, **kwargs):
        built[_name] += 1
        _init(self, *args, **kwargs)
    cls.__init__ = counting

import handler
print(json.dumps({**built, "api_handler": handler.api_handler.__name__}))
"""


def test_in_lambda_the_api_is_built_once_at_import_and_elsewhere_not_at_all() -> None:
    lambda_env = {
        **os.environ,
        "_HANDLER": API_HANDLER,
        "AWS_LAMBDA_FUNCTION_NAME": "api",
        ENV_TABLE_NAME: "donations-test",
        ENV_LOG_HASH_KEY: "a-key",
    }
    outside_lambda = {name: value for name, value in lambda_env.items() if name != "_HANDLER"}

    built = [
        subprocess.run(
            [sys.executable, "-c", COUNT_BUILDS],
            env=env,
            capture_output=True,
            text=True,
            check=True,
            timeout=120,
        ).stdout
        for env in (lambda_env, outside_lambda)
    ]

    in_lambda, elsewhere = (json.loads(output.strip().splitlines()[-1]) for output in built)
    assert in_lambda == {"schemas": 1, "apps": 1, "api_handler": "api_handler"}
    assert elsewhere == {"schemas": 0, "apps": 0, "api_handler": "entry_point"}
