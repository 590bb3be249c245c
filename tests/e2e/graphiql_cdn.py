"""Check the deployed GraphiQL page's unpkg.com pins against node_modules, offline.

The Lambda stage's page (schema.graphiql.UNPKG_ASSETS) loads React, GraphiQL and the
explorer plugin from ``https://unpkg.com/<pkg>@<version>/<path>`` with ``integrity``
attributes; ``package.json`` pins exactly those versions, which `make run` serves itself.
This module maps each URL to the file of that exact installed version (refusing any other
version) and says which integrity hashes would not match, so a drift fails with a clear
message rather than a blank page in the browser.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from html.parser import HTMLParser
from pathlib import Path

NODE_MODULES = Path(__file__).resolve().parents[2] / "node_modules"

# https://unpkg.com/<name or @scope/name>@<exact version>/<path>[?query][#fragment]
_UNPKG_URL = re.compile(
    r"^https://unpkg\.com/"
    r"(?P<package>(?:@[a-z0-9][\w.-]*/)?[a-z0-9][\w.-]*)"
    r"@(?P<version>[^/?#]+)"
    r"/(?P<path>[^?#]+)"
    r"(?:[?#].*)?$"
)
_EXACT_VERSION = re.compile(r"^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?$")

CONTENT_TYPES = {
    ".js": "application/javascript; charset=utf-8",
    ".mjs": "application/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".map": "application/json; charset=utf-8",
    ".json": "application/json; charset=utf-8",
}


class CdnError(Exception):
    """A URL that can't be served from node_modules exactly as unpkg would."""


def resolve(url: str, node_modules: Path = NODE_MODULES) -> Path:
    """The node_modules file for an unpkg URL, after checking the installed version matches."""
    match = _UNPKG_URL.match(url)
    if match is None:
        raise CdnError("not an https://unpkg.com/<package>@<version>/<path> URL")
    package, version, rel_path = match["package"], match["version"], match["path"]
    if not _EXACT_VERSION.match(version):
        raise CdnError(f"{package}@{version} is not an exact version (ranges and tags refused)")

    package_dir = (node_modules / package).resolve()
    manifest = package_dir / "package.json"
    if not manifest.is_file():
        raise CdnError(f"{package} is not installed in {node_modules} (run npm ci)")
    installed = json.loads(manifest.read_text(encoding="utf-8")).get("version")
    if installed != version:
        raise CdnError(f"page wants {package}@{version} but node_modules has {package}@{installed}")

    target = (package_dir / rel_path).resolve()
    if not target.is_relative_to(package_dir):
        raise CdnError(f"{rel_path!r} escapes the {package} package")
    if not target.is_file():
        raise CdnError(f"{package}@{version} has no file {rel_path!r}")
    if target.suffix not in CONTENT_TYPES:
        raise CdnError(f"no content type known for {target.suffix!r} files")
    return target


class _IntegrityParser(HTMLParser):
    def __init__(self, prefix: str) -> None:
        super().__init__()
        self.prefix = prefix
        self.assets: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        url = attributes.get("src") if tag == "script" else attributes.get("href")
        if tag in {"script", "link"} and url and url.startswith(self.prefix):
            self.assets[url] = attributes.get("integrity") or ""


def page_assets(html: str, prefix: str = "https://unpkg.com/") -> dict[str, str]:
    """Every script/stylesheet URL in ``html`` starting with ``prefix``, to its integrity."""
    parser = _IntegrityParser(prefix)
    parser.feed(html)
    parser.close()
    return parser.assets


def sri_digest(path: Path, algorithm: str = "sha384") -> str:
    """The Subresource Integrity string of a file, e.g. ``sha384-<base64>``."""
    digest = hashlib.new(algorithm, path.read_bytes()).digest()
    return f"{algorithm}-{base64.b64encode(digest).decode('ascii')}"


def integrity_problems(html: str, node_modules: Path = NODE_MODULES) -> list[str]:
    """Why any unpkg asset of the page would not load from node_modules (empty when all would)."""
    problems = []
    for url, integrity in page_assets(html).items():
        try:
            path = resolve(url, node_modules)
        except CdnError as exc:
            problems.append(f"{url}: {exc}")
            continue
        expected = integrity.split()
        if not expected:
            problems.append(f"{url}: the page gives no integrity attribute")
            continue
        algorithms = {token.split("-", 1)[0] for token in expected}
        actual = {sri_digest(path, algorithm) for algorithm in algorithms}
        if actual.isdisjoint(expected):
            problems.append(
                f"{url}: {path} hashes to {sorted(actual)}, the page expects {expected}"
            )
    return problems
