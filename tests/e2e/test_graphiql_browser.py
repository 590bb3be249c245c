"""GraphiQL in a real headless Chromium against `make run`, with no network beyond the server.

Every request the page makes to another origin is refused and recorded, so the test proves
the page works offline: `make run` serves GraphiQL's scripts itself, with integrity hashes
computed from the bytes it serves. The deployed page's unpkg.com pins are checked against
the same node_modules files (graphiql_cdn.py).
"""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from schema.documents import TrustedDocuments
from schema.graphiql import UNPKG_ASSETS, donation_tabs, graphiql_page

try:
    from tests.e2e import graphiql_cdn
except ImportError:  # tests/ is not a package: pytest puts this directory on sys.path
    import graphiql_cdn  # type: ignore[no-redef]

pytestmark = pytest.mark.browser

CHROMIUM = next(
    (p for p in ("/usr/bin/chromium", shutil.which("chromium")) if p and Path(p).is_file()), None
)
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 20_000

MUTATION = (
    'mutation Typed { recordDonation(input: {donorId: "browser-donor-1", amount: "12.50", '
    'currency: "GBP"}) { __typename ... on RecordDonationSuccess { donation { id amount '
    "currency } donor { id donationCount } } } }"
)

QUERY_EDITOR = ".graphiql-query-editor .CodeMirror"
RESPONSE = ".graphiql-response"
TAB_TITLES = ".graphiql-tab .graphiql-tab-button"
# GraphiQL 3 uses CodeMirror 5, which keeps its editor object on the .CodeMirror element.
EDITOR_VALUE_JS = "(selector) => document.querySelector(selector).CodeMirror.getValue()"

pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
if CHROMIUM is None:
    pytest.skip(
        "Debian chromium is not installed (apt-get install chromium)", allow_module_level=True
    )
if not (graphiql_cdn.NODE_MODULES / "graphiql" / "package.json").is_file():
    pytest.skip(
        "node_modules is missing: run `npm ci` for the offline GraphiQL assets",
        allow_module_level=True,
    )

from playwright.sync_api import Page, Route, expect, sync_playwright  # noqa: E402


def test_the_deployed_pages_unpkg_pins_match_node_modules() -> None:
    html = graphiql_page(UNPKG_ASSETS, donation_tabs(TrustedDocuments.load()))

    assert len(graphiql_cdn.page_assets(html)) == len(UNPKG_ASSETS)
    problems = graphiql_cdn.integrity_problems(html)
    assert not problems, "GraphiQL assets drifted from node_modules:\n" + "\n".join(problems)


def test_make_run_serves_every_asset_itself_with_the_integrity_of_what_it_serves(
    local_server: str,
) -> None:
    assets = graphiql_cdn.page_assets(_graphiql_html(local_server), prefix="/graphiql/")

    assert len(assets) == len(UNPKG_ASSETS)
    for path, integrity in assets.items():
        served = httpx.get(f"{local_server}{path}", timeout=10)
        assert served.status_code == 200, path
        digest = base64.b64encode(hashlib.sha384(served.content).digest()).decode()
        assert integrity == f"sha384-{digest}", path


