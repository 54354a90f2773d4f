"""The control panel in headless Chromium: what a person does on the registry page, end to end.

Each step is checked on the page and, where it changed something, against the DO API, so
the page is shown to be a view of the same state clients see.
"""

from __future__ import annotations

from playwright.sync_api import expect

from docrsim.core.credentials import SCOPES, TokenPolicy
from tests.browser.conftest import TOKEN, browser_required
from tests.conftest import FIXTURES, start_live
from docrsim.scenarios import read_file

pytestmark = browser_required

WITH_UNTAGGED = "untagged manifests and unreferenced blobs"


def manifests(live, registry: str, repository: str) -> dict[str, list[str]]:
    body = live.http.get(live.url(f"/v2/registries/{registry}/repositories/{repository}/digests")).json()
    return {m["digest"]: m["tags"] for m in body["manifests"]}


def runs(live, registry: str) -> list[dict]:
    return live.http.get(live.url(f"/v2/registries/{registry}/garbage-collections")).json()["garbage_collections"]


def versions_of(page, repository: str):
    return page.locator(f"tbody.repo[data-repository='{repository}'] .versions-panel")


def test_token_prompt_then_registries_and_repositories(scenario, panel):
    live = scenario("small-app")
    view = panel(live)
    page = view.open(token=None)
    expect(page.get_by_role("heading", name="Sign in with an API token")).to_be_visible()
    view.shot("token-prompt")
    page.get_by_label("API token", exact=True).fill(TOKEN)
    page.get_by_role("button", name="Open the registry").click()

    registries = page.locator("#registries")
    expect(registries).to_contain_text("acme")
    expect(registries).to_contain_text("nyc3")
    expect(registries).to_contain_text("Basic")
    usage = live.http.get(live.url("/v2/registries/acme")).json()["registry"]["storage_usage_bytes"]
    expect(registries.locator("meter")).to_have_attribute("value", str(usage))
    expect(registries).to_contain_text("of 5.0 GiB")
    expect(page.get_by_role("link", name="Repositories")).to_have_attribute("aria-current", "page")
    view.shot("registry")

    # Expanding a repository lists every version: its tags, size and update time; untagged marked.
    page.get_by_role("button", name="Versions of web").click()
    rows = versions_of(page, "web").locator("tbody tr")
    expected = manifests(live, "acme", "web")
    expect(rows).to_have_count(len(expected))
    untagged = [d for d, tags in expected.items() if not tags]
    assert untagged, "small-app has an untagged version"
    for digest in untagged:
        expect(versions_of(page, "web").locator(f"tr[data-digest='{digest}']")).to_contain_text("untagged")
    expect(versions_of(page, "web").locator("tr", has_text="latest")).to_contain_text("v2")
    expect(page.get_by_role("button", name="Versions of web")).to_have_attribute("aria-expanded", "true")
    view.shot("repository-expanded")
    assert view.errors == []


def test_a_rejected_token_asks_again(panel):
    live = start_live([read_file(FIXTURES / "small-app.yaml")],
                      tokens=TokenPolicy({"dop_v1_reader": frozenset({"registry:read"}),
                                          "dop_v1_docrsim-test": frozenset(SCOPES)}))
    try:
        view = panel(live)
        page = view.open(token="dop_v1_stranger")
        expect(page.get_by_role("alert")).to_contain_text("Unable to authenticate you")
        expect(page.get_by_label("API token", exact=True)).to_be_visible()
        view.shot("token-rejected")
        page.get_by_label("API token", exact=True).fill("dop_v1_reader")
        page.get_by_role("button", name="Open the registry").click()
        expect(page.locator("#registries")).to_contain_text("acme")

        # A read-only token sees the registry; the DO API refuses its delete, and the page says so.
        before = manifests(live, "acme", "web")
        page.get_by_role("button", name="Versions of web").click()
        first = versions_of(page, "web").locator("tbody tr").first
        first.get_by_role("button", name="More actions").click()
        first.get_by_role("button", name="Delete Digest").click()
        page.get_by_label("Type the registry name").fill("acme")
        page.get_by_role("button", name="Destroy").click()
        expect(page.locator("#confirm-delete [role=alert]")).to_contain_text("registry:delete")
        view.shot("delete-forbidden")
        assert manifests(live, "acme", "web") == before
    finally:
        live.http.close()
        live.server.stop()


