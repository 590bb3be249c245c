"""`make run`: the API and GraphiQL on http://127.0.0.1:8000/graphql.

By default DynamoDB, its stream, SNS and a subscriber queue are emulated in-process by
moto, and background threads play the part of Lambda's stream event source and of a
topic subscriber (local.stack). The emulated table is kept in .local/emulator/ between
runs (``FRESH=1`` starts empty; local.persistence). Set DONATIONS_TABLE_NAME (and AWS
credentials, or AWS_ENDPOINT_URL for a DynamoDB-compatible endpoint) to serve a real table
instead.

Open by default, as the dev stage is. `AUTH=jwt` puts the local JWT authorizer in front
(local.authorizer) and turns the function's access policy on, as `-c authorization=jwt`
does in AWS; `make token` prints tokens it accepts.

Ctrl-C and SIGTERM stop it the same way: uvicorn finishes the requests in flight, the stream
pump delivers what the stream still holds, the table is saved, then "Stopped." and exit 0.
"""

from __future__ import annotations

import os
import signal
import socket
import sys
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

from donations.constants import ENV_AUTHORIZATION, GRAPHQL_PATH
from local.connections import server_config

if TYPE_CHECKING:
    from local.issuer import LocalIssuer
    from local.stack import EmulatedAws

# Set before anything imports Powertools: no X-Ray or CloudWatch metrics on a laptop.
os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")


class StartupError(Exception):
    """Something the developer can fix stopped the server from starting: one line says what."""


def _stop_like_ctrl_c(signum: int, frame: FrameType | None) -> None:
    # uvicorn handles SIGTERM while it serves, then raises it again once it has stopped;
    # by default that would kill the process before the table is saved.
    raise KeyboardInterrupt


def listen(host: str, port: int) -> socket.socket:
    """The API's listening socket; ``StartupError`` if the port is taken."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        return socket.create_server((host, port), family=family, backlog=2048)
    except OSError as error:
        reason = os.strerror(error.errno) if error.errno else str(error)
        raise StartupError(
            f"Cannot listen on {host}:{port} ({reason}): another `make run`? "
            "Stop it, or set PORT to a free port."
        ) from None


def _shown(folder: Path) -> str:
    try:
        return str(folder.relative_to(Path.cwd()))
    except ValueError:
        return str(folder)


def _start_emulation() -> EmulatedAws:
    from local.moto_patches import UnsupportedMotoError
    from local.persistence import DataFolderBusyError, UnreadableSnapshotError, fresh_start
    from local.stack import EmulatedAws, data_folder

    local = EmulatedAws(data=data_folder(), fresh=fresh_start())
    try:
        local.start()
    except OSError as error:
        local.stop()
        raise StartupError(
            f"Could not open the emulated AWS endpoint ({error.strerror or error}): "
            "another `make run`? Set EMULATOR_PORT to a free port."
        ) from None
    except DataFolderBusyError as error:
        local.stop()
        raise StartupError(
            f"Another `make run` keeps its data in {_shown(Path(str(error)))}: stop it, or set "
            "EMULATOR_DATA_DIR to another folder."
        ) from None
    except (UnsupportedMotoError, UnreadableSnapshotError) as error:
        local.stop()
        raise StartupError(str(error)) from None
    return local


def _data_line(local: EmulatedAws) -> str:
    from local.persistence import fresh_start

    data = local.data
    if data is None:
        return ""
    where = _shown(data.folder)
    restored = local.restored
    if fresh_start():
        state = "starting empty (FRESH=1)"
    elif restored is None or not restored.items:
        state = "none yet"
    else:
        state = f"{len(restored.items):,} items restored"
        if restored.unclean:
            state += f" (the last run did not stop cleanly: {local.redriven} thank-yous re-driven)"
    return f"  Data: {state}; kept in {where}/ across restarts (FRESH=1 starts empty)\n"


# `make run`'s own switch; the function's AUTHORIZATION follows it.
ENV_AUTH = "AUTH"


def main() -> int:
    import uvicorn

    from donations.observability import logger
    from local.log_format import chosen_log_format, use_readable_logs, write_whole_lines
    from local.stack import emulating

    host = os.environ.get("HOST", "127.0.0.1")
    port = int(os.environ.get("PORT", "8000"))
    auth = os.environ.get(ENV_AUTH, "none").strip().lower() or "none"
    if auth not in ("none", "jwt"):
        sys.stderr.write(f"{ENV_AUTH} must be none or jwt (SigV4 is not emulated locally)\n")
        return 2
    # AUTH alone decides who is let in locally, whatever STAGE would default to: the
    # function trusts the local authorizer exactly when there is one.
    os.environ[ENV_AUTHORIZATION] = auth
    signal.signal(signal.SIGTERM, _stop_like_ctrl_c)
    local: EmulatedAws | None = None
    listener: socket.socket | None = None
    serving = False
    try:
        try:
            log_format = chosen_log_format(sys.stdout)
        except ValueError as error:
            raise StartupError(str(error)) from None
        write_whole_lines(logger)
        if log_format == "text":
            use_readable_logs(logger)
        listener = listen(host, port)
        issuer: LocalIssuer | None = None
        if auth == "jwt":
            from local.issuer import LocalIssuer, issuer_url

            issuer = LocalIssuer.load_or_create(issuer_url(host, port))
        local = _start_emulation() if emulating() else None

        from donations.container import services
        from local.app import build_asgi_app
        from local.cors import cors_origins

        app = build_asgi_app(services(), issuer, cors_origins=cors_origins(os.environ))
        server = uvicorn.Server(server_config(app, host, port))
        mode = "emulated AWS (moto, in-process)" if local else "the configured AWS table"
        endpoint = (
            f"  Emulated AWS for make forget, make redrive and aws --endpoint-url: "
            f"{local.endpoint.url}\n"
            if local
            else ""
        )
        access = (
            f"  Callers need a token from the local issuer {issuer.url}:\n"
            '    make token SCOPES="donations/write donations/read"   or   make token DONOR=…\n'
            if issuer
            else "  Open to every caller (AUTH=jwt puts a JWT authorizer in front).\n"
        )
        sys.stderr.write(
            f"\n  Donations API with {mode}\n"
            f"  GraphiQL and POST endpoint: http://{host}:{port}{GRAPHQL_PATH}\n"
            f"{endpoint}"
            f"{access}"
            f"{_data_line(local) if local else ''}"
            "  Press Ctrl-C to stop.\n\n"
        )
        serving = True
        server.run(sockets=[listener])
    except StartupError as error:
        sys.stderr.write(f"  {error}\n")
        return 1
    except KeyboardInterrupt:
        pass  # Ctrl-C or SIGTERM: stop as below
    finally:
        _stop(local, listener, announce=serving)
    return 0


def _stop(local: EmulatedAws | None, listener: socket.socket | None, *, announce: bool) -> None:
    if listener is not None:
        listener.close()
    if local is not None:
        # Saving takes a moment; a second Ctrl-C then would only lose the last changes.
        ignored = (signal.SIGINT, signal.SIGTERM)
        previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in ignored}
        try:
            local.stop()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
    if not announce:
        return
    if local is not None and local.saved is not None and local.data is not None:
        where = _shown(local.data.folder)
        sys.stderr.write(f"  Stopped. {local.saved:,} items kept in {where}/.\n")
    else:
        sys.stderr.write("  Stopped.\n")


if __name__ == "__main__":
    raise SystemExit(main())