def test_graphiql_opens_donation_tabs_and_records_with_no_request_off_the_server(
    local_server: str, tmp_path: Path
) -> None:
    local_origin = _origin(local_server)
    elsewhere: list[str] = []

    def only_the_server(route: Route) -> None:
        if _origin(route.request.url) == local_origin:
            route.continue_()
        else:
            elsewhere.append(route.request.url)
            route.abort("internetdisconnected")

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.set_default_timeout(TIMEOUT_MS)
            page.route("**/*", only_the_server)
            console_errors: list[str] = []
            page.on("pageerror", lambda e: console_errors.append(str(e)))
            try:
                page.goto(f"{local_server}/graphql")  # returns after every <script> loaded
                expect(page.locator(QUERY_EDITOR)).to_be_visible()
                titles = page.locator(TAB_TITLES).all_inner_texts()
                recorded = _run_active_tab(page)
                replayed = _run_again(page)
                first = _run_mutation(page)
                second = _run_again(page)["recordDonation"]
                url_after_editing = page.url
                page.reload()
                expect(page.locator(QUERY_EDITOR)).to_be_visible()
                titles_after_reload = page.locator(TAB_TITLES).all_inner_texts()
            except Exception as exc:
                exc.add_note(f"requests off the server: {elsewhere}")
                exc.add_note(f"page errors: {console_errors}")
                _add_debug_notes(exc, page, tmp_path / "graphiql-failure.png")
                raise
        finally:
            browser.close()

    assert not elsewhere, f"the page reached outside the local server: {elsewhere}"
    assert not console_errors, console_errors
    assert [title.strip() for title in titles] == ["RecordDonation", "DonationCount", "Donor"]
    # The record tab comes with its variables and a fresh idempotency key: run twice, the
    # second run is the first donation replayed.
    assert recorded["recordDonation"]["replayed"] is False
    assert replayed["recordDonation"]["replayed"] is True
    assert replayed["recordDonation"]["donation"] == recorded["recordDonation"]["donation"]
    # A typed document runs too, and a new donation each time.
    for result in (first, second):
        assert result["__typename"] == "RecordDonationSuccess", result
        assert result["donation"]["amount"] == "12.50"
        assert result["donor"]["id"] == "browser-donor-1"
    assert second["donor"]["donationCount"] == first["donor"]["donationCount"] + 1
    # No query (nor the donor ids in it) in the address bar, and no tab added by a reload.
    assert urlsplit(url_after_editing).query == ""
    assert [title.strip() for title in titles_after_reload][:3] == [
        "RecordDonation",
        "DonationCount",
        "Donor",
    ]
    assert "<untitled>" not in titles_after_reload


def _run_active_tab(page: Page) -> dict[str, Any]:
    page.locator(".graphiql-execute-button").click()
    expect(page.locator(RESPONSE)).to_contain_text("RecordDonationSuccess")
    return _response(page)


def _run_mutation(page: Page) -> dict[str, Any]:
    """Type a document into a new tab and run it."""
    page.locator(".graphiql-tab-add").click()
    editor = page.locator(QUERY_EDITOR)
    editor.click()
    page.keyboard.press("ControlOrMeta+A")
    # insert_text sends no key events, so CodeMirror's bracket auto-closing stays out of it.
    page.keyboard.insert_text(MUTATION)
    assert page.evaluate(EDITOR_VALUE_JS, QUERY_EDITOR) == MUTATION, "editor text differs"
    # GraphiQL reads the operation's name a moment after an edit; run it only once it has.
    expect(page.locator(".graphiql-tab-active")).to_contain_text("Typed")
    page.locator(".graphiql-execute-button").click()
    page.wait_for_function(
        "(selector) => document.querySelector(selector).CodeMirror.getValue()"
        '.includes("browser-donor-1")',
        arg=f"{RESPONSE} .CodeMirror",
    )
    result: dict[str, Any] = _response(page)["recordDonation"]
    return result


def _run_again(page: Page) -> dict[str, Any]:
    """Ctrl-Enter in the editor runs it again; wait until the response pane changes."""
    previous = page.evaluate(EDITOR_VALUE_JS, f"{RESPONSE} .CodeMirror")
    page.locator(QUERY_EDITOR).click()
    page.keyboard.press("ControlOrMeta+Enter")
    page.wait_for_function(
        """([selector, previous]) => {
            const value = document.querySelector(selector).CodeMirror.getValue();
            return value.includes("RecordDonationSuccess") && value !== previous;
        }""",
        arg=[f"{RESPONSE} .CodeMirror", previous],
    )
    return _response(page)


def _response(page: Page) -> dict[str, Any]:
    text = page.evaluate(EDITOR_VALUE_JS, f"{RESPONSE} .CodeMirror")
    payload = json.loads(text)
    assert "errors" not in payload, payload
    data: dict[str, Any] = payload["data"]
    return data


def _add_debug_notes(exc: Exception, page: Page, shot: Path) -> None:
    """Best effort: a screenshot and the response pane, without hiding the real failure."""
    try:
        page.screenshot(path=str(shot), full_page=True)
        exc.add_note(f"screenshot: {shot}")
        exc.add_note(f"response pane: {page.locator(RESPONSE).inner_text(timeout=1000)!r}")
    except Exception as debug_exc:
        exc.add_note(f"(could not collect debug output: {debug_exc})")


def _graphiql_html(base_url: str) -> str:
    response = httpx.get(f"{base_url}/graphql", headers={"accept": "text/html"}, timeout=10)
    response.raise_for_status()
    assert "graphiql" in response.text.lower(), "GET /graphql did not serve GraphiQL"
    return response.text


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"
