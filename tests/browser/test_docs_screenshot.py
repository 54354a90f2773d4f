"""Remake the README's picture of the control panel (docs/control-panel.png):

    DOCRSIM_DOCS_SCREENSHOT=1 .venv/bin/python -m pytest tests/browser/test_docs_screenshot.py

Skipped otherwise: it writes into the source tree.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import browser_required

pytestmark = [
    browser_required,
    pytest.mark.skipif(not os.environ.get("DOCRSIM_DOCS_SCREENSHOT"), reason="set DOCRSIM_DOCS_SCREENSHOT=1 to remake it"),
]

PICTURE = Path(__file__).resolve().parents[2] / "docs" / "control-panel.png"


def test_docs_screenshot(scenario, panel):
    live = scenario("cleanup-drain")
    live.http.put(live.url("/_docrsim/gc-rates"), json={"delete_bytes_per_second": 32768}).raise_for_status()
    live.http.post(live.url("/v2/registries/shop/garbage-collection"),
                   json={"type": "untagged manifests and unreferenced blobs"}).raise_for_status()
    live.http.post(live.url("/_docrsim/clock"), json={"advance_seconds": 660}).raise_for_status()
    view = panel(live)
    page = view.open()
    page.set_viewport_size({"width": 1100, "height": 1130})
    page.get_by_role("button", name="Versions of api").click()
    expect(page.locator(".versions-panel tbody tr")).to_have_count(3)
    page.locator(".versions-panel tbody tr").last.locator(".select-version").check()
    page.evaluate("window.scrollTo(0, 0)")
    PICTURE.parent.mkdir(exist_ok=True)
    page.screenshot(path=PICTURE)
