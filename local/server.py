"""`make run`: the API and GraphiQL on http://127.0.0.1:8000/graphql.

By default DynamoDB, its stream, SNS and a subscriber queue are emulated in-process by
moto, and background threads play the part of Lambda's stream event source and of a
topic subscriber (local.stack). Set DONATIONS_TABLE_NAME (and AWS credentials, or
AWS_ENDPOINT_URL for a DynamoDB-compatible endpoint) to serve a real table instead.

Open by default, as the dev stage is. `AUTH=jwt` puts the local JWT authorizer in front
(local.authorizer) and turns the function's access policy on, as `-c authorization=jwt`
does in AWS; `make token` prints tokens it accepts.
"""

from __future__ import annotations

import os
import sys

from donations.constants import ENV_AUTHORIZATION, GRAPHQL_PATH
from donations.container import services
from local.app import build_asgi_app
from local.cors import cors_origins
from local.issuer import LocalIssuer, issuer_url
from local.stack import EmulatedAws, emulating

# `make run`'s own switch; the function's AUTHORIZATION follows it.
ENV_AUTH = "AUTH"


def main() -> int:
    import uvicorn

    host = os.environ.get("HOST", "127.0.0.1")
    port = int(os.environ.get("PORT", "8000"))
    os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    auth = os.environ.get(ENV_AUTH, "none").strip().lower() or "none"
    if auth not in ("none", "jwt"):
        sys.stderr.write(f"{ENV_AUTH} must be none or jwt (SigV4 is not emulated locally)\n")
        return 2
    # AUTH alone decides who is let in locally, whatever STAGE would default to: the
    # function trusts the local authorizer exactly when there is one.
    os.environ[ENV_AUTHORIZATION] = auth
    issuer = LocalIssuer.load_or_create(issuer_url(host, port)) if auth == "jwt" else None
    local = EmulatedAws() if emulating() else None
    if local is not None:
        try:
            local.start()
        except OSError as error:
            local.stop()
            sys.stderr.write(
                f"  Could not open the emulated AWS endpoint ({error.strerror}): "
                "another `make run`? Set EMULATOR_PORT to a free port.\n"
            )
            return 1
    try:
        app = build_asgi_app(services(), issuer, cors_origins=cors_origins(os.environ))
        config = uvicorn.Config(
            app, host=host, port=port, log_config=None, access_log=False, lifespan="off"
        )
        server = uvicorn.Server(config)
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
            "  Press Ctrl-C to stop.\n\n"
        )
        server.run()
    finally:
        if local is not None:
            local.stop()
        sys.stderr.write("  Stopped.\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
