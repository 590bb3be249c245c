"""GraphiQL for `make run` without the internet: the page's scripts come from node_modules.

The Lambda stage loads GraphiQL's files from unpkg.com (schema.graphiql.UNPKG_ASSETS). Here
the same files, at the same pinned versions (package.json), are served by the local server
under ``/graphiql/<package>@<version>/<path>``, and the page's integrity hashes are computed
from the bytes served, so the browser still checks every file and the page makes no request
outside the server's origin.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from starlette.responses import PlainTextResponse, Response

from schema.graphiql import UNPKG_ASSETS, PageAsset

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

NODE_MODULES: Final = Path(__file__).resolve().parents[1] / "node_modules"
ASSET_PATH_PREFIX: Final = "/graphiql/"
CONTENT_TYPES: Final = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
}


class GraphiQLAssetsMissing(Exception):
    """node_modules lacks a file of the pinned version (run `npm ci`)."""


def sri_sha384(content: bytes) -> str:
    """The Subresource Integrity string of these bytes."""
    return "sha384-" + base64.b64encode(hashlib.sha384(content).digest()).decode("ascii")


@dataclass(frozen=True, slots=True)
class _ServedFile:
    content: bytes
    content_type: str


class LocalGraphiQLAssets:
    """The page's files read once from node_modules, and the ASGI app that serves them."""

    def __init__(self, node_modules: Path = NODE_MODULES) -> None:
        self._files: dict[str, _ServedFile] = {}
        assets = []
        for asset in UNPKG_ASSETS:
            content = _read_pinned(node_modules, asset)
            path = f"{ASSET_PATH_PREFIX}{asset.package}@{asset.version}/{asset.path}"
            suffix = Path(asset.path).suffix
            self._files[path] = _ServedFile(content, CONTENT_TYPES[suffix])
            assets.append(
                PageAsset(asset.package, asset.version, asset.path, sri_sha384(content), path)
            )
        self.page_assets = tuple(assets)

    def mount(self, app: ASGIApp) -> ASGIApp:
        """``app`` with the files served in front of it; every other request goes to ``app``."""

        async def with_assets(scope: Scope, receive: Receive, send: Send) -> None:
            path = scope.get("path", "") if scope["type"] == "http" else ""
            if not path.startswith(ASSET_PATH_PREFIX):
                await app(scope, receive, send)
                return
            await self._respond(scope["method"], path)(scope, receive, send)

        return with_assets

    def _respond(self, method: str, path: str) -> Response:
        served = self._files.get(path)
        if served is None:
            return PlainTextResponse("Not found", status_code=404)
        if method not in ("GET", "HEAD"):
            return PlainTextResponse(
                "Method not allowed", status_code=405, headers={"Allow": "GET"}
            )
        # The URL names an exact version, so the browser may keep the file.
        headers = {"cache-control": "public, max-age=31536000, immutable"}
        return Response(served.content, media_type=served.content_type, headers=headers)


def _read_pinned(node_modules: Path, asset: PageAsset) -> bytes:
    package_dir = node_modules / asset.package
    try:
        installed = json.loads((package_dir / "package.json").read_text(encoding="utf-8"))
        content = (package_dir / asset.path).read_bytes()
    except OSError:
        raise GraphiQLAssetsMissing(f"{asset.package} is not installed: run `npm ci`") from None
    if installed.get("version") != asset.version:
        raise GraphiQLAssetsMissing(
            f"{asset.package} {installed.get('version')} is installed, the page pins "
            f"{asset.version}: run `npm ci`"
        )
    return content
