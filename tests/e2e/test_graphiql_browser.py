"""GraphiQL in a real headless Chromium: load the page, run recordDonation, read the result.

Runs offline: every unpkg.com asset is served from node_modules (see graphiql_cdn.py), and
the page's integrity hashes are checked against those files first, so a version drift fails
with a clear message rather than a blank page.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

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
    'mutation { recordDonation(input: {donorId: "browser-donor-1", amount: "12.50", '
    'currency: "GBP"}) { __typename ... on RecordDonationSuccess { donation { id amount '
    "currency } donor { id donationCount } } } }"
)

QUERY_EDITOR = ".graphiql-query-editor .CodeMirror"
RESPONSE = ".graphiql-response"
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

from playwright.sync_api import Page, expect, sync_playwright  # noqa: E402


def test_graphiql_page_integrity_matches_node_modules(local_server: str) -> None:
    html = _graphiql_html(local_server)
    assets = graphiql_cdn.page_assets(html)
    assert assets, "the GraphiQL page references no unpkg.com assets: did the page change?"
    problems = graphiql_cdn.integrity_problems(html)
    assert not problems, "GraphiQL assets drifted from node_modules:\n" + "\n".join(problems)


def test_record_donation_through_graphiql(local_server: str, tmp_path: Path) -> None:
    # A drifted asset would be blocked by the browser's SRI check: say so plainly first.
    problems = graphiql_cdn.integrity_problems(_graphiql_html(local_server))
    assert not problems, "GraphiQL assets drifted from node_modules:\n" + "\n".join(problems)

    local_origin = _origin(local_server)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.set_default_timeout(TIMEOUT_MS)
            cdn = graphiql_cdn.install(page)
            elsewhere: list[str] = []
            page.on("request", lambda r: _record_foreign(r.url, local_origin, elsewhere))
            console_errors: list[str] = []
            page.on("pageerror", lambda e: console_errors.append(str(e)))
            try:
                page.goto(f"{local_server}/graphql")  # returns after every <script> loaded
                assert not cdn.refused, f"CDN requests not served locally: {cdn.refused}"
                first = _run_mutation(page)
                second = _run_mutation_again(page, previous=first)
            except Exception as exc:
                exc.add_note(f"unpkg refused: {cdn.refused}; other hosts: {elsewhere}")
                exc.add_note(f"page errors: {console_errors}")
                _add_debug_notes(exc, page, tmp_path / "graphiql-failure.png")
                raise
        finally:
            browser.close()

    assert not cdn.refused, f"CDN requests not served from node_modules: {cdn.refused}"
    assert not elsewhere, f"the page reached outside the local server and unpkg: {elsewhere}"
    assert len(cdn.served) == 7, f"expected GraphiQL's 7 unpkg assets, served {list(cdn.served)}"

    for result in (first, second):
        assert result["__typename"] == "RecordDonationSuccess", result
        assert result["donation"]["amount"] == "12.50"
        assert result["donation"]["currency"] == "GBP"
        assert result["donor"]["id"] == "browser-donor-1"
    assert first["donor"]["donationCount"] >= 1
    assert second["donor"]["donationCount"] == first["donor"]["donationCount"] + 1
    assert second["donation"]["id"] != first["donation"]["id"]


def _run_mutation(page: Page) -> dict[str, Any]:
    editor = page.locator(QUERY_EDITOR)
    expect(editor).to_be_visible()
    editor.click()
    page.keyboard.press("ControlOrMeta+A")
    # insert_text sends no key events, so CodeMirror's bracket auto-closing stays out of it.
    page.keyboard.insert_text(MUTATION)
    assert page.evaluate(EDITOR_VALUE_JS, QUERY_EDITOR) == MUTATION, "editor text differs"
    page.locator(".graphiql-execute-button").click()
    expect(page.locator(RESPONSE)).to_contain_text("RecordDonationSuccess")
    return _response(page)


def _run_mutation_again(page: Page, previous: dict[str, Any]) -> dict[str, Any]:
    """Ctrl-Enter in the editor runs it again; wait until the response pane changes."""
    page.locator(QUERY_EDITOR).click()
    page.keyboard.press("ControlOrMeta+Enter")
    page.wait_for_function(
        """([selector, previousId]) => {
            const text = document.querySelector(selector).CodeMirror.getValue();
            return text.includes("RecordDonationSuccess") && !text.includes(previousId);
        }""",
        arg=[f"{RESPONSE} .CodeMirror", previous["donation"]["id"]],
    )
    return _response(page)


def _response(page: Page) -> dict[str, Any]:
    text = page.evaluate(EDITOR_VALUE_JS, f"{RESPONSE} .CodeMirror")
    payload = json.loads(text)
    assert "errors" not in payload, payload
    result: dict[str, Any] = payload["data"]["recordDonation"]
    return result


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


def _record_foreign(url: str, local_origin: str, elsewhere: list[str]) -> None:
    if url.startswith(("data:", "blob:", "https://unpkg.com/")):
        return
    if _origin(url) != local_origin:
        elsewhere.append(url)