def test_delete_digests_through_the_typed_name_confirmation(scenario, panel):
    live = scenario("cleanup-drain")
    view = panel(live)
    page = view.open()
    page.get_by_role("button", name="Versions of api").click()
    versions = versions_of(page, "api")
    expect(versions.locator("tbody tr")).to_have_count(4)

    # The header checkbox selects every version, and clears them again.
    delete = versions.get_by_role("button", name="Delete image(s)")
    expect(delete).to_be_disabled()
    versions.get_by_label("Select every version of api on this page").check()
    expect(versions.locator(".select-version:checked")).to_have_count(4)
    expect(versions.locator(".selection-count")).to_have_text("4 selected")
    view.shot("all-selected")
    versions.get_by_label("Select every version of api on this page").uncheck()
    expect(delete).to_be_disabled()

    # Choose the untagged version and the oldest release; both go, with the release's tag.
    before = manifests(live, "shop", "api")
    untagged = next(d for d, tags in before.items() if not tags)
    oldest = next(d for d, tags in before.items() if tags == ["1.0"])
    for digest in (untagged, oldest):
        versions.locator(f"tr[data-digest='{digest}'] .select-version").check()
    expect(delete).to_be_enabled()
    delete.click()

    dialog = page.get_by_role("dialog", name="Destroy image versions")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("2 image versions")
    name = dialog.get_by_label("Type the registry name")
    expect(name).to_be_focused()
    destroy = dialog.get_by_role("button", name="Destroy")
    expect(destroy).to_be_disabled()
    name.fill("sho")
    expect(destroy).to_be_disabled()
    view.shot("confirm-incomplete-name")
    name.fill("shop")
    expect(destroy).to_be_enabled()
    view.shot("confirm-typed-name")
    destroy.click()

    expect(dialog).to_be_hidden()
    expect(versions_of(page, "api").locator("tbody tr")).to_have_count(2)
    after = manifests(live, "shop", "api")
    assert set(after) == set(before) - {untagged, oldest}
    tags = live.http.get(live.url("/v2/registries/shop/repositories/api/tags")).json()["tags"]
    assert "1.0" not in {t["tag"] for t in tags}
    expect(page.locator("tbody.repo[data-repository='api'] > tr").first).to_contain_text("2")
    view.shot("deleted")
    assert view.errors == []


def test_no_bulk_delete_while_garbage_collection_holds_the_registry(scenario, panel):
    live = scenario("cleanup-drain")
    started = live.http.post(live.url("/v2/registries/shop/garbage-collection"), json={"type": WITH_UNTAGGED})
    assert started.status_code == 201
    view = panel(live)
    page = view.open()
    page.get_by_role("button", name="Versions of api").click()
    versions = versions_of(page, "api")
    versions.get_by_label("Select every version of api on this page").check()
    expect(versions.locator(".selection-count")).to_have_text("4 selected")
    expect(versions.get_by_role("button", name="Delete image(s)")).to_be_disabled()
    expect(versions).to_contain_text("Read-only while garbage collection runs.")
    view.shot("read-only-selection")
    assert view.errors == []


def test_delete_tags_from_the_version_menu(scenario, panel):
    live = scenario("cleanup-drain")
    view = panel(live)
    page = view.open()
    page.get_by_role("button", name="Versions of api").click()
    versions = versions_of(page, "api")
    before = manifests(live, "shop", "api")
    newest = next(d for d, tags in before.items() if "latest" in tags)
    release = next(d for d, tags in before.items() if tags == ["1.1"])

    # Delete Tags, leaving the digest: the version stays, untagged.
    row = versions.locator(f"tr[data-digest='{newest}']")
    row.get_by_role("button", name="More actions").click()
    expect(row.get_by_role("button", name="Delete Digest")).to_be_focused()
    view.shot("version-menu")
    row.get_by_role("button", name="Delete Tags").click()
    dialog = page.get_by_role("dialog", name="Delete tags")
    expect(dialog).to_contain_text("1.2, latest")
    expect(dialog.get_by_label("Delete this digest from the image history")).not_to_be_checked()
    view.shot("delete-tags")
    dialog.get_by_role("button", name="Delete Tags").click()
    expect(dialog).to_be_hidden()
    expect(versions_of(page, "api").locator(f"tr[data-digest='{newest}']")).to_contain_text("untagged")
    assert manifests(live, "shop", "api")[newest] == []

    # Delete Tags with the history box checked: the digest goes too.
    row = versions_of(page, "api").locator(f"tr[data-digest='{release}']")
    row.get_by_role("button", name="More actions").click()
    row.get_by_role("button", name="Delete Tags").click()
    dialog.get_by_label("Delete this digest from the image history").check()
    dialog.get_by_role("button", name="Delete Tags").click()
    expect(versions_of(page, "api").locator(f"tr[data-digest='{release}']")).to_have_count(0)
    assert release not in manifests(live, "shop", "api")

    # Untagged versions have no tags to delete.
    row = versions_of(page, "api").locator(f"tr[data-digest='{newest}']")
    row.get_by_role("button", name="More actions").click()
    expect(row.get_by_role("button", name="Delete Tags")).to_be_disabled()
    page.keyboard.press("Escape")
    expect(row.get_by_role("button", name="More actions")).to_be_focused()
    view.shot("after-tag-deletes")
    assert view.errors == []


