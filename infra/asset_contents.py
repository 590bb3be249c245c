"""What the Lambda asset holds: our runtime packages, and the locked wheels less what the
functions never import. That this holds is tested by serving a request and a stream batch from
the built asset alone (tests/infra/test_asset.py); the sizes are in `make bench`.
"""

from __future__ import annotations

import shutil
from pathlib import Path

# What the functions import. The dev harness, test fakes and scripts live outside these.
RUNTIME_SOURCES = ("handler.py", "donations", "schema", "resolvers")
# Every Python runtime ships them (botocore alone is ~25 MB unzipped), new enough for our calls.
RUNTIME_PROVIDED_PACKAGES = ("boto3", "botocore")
# What the functions never import: (folder in the asset, names or globs in it, why).
UNUSED: tuple[tuple[str, str, str], ...] = (
    (
        "aws_lambda_powertools/utilities",
        "auth_alpha circuit_breaker data_masking feature_flags idempotency kafka metadata "
        "parser streaming validation",
        "Powertools utilities we don't use (we do use batch, data_classes and parameters)",
    ),
    (
        "aws_lambda_powertools",
        "event_handler metrics/provider/datadog",
        "Powertools' REST/AppSync routing (Strawberry serves the API) and Datadog metrics",
    ),
    (
        "strawberry",
        "aiohttp chalice channels django fastapi flask litestar quart sanic pydantic "
        "cli codegen codemods schema_codegen ext test tools extensions/tracing",
        "Strawberry's other web frameworks, pydantic support, developer tools and tracers",
    ),
    (
        "aws_xray_sdk/ext",
        "aiobotocore aiohttp bottle django flask flask_sqlalchemy httplib httpx mysql pg8000 "
        "psycopg psycopg2 pymongo pymysql pynamodb requests sqlalchemy sqlalchemy_core "
        "sqlite3 dbapi2.py",
        "X-Ray patches for libraries other than botocore, the only one patched",
    ),
    (
        "starlette",
        "middleware routing.py applications.py testclient.py templating.py staticfiles.py "
        "schemas.py endpoints.py authentication.py config.py",
        "Starlette's application framework: Strawberry's view uses its requests and responses",
    ),
    (
        "dateutil",
        "zoneinfo rrule.py easter.py tzwin.py",
        "dateutil's time-zone database and recurrence rules: Strawberry only parses ISO times",
    ),
    (
        ".",
        "packaging packaging-*.dist-info idna idna-*.dist-info anyio/_backends/_trio.py "
        "cross_web/testing",
        "imported only by what is dropped above (packaging), never (idna: anyio's own "
        "sockets), or only in tests",
    ),
)
# Of each package's metadata, what importlib.metadata.version() reads and the licences; the
# rest (WHEEL, INSTALLER, entry points, ...) serves installers, not a running function.
KEPT_METADATA = ("METADATA", "LICENSE*", "LICENCE*", "NOTICE*", "COPYING*", "AUTHORS*", "licenses")


def prune(target: Path) -> None:
    """Remove what the functions never import (``UNUSED``) and metadata nothing reads."""
    for folder, names, _ in UNUSED:
        for name in names.split():
            for path in sorted((target / folder).glob(name)):
                shutil.rmtree(path) if path.is_dir() else path.unlink()
    for metadata in target.glob("*.dist-info"):
        for path in metadata.iterdir():
            if not any(path.match(kept) for kept in KEPT_METADATA):
                shutil.rmtree(path) if path.is_dir() else path.unlink()
