"""Debian's chromium through Playwright, offline: the fixtures every browser test shares (imported
by conftest.py) and the screenshot helper."""

from __future__ import annotations

import shutil
from pathlib import Path
from urllib.parse import urlparse

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-quic",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, app_url):
    context = browser.new_context(viewport={"width": 1400, "height": 1400})
    page = context.new_page()
    outside: list[str] = []

    def offline(route):
        # The page must need nothing from outside this machine; record and refuse anything else.
        if urlparse(route.request.url).hostname in ("127.0.0.1", "localhost"):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page.route("**/*", offline)
    page.goto(app_url)
    yield page
    context.close()
    assert outside == [], f"page tried to reach the network: {outside[:5]}"


ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"  # screenshots, not committed


def _screenshot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)




def open_batch_row(page, fasta, records: int, row_id: str) -> None:
    """Run the Batch tab on `fasta` (analysis tasks), wait for it, then click the row `row_id`."""
    page.get_by_role("tab", name="Batch").click()
    page.locator("#batch-upload input[type=file]").set_input_files(str(fasta))
    page.locator("#batch-button").click()
    done = page.locator("#batch-status").get_by_text(f"{records} records: {records} analysed")
    done.wait_for(timeout=120_000)
    page.locator("#batch-table").get_by_text(row_id, exact=True).first.click()