def test_empty_garbage_through_the_drain_cancel_and_history(scenario, panel):
    live = scenario("cleanup-drain")
    # Slow deletion down so that a minute of simulated time deletes only part of the garbage.
    live.http.put(live.url("/_docrsim/gc-rates"), json={"delete_bytes_per_second": 32768}).raise_for_status()
    view = panel(live)
    page = view.open()
    gc = page.locator("#gc")
    expect(gc).to_contain_text("Unused data now: 13.0 MiB in 4 objects")
    expect(page.locator("#clock-now")).to_have_text("2026-03-02 09:00:00 UTC")

    page.get_by_role("button", name="Empty garbage").click()
    dialog = page.get_by_role("dialog", name="Empty garbage")
    expect(dialog.get_by_label("Delete untagged manifests")).to_be_checked()
    expect(dialog).to_contain_text("13.0 MiB in 4 objects")
    view.shot("empty-garbage-dialog")
    dialog.get_by_role("button", name="Start garbage collection").click()
    expect(dialog).to_be_hidden()

    # DOCR shows a new run as requested for a moment; then it waits for the write token the CI
    # job got at 08:55, valid until 09:10.
    run = runs(live, "shop")[0]
    assert run["type"] == WITH_UNTAGGED
    expect(gc).to_contain_text("requested")
    expect(page.get_by_role("link", name="History")).to_contain_text("(1)")
    expect(page.locator("#banner")).to_contain_text("shop is read-only")
    expect(page.get_by_role("button", name="Cancel Garbage Collection")).to_be_focused()
    view.shot("requested")
    page.get_by_role("button", name="Advance 1 minute").click()
    expect(page.locator("#clock-now")).to_have_text("2026-03-02 09:01:00 UTC")
    expect(page.locator("#clock-status")).to_contain_text("now 2026-03-02 09:01:00 UTC")
    expect(gc).to_contain_text("waiting for write JWTs to expire")
    expect(gc).to_contain_text("the last one expires at 2026-03-02 09:10:00 UTC")
    view.shot("waiting-for-write-tokens")

    page.get_by_role("button", name="Advance 5 minutes").click()
    expect(page.locator("#clock-now")).to_have_text("2026-03-02 09:06:00 UTC")
    expect(gc).to_contain_text("waiting for write JWTs to expire")
    view.shot("drain-at-0906")
    page.get_by_role("button", name="Advance 5 minutes").click()
    expect(page.locator("#clock-now")).to_have_text("2026-03-02 09:11:00 UTC")

    # Deleting now, partway through: the page's counters are the DO API's.
    active = live.http.get(live.url("/v2/registries/shop/garbage-collection")).json()["garbage_collection"]
    assert active["status"] == "deleting unreferenced blobs"
    assert 0 < active["blobs_deleted"] < 4
    expect(gc).to_contain_text("deleting unreferenced blobs")
    expect(gc.locator("#gc-blobs-deleted")).to_have_text(str(active["blobs_deleted"]))
    progress = gc.get_by_label("Deletion progress")
    expect(progress).to_have_attribute("value", str(active["blobs_deleted"]))
    expect(progress).to_have_attribute("max", "4")
    view.shot("deleting")

    # Cancel mid-deletion: the object being deleted finishes, then the run stops.
    page.get_by_role("button", name="Cancel Garbage Collection").click()
    expect(gc).to_contain_text("cancelling")
    view.shot("cancelling")
    page.get_by_role("button", name="Advance 15 minutes").click()
    ended = runs(live, "shop")[0]
    assert ended["status"] == "cancelled" and 0 < ended["blobs_deleted"] < 4
    expect(gc).to_contain_text(f"cancelled at")
    expect(gc).to_contain_text(f"{ended['blobs_deleted']} blobs deleted")
    freed_mib = f"{ended['freed_bytes'] / 1048576:.1f} MiB freed"
    expect(gc).to_contain_text(freed_mib)
    expect(page.locator("#banner")).to_be_empty()
    view.shot("cancelled")

    # The run's details, from the link, in the History tab.
    gc.get_by_role("link", name="Details of run").click()
    expect(page.get_by_role("link", name="History")).to_have_attribute("aria-current", "page")
    details = page.locator(f"#run-{ended['uuid']}")
    expect(details).to_have_attribute("open", "")
    for text in (WITH_UNTAGGED, "cancelled", ended["uuid"], f"{ended['freed_bytes']} bytes",
                 "2026-03-02 09:00:00 UTC"):
        expect(details).to_contain_text(text)
    view.shot("history")

    # Empty the rest, blobs only this time, and let it run until idle.
    page.get_by_role("button", name="Empty garbage").click()
    page.get_by_label("Delete untagged manifests").uncheck()
    page.get_by_role("button", name="Start garbage collection").click()
    expect(gc).to_contain_text("Cancel Garbage Collection")
    page.get_by_role("button", name="Run until idle").click()
    expect(gc).to_contain_text("The last garbage collection succeeded")
    assert [r["status"] for r in runs(live, "shop")] == ["succeeded", "cancelled"]
    assert runs(live, "shop")[0]["type"] == "unreferenced blobs only"
    expect(page.locator("#history details")).to_have_count(2)
    page.locator("#history summary").first.click()
    expect(page.locator("#history details").first).to_contain_text("unreferenced blobs only")
    view.shot("second-run-succeeded")
    assert view.errors == []


