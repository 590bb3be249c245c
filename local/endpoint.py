"""`make run`'s emulated AWS as an HTTP endpoint, for operator commands and the AWS CLI.

The server's own app, stream pump and inbox call moto in-process; this serves the same moto
backends over HTTP on a second local port, so `make forget`, `make redrive` and
``aws --endpoint-url http://127.0.0.1:8001 dynamodb scan --table-name donations-local``,
run in another terminal, see and change the very table, topic and queue the server uses.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterable
from typing import Any, Final

from donations.constants import ENV_AWS_ENDPOINT_URL, ENV_TABLE_NAME, ENV_TOPIC_ARN
from local.emulator import (
    LOCAL_REGION,
    LOCAL_TABLE,
    LOCAL_TOPIC,
    moto_lock,
    use_fake_credentials,
)

ENV_EMULATOR_PORT: Final = "EMULATOR_PORT"
DEFAULT_EMULATOR_PORT: Final = 8001

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def emulator_port() -> int:
    return int(os.environ.get(ENV_EMULATOR_PORT) or DEFAULT_EMULATOR_PORT)


class EmulatorEndpoint:
    """moto's HTTP server over the backends the in-process ``mock_aws()`` already holds.

    Built from moto's server parts rather than ``moto.server.ThreadedMotoServer``, which
    offers no way to put the emulator's lock around its app: without it, an operator's
    request would run beside the server's own calls, which moto's backends don't survive.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = DEFAULT_EMULATOR_PORT) -> None:
        self._host = host
        self._port = port
        self._server: Any = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self._host}:{self._port}"

    def start(self) -> None:
        """Listen on the port (``OSError`` if it is taken) and serve from a daemon thread."""
        from moto.moto_server.werkzeug_app import (
            DomainDispatcherApplication,
            MotoRequestHandler,
            create_backend_app,
        )
        from werkzeug.serving import make_server

        moto_app: WsgiApp = DomainDispatcherApplication(create_backend_app)

        def one_request_at_a_time(
            environ: dict[str, Any], start_response: Callable[..., Any]
        ) -> Iterable[bytes]:
            # The whole body is produced under the lock: moto builds it from live state.
            with moto_lock:
                return list(moto_app(environ, start_response))

        # werkzeug logs every request at INFO as plain text; the server's log is JSON.
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        self._server = make_server(
            self._host,
            self._port,
            one_request_at_a_time,
            threaded=True,
            request_handler=MotoRequestHandler,
        )
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="aws-endpoint", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)


def target_running_emulation() -> str:
    """Aim this process at a running `make run` unless a table is configured; say where.

    With ``DONATIONS_TABLE_NAME`` set, nothing changes: the command acts on that table
    (through ``AWS_ENDPOINT_URL`` if set, else AWS with the usual credentials). Without it,
    the command gets `make run`'s endpoint, table and topic, and moto's fake credentials,
    so a developer's real credentials are never sent to it.
    """
    table = os.environ.get(ENV_TABLE_NAME)
    if table:
        where = os.environ.get(ENV_AWS_ENDPOINT_URL) or "AWS, with your credentials"
        return f"table {table} at {where}"
    from moto.core.models import DEFAULT_ACCOUNT_ID

    use_fake_credentials()
    url = os.environ.setdefault(ENV_AWS_ENDPOINT_URL, f"http://127.0.0.1:{emulator_port()}")
    os.environ[ENV_TABLE_NAME] = LOCAL_TABLE
    os.environ.setdefault(
        ENV_TOPIC_ARN, f"arn:aws:sns:{LOCAL_REGION}:{DEFAULT_ACCOUNT_ID}:{LOCAL_TOPIC}"
    )
    return f"the running `make run` at {url} (table {LOCAL_TABLE})"
