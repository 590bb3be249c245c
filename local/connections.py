"""How `make run` serves its app with uvicorn: with deadlines for requests still arriving.

Kept apart from ``local.server``, which sets process-wide Powertools switches when imported,
so tests can serve the same configuration in-process.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any, Final

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

if TYPE_CHECKING:
    import uvicorn

    from local.app import ASGIApp

# On 127.0.0.1 a request's headers and body arrive in milliseconds; a client slower than
# this is holding a connection open, not sending one. uvicorn times out idle keep-alive
# connections but has no deadline for a request that is still arriving.
HEADERS_TIMEOUT: Final = 5.0
BODY_TIMEOUT: Final = 10.0
KEEP_ALIVE_TIMEOUT: Final = 5


class DeadlineH11Protocol(H11Protocol):
    """uvicorn's h11 protocol, closing a connection whose request does not arrive in time.

    The headers get ``HEADERS_TIMEOUT`` from the connection opening or the request's first
    byte; the body gets ``BODY_TIMEOUT`` from the end of the headers. Once the request has
    arrived in full, the clock stops: how long the app takes to answer is not the client's
    doing. (The app sees a cut body as a disconnect and executes nothing.)
    """

    _deadline: asyncio.TimerHandle | None = None
    _timing_body = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm(HEADERS_TIMEOUT)

    def data_received(self, data: bytes) -> None:
        if self.conn.their_state is h11.IDLE and self._deadline is None:
            self._arm(HEADERS_TIMEOUT)  # the first bytes of the next request on this connection
        super().data_received(data)

    def handle_events(self) -> None:
        super().handle_events()
        state = self.conn.their_state
        if state is h11.SEND_BODY and not self._timing_body:
            self._arm(BODY_TIMEOUT)
            self._timing_body = True
        elif state is not h11.IDLE and state is not h11.SEND_BODY:
            self._disarm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self, seconds: float) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(seconds, self._too_slow)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
        self._deadline = None
        self._timing_body = False

    def _too_slow(self) -> None:
        self._deadline = None
        if not self.transport.is_closing():
            self.transport.close()


def server_config(app: ASGIApp, host: str, port: int, **options: Any) -> uvicorn.Config:
    """How `make run` (and the tests that stand in for it) serve the app with uvicorn."""
    import uvicorn

    return uvicorn.Config(
        app,
        host=host,
        port=port,
        http=DeadlineH11Protocol,
        timeout_keep_alive=KEEP_ALIVE_TIMEOUT,
        log_config=None,
        access_log=False,
        lifespan="off",
        **options,
    )