def test_a_run_started_elsewhere_updates_on_the_page_by_itself(scenario, panel):
    live = scenario("small-app")
    started = live.http.post(live.url("/v2/registries/acme/garbage-collection"), json={"type": WITH_UNTAGGED})
    assert started.status_code == 201
    view = panel(live)
    page = view.open()
    gc = page.locator("#gc")
    expect(gc).to_contain_text("requested")
    expect(page.locator("#banner")).to_contain_text("acme is read-only")
    view.shot("run-started-by-a-client")

    # Another client moves the clock; the page polls while a run is active and catches up.
    live.http.post(live.url("/_docrsim/clock"), json={"until_idle": True}).raise_for_status()
    expect(gc).to_contain_text("The last garbage collection succeeded", timeout=15_000)
    expect(page.locator("#banner")).to_be_empty()
    expect(page.locator("#clock-now")).not_to_have_text("2026-01-01 00:00:00 UTC")
    ended = runs(live, "acme")[0]
    expect(gc).to_contain_text(f"{ended['blobs_deleted']} blobs deleted")
    view.shot("caught-up")
    assert view.errors == []


def test_keyboard_only(scenario, panel):
    live = scenario("small-app")
    view = panel(live)
    page = view.open()
    # The first Tab reaches the skip link, which jumps past the clock bar.
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to the registry")).to_be_focused()
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="acme")).to_be_focused()

    # Empty garbage by keyboard: the window takes focus, Escape closes it and focus comes back.
    empty = page.get_by_role("button", name="Empty garbage")
    empty.focus()
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name="Empty garbage")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_label("Delete untagged manifests")).to_be_focused()
    view.shot("dialog-by-keyboard")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(empty).to_be_focused()

    # Expand a repository and open a version's menu without a mouse.
    expand = page.get_by_role("button", name="Versions of web")
    expand.focus()
    page.keyboard.press("Enter")
    expect(expand).to_have_attribute("aria-expanded", "true")
    menu = versions_of(page, "web").get_by_role("button", name="More actions").first
    menu.focus()
    page.keyboard.press("Enter")
    expect(versions_of(page, "web").get_by_role("button", name="Delete Digest").first).to_be_focused()
    page.keyboard.press("Escape")
    expect(menu).to_be_focused()
    assert runs(live, "acme") == []
    assert view.errors == []
