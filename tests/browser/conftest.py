"""Headless Chromium driving the control panel of a live docrsim.

Chromium comes from the system's packages (``make test`` installs Debian's ``chromium``);
Playwright drives it without downloading a browser of its own. Without it the browser tests
are skipped, unless DOCRSIM_REQUIRE_TOOLS is set, when they fail.

Each test saves a screenshot of every step under tests/browser/artifacts/<test>/ (or under
$DOCRSIM_BROWSER_ARTIFACTS/<test>/), numbered in order.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("DOCRSIM_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
HAVE_CHROMIUM = Path(CHROMIUM).exists()
ARTIFACTS = Path(os.environ.get("DOCRSIM_BROWSER_ARTIFACTS") or Path(__file__).parent / "artifacts")
TOKEN = "dop_v1_panel"

browser_required = pytest.mark.skipif(
    not HAVE_CHROMIUM and not os.environ.get("DOCRSIM_REQUIRE_TOOLS"),
    reason="chromium is not installed (make test installs it)",
)


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    if not HAVE_CHROMIUM:  # only reached when DOCRSIM_REQUIRE_TOOLS asks for the browser tests
        pytest.fail(f"chromium is required but {CHROMIUM} does not exist (make system-tools installs it)")
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield instance
        instance.close()


class Panel:
    """One browser tab on a live docrsim's control panel, with a screenshot per step."""

    def __init__(self, page, live, shots: Path):
        self.page = page
        self.live = live
        self.shots = shots
        self.taken = 0
        self.errors: list[str] = []
        page.on("pageerror", lambda error: self.errors.append(str(error)))

    def open(self, query: str = "", *, token: str | None = TOKEN):
        if token is not None:
            self.page.context.add_cookies([{"name": "docrsim_token", "value": token, "url": self.live.api_url}])
        self.page.goto(self.live.url("/" + query))
        return self.page

    def shot(self, step: str) -> Path:
        self.taken += 1
        path = self.shots / f"{self.taken:02d}-{step}.png"
        self.page.screenshot(path=path, full_page=True)
        return path


@pytest.fixture
def panel(browser, request):
    """Call with a Live to get a Panel on it: ``view = panel(live)``."""
    shots = ARTIFACTS / re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
    shutil.rmtree(shots, ignore_errors=True)
    shots.mkdir(parents=True)
    contexts = []

    def _open(live) -> Panel:
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        context.set_default_timeout(15_000)
        contexts.append(context)
        return Panel(context.new_page(), live, shots)

    yield _open
    for context in contexts:
        context.close()
