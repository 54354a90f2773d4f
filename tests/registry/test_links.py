"""Blob links: the bytes are held once per registry, but a blob exists in a repository only once
it was uploaded or mounted there, or a manifest pushed there references it."""

from __future__ import annotations

from tests.registry.support import account, image_manifest, index_manifest, oci_error, sha256

LAYER = b"a layer pushed to acme/a only"


def test_a_blob_pushed_to_one_repository_is_unknown_in_another(reg):
    a, b = reg.client("acme/a"), reg.client("acme/b")
    digest = a.push_blob(LAYER)
    assert a.head(f"/blobs/{digest}").status_code == 200
    assert b.head(f"/blobs/{digest}").status_code == 404
    answer = b.get(f"/blobs/{digest}")
    assert oci_error(answer) == (404, "BLOB_UNKNOWN")
    assert answer.json()["errors"][0]["detail"] == {"digest": digest}


def test_uploading_the_same_blob_again_elsewhere_links_it_and_stores_it_once(reg):
    a, b = reg.client("acme/a"), reg.client("acme/b")
    a.push_blob(LAYER)
    usage = reg.usage("acme")
    digest = b.push_blob(LAYER)
    assert b.get(f"/blobs/{digest}").content == LAYER
    assert reg.usage("acme") == usage  # one stored blob, two links


def test_a_manifest_referencing_a_blob_not_linked_in_its_repository_is_manifest_blob_unknown(reg):
    a, b = reg.client("acme/a"), reg.client("acme/b")
    image = image_manifest(b"{}", [LAYER])
    a.push_image(image, "v1")  # the registry holds every blob, all linked in acme/a
    b.push_blob(b"{}")  # the config is linked in acme/b too, the layer is not
    answer = b.push_manifest(image.raw, "v1", image.media_type)
    assert oci_error(answer) == (400, "MANIFEST_BLOB_UNKNOWN")
    assert answer.json()["errors"][0]["detail"] == {"digest": sha256(LAYER)}
    b.push_blob(LAYER)
    assert b.push_manifest(image.raw, "v1", image.media_type).status_code == 201


def test_an_index_whose_child_lives_in_another_repository_is_manifest_blob_unknown(reg):
    a, b = reg.client("acme/a"), reg.client("acme/b")
    child = image_manifest(b"{}", [LAYER])
    a.push_image(child, "v1")
    index = index_manifest([child])
    answer = b.push_manifest(index, "multi", "application/vnd.oci.image.index.v1+json")
    assert oci_error(answer) == (400, "MANIFEST_BLOB_UNKNOWN")
    assert answer.json()["errors"][0]["detail"] == {"digest": child.digest}
    assert a.push_manifest(index, "multi", "application/vnd.oci.image.index.v1+json").status_code == 201


def test_a_scenario_links_each_repository_s_blobs_there_only(world):
    layer = {"content": "scenario layer"}
    reg = world(account("basic", {"name": "acme", "repositories": [
        {"name": "a", "manifests": [{"tags": ["v1"], "layers": [layer]}]}, {"name": "b", "manifests": []}]}))
    digest = sha256(b"scenario layer")
    assert reg.client("acme/a", "pull").get(f"/blobs/{digest}").content == b"scenario layer"
    assert reg.client("acme/b", "pull").head(f"/blobs/{digest}").status_code == 404


def test_deleting_a_manifest_keeps_its_blobs_linked(reg):
    # As distribution keeps a repository's layer links when a manifest goes.
    a = reg.client("acme/a", "pull,push,delete")
    image = image_manifest(b"{}", [LAYER])
    a.push_image(image, "v1")
    assert a.delete(f"/manifests/{image.digest}").status_code == 202
    assert a.get(f"/blobs/{sha256(LAYER)}").content == LAYER


def test_deleting_a_repository_drops_its_links_but_not_bytes_another_links(reg):
    a, b = reg.client("acme/a"), reg.client("acme/b")
    image = image_manifest(b"{}", [LAYER])
    a.push_image(image, "v1")
    b.push_blob(LAYER)
    usage = reg.usage("acme")
    assert reg.live.http.delete(reg.live.url("/v2/registries/acme/repositories/a")).status_code == 204
    assert a.head(f"/blobs/{sha256(LAYER)}").status_code == 404
    assert a.head(f"/blobs/{sha256(b'{}')}").status_code == 404
    assert b.get(f"/blobs/{sha256(LAYER)}").content == LAYER
    assert reg.usage("acme") == usage  # only garbage collection frees storage
    # A repository of the same name starts with no links: its push uploads the blobs again.
    answer = a.push_manifest(image.raw, "v1", image.media_type)
    assert oci_error(answer) == (400, "MANIFEST_BLOB_UNKNOWN")


def run_gc(reg, registry="acme", kind="unreferenced blobs only") -> dict:
    live = reg.live
    started = live.http.post(live.url(f"/v2/registries/{registry}/garbage-collection"), json={"type": kind})
    assert started.status_code == 201, started.text
    assert live.http.post(live.url("/_docrsim/clock"), json={"until_idle": True}).status_code == 200
    return live.http.get(live.url(f"/v2/registries/{registry}/garbage-collections")).json()["garbage_collections"][0]


def test_gc_frees_blobs_once_no_linked_manifest_references_them_and_drops_their_links(reg):
    a, b = reg.client("acme/a"), reg.client("acme/b")
    kept, dropped = image_manifest(b"{}", [b"shared layer"]), image_manifest(b"{}", [LAYER])
    a.push_image(kept, "v1")
    b.push_image(kept, "v1")
    a.push_image(dropped, "v2")
    b.push_blob(LAYER)  # a link alone does not keep a blob: only a linked manifest does
    assert reg.live.http.delete(reg.live.url("/v2/registries/acme/repositories/a")).status_code == 204
    run = run_gc(reg)
    assert run["status"] == "succeeded"
    # The layer only acme/a's manifest used, and that manifest's bytes, are freed.
    assert run["blobs_deleted"] == 2 and run["freed_bytes"] == len(LAYER) + len(dropped.raw)
    a, b = reg.client("acme/a"), reg.client("acme/b")  # the run took longer than the tokens live
    assert b.head(f"/blobs/{sha256(LAYER)}").status_code == 404  # the link went with the blob
    assert b.get(f"/blobs/{sha256(b'shared layer')}").content == b"shared layer"
    content = reg.live.sim.account.registry("acme").content
    assert content.links.repositories(sha256(LAYER)) == ()
    # Pushed again, the blob is stored again and linked where it was uploaded only.
    assert b.push_blob(LAYER) and b.get(f"/blobs/{sha256(LAYER)}").content == LAYER
    assert a.head(f"/blobs/{sha256(LAYER)}").status_code == 404
