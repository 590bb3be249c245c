"""Starts the real `make run` server (python -m local.server) on a free port."""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from local.issuer import LocalIssuer
from local.process import read_json_log, running_server

ROOT = Path(__file__).resolve().parents[2]
LOG_HASH_KEY = "e2e-log-hash-key"


@dataclass
class LocalServer:
    url: str
    log_path: Path
    # Under AUTH=jwt: the issuer whose tokens the server accepts.
    issuer: LocalIssuer | None = None

    def token(self, scopes: str = "", donor: str | None = None) -> str:
        assert self.issuer is not None, "this server is open; use protected_server"
        return self.issuer.mint(scopes=scopes.split(), donor=donor)

    def bearer(self, scopes: str = "", donor: str | None = None) -> dict[str, str]:
        return {"authorization": f"Bearer {self.token(scopes, donor)}"}

    @staticmethod
    def donor_ref(donor_id: str) -> str:
        """How this server's logs name the donor (the keyed hash, with the fixture's key)."""
        return hmac.new(LOG_HASH_KEY.encode(), donor_id.encode(), hashlib.sha256).hexdigest()[:16]

    @property
    def graphql_url(self) -> str:
        return f"{self.url}/graphql"

    def log_lines(self) -> list[dict[str, Any]]:
        """Every JSON line the server has logged so far."""
        return read_json_log(self.log_path)

    def wait_for_log(
        self, message: str, count: int = 1, timeout: float = 10.0
    ) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while True:
            found = [line for line in self.log_lines() if line.get("message") == message]
            if len(found) >= count or time.monotonic() > deadline:
                return found
            time.sleep(0.1)


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalServer]:
    with running_server(LOG_HASH_KEY, tmp_path_factory.mktemp("server")) as (url, log_path):
        yield LocalServer(url, log_path)


@pytest.fixture(scope="session")
def protected_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalServer]:
    """`AUTH=jwt make run`: the same server behind the local JWT authorizer."""
    issuer_dir = tmp_path_factory.mktemp("issuer")
    with running_server(
        LOG_HASH_KEY, tmp_path_factory.mktemp("protected"), auth="jwt", issuer_dir=issuer_dir
    ) as (url, log_path):
        yield LocalServer(url, log_path, LocalIssuer.load_or_create(url, issuer_dir))


@pytest.fixture(scope="session")
def local_server(server: LocalServer) -> str:
    """The base URL of the running server, e.g. http://127.0.0.1:54321."""
    return server.url
