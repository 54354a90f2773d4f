"""The control panel stays usable on large registries: 1,000 repositories, paged, and the
synthetic-10k scenario's 100,000 blobs. Timings are printed (run with -s) and recorded as
test properties; the bounds only catch a page that has become unusable."""

from __future__ import annotations

import time

import pytest
import requests
from playwright.sync_api import expect

from docrsim.scenarios import read_file
from tests.browser.conftest import TOKEN, browser_required
from tests.conftest import FIXTURES, start_live

pytestmark = browser_required

THOUSAND = {
    "description": "One registry of 1,000 small repositories.",
    "account": {"tier": "professional"},
    "registries": [{
        "name": "fleet",
        "region": "fra1",
        "generate": {"repositories": 1000, "images_per_repository": 2, "layers_per_image": 1,
                     "layer_size": 4096, "untagged_every": 2, "repository_prefix": "service"},
    }],
}


@pytest.fixture(scope="module")
def thousand():
    live = start_live([THOUSAND])
    yield live
    live.http.close()
    live.server.stop()


def timed_get(live, path: str) -> float:
    started = time.perf_counter()
    response = requests.get(live.url(path), cookies={"docrsim_token": TOKEN}, timeout=60)
    elapsed = time.perf_counter() - started
    assert response.status_code == 200 and "Garbage collection" in response.text
    return elapsed


def test_a_thousand_repositories_page_through(thousand, panel, record_property):
    seconds = min(timed_get(thousand, "/?registry=fleet") for _ in range(3))
    record_property("page_seconds_1000_repositories", round(seconds, 3))
    print(f"\n1,000 repositories: page served in {seconds * 1000:.0f} ms")
    assert seconds < 5

    view = panel(thousand)
    page = view.open()
    repositories = page.locator("#repositories")
    expect(page.get_by_role("link", name="Repositories")).to_contain_text("(1000)")
    expect(repositories.locator("tbody.repo")).to_have_count(20)
    pager = page.get_by_role("navigation", name="Pages of repositories")
    expect(pager).to_contain_text("Page 1 of 50")
    view.shot("first-page")

    pager.get_by_role("link", name="Next").click()
    expect(pager).to_contain_text("Page 2 of 50")
    expect(repositories.locator("tbody.repo").first).to_have_attribute("data-repository", "service-020")
    pager.get_by_role("link", name="Last").click()
    expect(pager).to_contain_text("Page 50 of 50")
    expect(repositories.locator("tbody.repo").last).to_have_attribute("data-repository", "service-999")
    page.get_by_role("button", name="Versions of service-999").click()
    expect(page.locator("tbody.repo[data-repository='service-999'] .versions-panel tbody tr")).to_have_count(2)
    expect(page.locator("tbody.repo[data-repository='service-999'] .versions-panel")).to_contain_text("untagged")
    view.shot("last-page-expanded")

    # Past the last page the DO API lists nothing; the page says where the last one is.
    view.open("?registry=fleet&page=51")
    expect(repositories).to_contain_text("Page 51 is past the last page")
    repositories.get_by_role("link", name="Go to page 50").click()
    expect(pager).to_contain_text("Page 50 of 50")
    # A value the DO API refuses is its 422 message, on the page.
    view.open("?registry=fleet&per_page=500")
    expect(page.get_by_role("alert")).to_contain_text("per_page must be at most 200")
    view.shot("refused-page-size")
    assert view.errors == []


def test_the_100k_blob_registry_loads(panel, record_property):
    live = start_live([read_file(FIXTURES / "synthetic-10k.yaml")])
    try:
        seconds = min(timed_get(live, "/?registry=bulk") for _ in range(2))
        record_property("page_seconds_100k_blobs", round(seconds, 3))
        print(f"\n100,000 blobs: page served in {seconds * 1000:.0f} ms")
        assert seconds < 10

        view = panel(live)
        started = time.perf_counter()
        page = view.open()
        expect(page.locator("#gc")).to_contain_text("Unused data now")
        record_property("browser_load_seconds_100k_blobs", round(time.perf_counter() - started, 3))
        preview = live.http.get(live.url("/_docrsim/registries/bulk/garbage")).json()
        count = preview["untagged manifests and unreferenced blobs"]["count"]
        expect(page.locator("#gc")).to_contain_text(f"in {count} objects")
        expect(page.get_by_role("navigation", name="Pages of repositories")).to_contain_text("Page 1 of 5")
        first = page.locator("tbody.repo").first
        first.get_by_role("button").click()
        expect(first.locator(".versions-panel tbody tr")).to_have_count(20)
        expect(page.get_by_role("navigation", name=f"Pages of versions of {first.get_attribute('data-repository')}")
               ).to_contain_text("Page 1 of 5")
        view.shot("bulk-registry")
        assert view.errors == []
    finally:
        live.http.close()
        live.server.stop()
