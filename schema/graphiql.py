"""The GraphiQL page served for ``GET /graphql`` (browsers), with the donations' own tabs.

Strawberry's page (``graphql_ide="graphiql"``) opens on a generic welcome text and copies
every query, donor ids included, into the address bar. This one opens three tabs from the
trusted-documents manifest (record a donation with its variables filled in, count, a donor
with a page of donations), keeps queries out of the URL, and loads its scripts from where it
is told: unpkg.com with integrity hashes in Lambda (so the asset stays small), the same files
from node_modules on `make run` (local/graphiql.py), so it also works offline.
"""

from __future__ import annotations

import html
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from schema.documents import TrustedDocuments


@dataclass(frozen=True, slots=True)
class PageAsset:
    """One script or stylesheet the page loads, pinned by its Subresource Integrity hash."""

    package: str
    version: str
    path: str
    integrity: str
    url: str

    @property
    def is_stylesheet(self) -> bool:
        return self.path.endswith(".css")


def _unpkg(package: str, version: str, path: str, integrity: str) -> PageAsset:
    url = f"https://unpkg.com/{package}@{version}/{path}"
    return PageAsset(package, version, path, integrity, url)


# The files and versions Strawberry 0.341's own page loads (package.json pins the same for
# make run and the browser test), in the order they must run. Strawberry's js-cookie is left
# out: it reads Django's CSRF cookie, which this API has no use for.
UNPKG_ASSETS: Final = (
    _unpkg(
        "react",
        "18.2.0",
        "umd/react.production.min.js",
        "sha384-tMH8h3BGESGckSAVGZ82T9n90ztNXxvdwvdM6UoR56cYcf+0iGXBliJ29D+wZ/x8",
    ),
    _unpkg(
        "react-dom",
        "18.2.0",
        "umd/react-dom.production.min.js",
        "sha384-bm7MnzvK++ykSwVJ2tynSE5TRdN+xL418osEVF2DE/L/gfWHj91J2Sphe582B1Bh",
    ),
    _unpkg(
        "graphiql",
        "3.8.3",
        "graphiql.min.css",
        "sha384-Mq3vbRBY71jfjQAt/DcjxUIYY33ksal4cgdRt9U/hNPvHBCaT2JfJ/PTRiPKf0aM",
    ),
    _unpkg(
        "@graphiql/plugin-explorer",
        "1.0.2",
        "dist/style.css",
        "sha384-5DFJlDPW2tSATRbM8kzoP1j194jexLswuNmClWoRr2Q0x7R68JIQzPHZ02Faktwi",
    ),
    _unpkg(
        "graphiql",
        "3.8.3",
        "graphiql.min.js",
        "sha384-HbRVEFG0JGJZeAHCJ9Xm2+tpknBQ7QZmNlO/DgZtkZ0aJSypT96YYGRNod99l9Ie",
    ),
    _unpkg(
        "@graphiql/plugin-explorer",
        "1.0.2",
        "dist/index.umd.js",
        "sha384-2oonKe47vfHIZnmB6ZZ10vl7T0Y+qrHQF2cmNTaFDuPshpKqpUMGMc9jgj9MLDZ9",
    ),
)

EXAMPLE_DONOR: Final = "donor-42"
# The manifest's operations GraphiQL opens with, and their example variables.
TABS: Final[tuple[tuple[str, dict[str, Any]], ...]] = (
    ("RecordDonation", {"input": {"donorId": EXAMPLE_DONOR, "amount": "25.00", "currency": "GBP"}}),
    ("DonationCount", {"donorId": EXAMPLE_DONOR}),
    ("Donor", {"id": EXAMPLE_DONOR, "first": 2, "after": None}),
)

_PAGE: Final = """<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <title>Donations API: GraphiQL</title>
    <link rel="icon" href="data:," />
    <style>
      body { margin: 0; }
      #graphiql { height: 100vh; }
      .graphiql-explorer-actions select { margin-left: 4px; }
    </style>
%(stylesheets)s
  </head>
  <body>
    <div id="graphiql">Loading GraphiQL...</div>
%(scripts)s
    <script type="application/json" id="graphiql-tabs">%(tabs)s</script>
    <script>
      (function () {
        var root = document.getElementById("graphiql");
        if (typeof GraphiQL === "undefined" || typeof GraphiQLPluginExplorer === "undefined") {
          root.textContent = "GraphiQL's scripts did not load (offline, blocked, or an " +
            "integrity mismatch): see the browser console.";
          return;
        }
        var tabs = JSON.parse(document.getElementById("graphiql-tabs").textContent);
        // GraphiQL 3 keeps the tabs in localStorage. Given no query it would add an empty tab
        // on every reload, and it fills the editors of the first default tab with its query
        // but not its variables: so it is handed the tab that was active last time, or else
        // the first of ours.
        var active = tabs[0];
        try {
          var stored = JSON.parse(localStorage.getItem("graphiql:tabState"));
          active = stored.tabs[stored.activeTabIndex] || active;
        } catch (error) {
          active = tabs[0];
        }
        var fetcher = GraphiQL.createFetcher({
          url: window.location.origin + window.location.pathname,
        });
        // No onEditQuery that writes the URL: queries (and the donor ids in them) stay out
        // of the address bar, the history and the logs of whatever serves this page.
        ReactDOM.createRoot(root).render(
          React.createElement(GraphiQL, {
            fetcher: fetcher,
            plugins: [GraphiQLPluginExplorer.explorerPlugin()],
            defaultTabs: tabs,
            query: active.query,
            variables: active.variables,
            defaultEditorToolsVisibility: true,
            inputValueDeprecation: true,
            shouldPersistHeaders: false,
          }),
        );
      })();
    </script>
  </body>
</html>
"""


def donation_tabs(trusted: TrustedDocuments) -> list[dict[str, Any]]:
    """GraphiQL tab definitions: the manifest's operations with example variables."""
    tabs = []
    for name, example in TABS:
        query = trusted.operation(name)
        if query is None:
            continue
        variables = example
        if "input" in example:
            # A fresh key per page: running the tab twice shows a replay, not a second gift.
            variables = {"input": {**example["input"], "idempotencyKey": str(uuid.uuid4())}}
        tabs.append({"query": query, "variables": json.dumps(variables, indent=2)})
    return tabs


def graphiql_page(assets: Sequence[PageAsset], tabs: list[dict[str, Any]]) -> str:
    """The page, loading ``assets`` in order, with ``integrity`` attributes, and these tabs."""

    def tag(asset: PageAsset) -> str:
        url, integrity = html.escape(asset.url), html.escape(asset.integrity)
        if asset.is_stylesheet:
            return (
                f'    <link rel="stylesheet" href="{url}" integrity="{integrity}" '
                'crossorigin="anonymous" />'
            )
        return f'    <script src="{url}" integrity="{integrity}" crossorigin="anonymous"></script>'

    # JSON inside <script>: escaping "<" means no text can close the element early.
    tabs_json = json.dumps(tabs).replace("<", "\\u003c")
    return _PAGE % {
        "stylesheets": "\n".join(tag(asset) for asset in assets if asset.is_stylesheet),
        "scripts": "\n".join(tag(asset) for asset in assets if not asset.is_stylesheet),
        "tabs": tabs_json,
    }
