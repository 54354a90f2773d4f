"""The content-addressed store: blobs, manifests, repositories and tags."""

import json
from datetime import datetime, timedelta, timezone

import pytest

from docrsim.core import digests
from docrsim.core.content import OCI_INDEX, OCI_MANIFEST
from docrsim.core.errors import DigestMismatch, Invalid, NotFound
from docrsim.core.store import BlobStore, MissingReference, RegistryContent

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
T1 = T0 + timedelta(hours=1)
LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
CONFIG = "application/vnd.oci.image.config.v1+json"
FOREIGN = "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"


def d(data: bytes, media_type=LAYER) -> dict:
    return {"mediaType": media_type, "digest": digests.compute(data), "size": len(data)}


def image_bytes(config: bytes, *layers: bytes, extra_layers=()) -> bytes:
    doc = {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": d(config, CONFIG),
           "layers": [d(x) for x in layers] + list(extra_layers)}
    return json.dumps(doc).encode()


def index_bytes(*children: bytes) -> bytes:
    doc = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [d(c, OCI_MANIFEST) for c in children]}
    return json.dumps(doc).encode()


def push_image(content, repo, config, *layers, tag=None, now=T0):
    for blob in (config, *layers):
        content.blobs.put(blob)
    return content.put_manifest(repo, image_bytes(config, *layers), now, tag=tag)


def snapshot(content: RegistryContent):
    """Everything observable, to check that a refused call changed nothing."""
    blobs = content.blobs
    return (
        {x: (blobs.size(x), blobs.data(x)) for x in blobs.digests()},
        blobs.total_bytes,
        sorted(content.manifests),
        {n: (dict(r.manifests), {t: v.manifest_digest for t, v in r.tags.items()})
         for n, r in content.repositories.items()},
        content.links.by_repository(),
    )


# -- blobs ------------------------------------------------------------------------------------

def test_same_bytes_stored_twice_are_one_blob():
    store = BlobStore()
    first = store.put(b"layer bytes")
    second = store.put(b"layer bytes", digests.compute(b"layer bytes"))
    assert first == second == digests.compute(b"layer bytes")
    assert len(store) == 1
    assert store.total_bytes == len(b"layer bytes")
    assert store.data(first) == b"layer bytes" and store.size(first) == 11


def test_a_blob_may_be_declared_with_sha512():
    store = BlobStore()
    declared = digests.compute(b"x", "sha512")
    assert store.put(b"x", declared) == declared
    assert declared in store


def test_declared_digest_that_does_not_match_is_refused_and_nothing_is_stored():
    store = BlobStore()
    store.put(b"already here")
    with pytest.raises(DigestMismatch):
        store.put(b"tampered", digests.compute(b"original"))
    assert list(store.digests()) == [digests.compute(b"already here")]
    assert store.total_bytes == len(b"already here")


def test_synthetic_blob_has_a_size_but_no_bytes():
    store = BlobStore()
    digest = digests.synthetic("big layer")
    store.put_synthetic(digest, 3_000_000_000, uncompressed_size=7_000_000_000)
    assert store.size(digest) == 3_000_000_000
    assert store.data(digest) is None
    assert store.is_synthetic(digest)
    assert store.uncompressed_size(digest) == 7_000_000_000
    assert store.total_bytes == 3_000_000_000
    # Declaring it again with the same size is harmless; with another size it is refused.
    store.put_synthetic(digest, 3_000_000_000)
    assert store.total_bytes == 3_000_000_000
    with pytest.raises(Invalid, match="already stored with size"):
        store.put_synthetic(digest, 1)


def test_real_blob_is_not_synthetic_and_uncompressed_defaults_to_its_size():
    store = BlobStore()
    digest = store.put(b"abc")
    assert not store.is_synthetic(digest)
    assert store.uncompressed_size(digest) == 3


@pytest.mark.parametrize("digest, size", [("sha256:short", 1), (digests.synthetic("x"), -1)])
def test_synthetic_blob_needs_a_valid_digest_and_size(digest, size):
    store = BlobStore()
    with pytest.raises(Invalid):
        store.put_synthetic(digest, size)
    assert len(store) == 0 and store.total_bytes == 0


def test_removing_a_blob_frees_its_bytes():
    store = BlobStore()
    a, b = store.put(b"aaaa"), store.put(b"bb")
    assert store.remove(a) == 4
    assert a not in store and b in store and store.total_bytes == 2
    with pytest.raises(NotFound):
        store.size(a)


# -- manifests --------------------------------------------------------------------------------

def test_put_manifest_links_it_stores_its_bytes_and_tags_it():
    content = RegistryContent()
    digest = push_image(content, "web", b"cfg", b"l1", b"l2", tag="v1")
    raw = image_bytes(b"cfg", b"l1", b"l2")
    assert digest == digests.compute(raw)
    assert content.blobs.data(digest) == raw
    assert content.manifests[digest].size == len(raw)
    assert content.repository("web").manifests == {digest: T0}
    assert content.resolve("web", "v1").digest == digest
    assert content.resolve("web", digest).digest == digest


def test_put_manifest_with_a_wrong_expected_digest_stores_nothing():
    content = RegistryContent()
    for blob in (b"cfg", b"l1"):
        content.blobs.put(blob)
    before = snapshot(content)
    with pytest.raises(DigestMismatch):
        content.put_manifest("web", image_bytes(b"cfg", b"l1"), T0, expected_digest=digests.compute(b"other"))
    assert snapshot(content) == before


@pytest.mark.parametrize("missing", [b"cfg", b"l2"])
def test_put_manifest_refuses_a_missing_blob_and_stores_nothing(missing):
    content = RegistryContent()
    for blob in (b"cfg", b"l1", b"l2"):
        if blob != missing:
            content.blobs.put(blob)
    before = snapshot(content)
    with pytest.raises(MissingReference) as caught:
        content.put_manifest("web", image_bytes(b"cfg", b"l1", b"l2"), T0, tag="v1")
    assert caught.value.digest == digests.compute(missing)
    assert snapshot(content) == before
    assert "web" not in content.repositories


def test_non_distributable_layers_need_not_be_held():
    content = RegistryContent()
    content.blobs.put(b"cfg")
    foreign = [{"mediaType": FOREIGN, "digest": digests.compute(b"windows base"), "size": 999},
               {**d(b"by url"), "urls": ["https://example.invalid/l"]}]
    digest = content.put_manifest("win", image_bytes(b"cfg", extra_layers=foreign), T0)
    assert digest in content.manifests
    assert digests.compute(b"windows base") not in content.blobs


def test_put_manifest_refuses_an_index_whose_child_is_not_in_the_repository():
    content = RegistryContent()
    child = push_image(content, "other", b"cfg", b"l1")
    before = snapshot(content)
    with pytest.raises(MissingReference) as caught:
        content.put_manifest("app", index_bytes(image_bytes(b"cfg", b"l1")), T0, tag="latest")
    assert caught.value.digest == child
    assert snapshot(content) == before


def test_index_accepted_once_its_children_are_linked():
    content = RegistryContent()
    push_image(content, "app", b"cfg-a", b"la")
    push_image(content, "app", b"cfg-b", b"lb")
    digest = content.put_manifest("app", index_bytes(image_bytes(b"cfg-a", b"la"), image_bytes(b"cfg-b", b"lb")),
                                  T0, tag="multi")
    assert content.manifests[digest].parsed.is_index


def test_a_referrer_may_name_an_absent_subject():
    content = RegistryContent()
    content.blobs.put(b"sig-cfg")
    doc = json.loads(image_bytes(b"sig-cfg"))
    doc["subject"] = d(b"not pushed yet", OCI_MANIFEST)
    digest = content.put_manifest("web", json.dumps(doc).encode(), T0)
    assert content.manifests[digest].parsed.subject.digest == digests.compute(b"not pushed yet")


def test_invalid_tag_is_refused_before_anything_is_stored():
    content = RegistryContent()
    for blob in (b"cfg", b"l1"):
        content.blobs.put(blob)
    before = snapshot(content)
    with pytest.raises(Invalid, match="invalid tag"):
        content.put_manifest("web", image_bytes(b"cfg", b"l1"), T0, tag=".hidden")
    assert snapshot(content) == before


@pytest.mark.parametrize("tag", ["", "-x", ".x", "a" * 129, "has space", "a/b", "v1\n"])
def test_tag_grammar_refusals(tag):
    content = RegistryContent()
    digest = push_image(content, "web", b"cfg")
    with pytest.raises(Invalid):
        content.tag_manifest("web", tag, digest, T0)


@pytest.mark.parametrize("tag", ["v1", "_x", "1.0.0-rc_1", "A" * 128, "latest"])
def test_tag_grammar_acceptances(tag):
    content = RegistryContent()
    digest = push_image(content, "web", b"cfg")
    content.tag_manifest("web", tag, digest, T0)
    assert content.resolve("web", tag).digest == digest


# -- tags and deletes -------------------------------------------------------------------------

def test_a_tag_re_points_and_the_old_manifest_stays_untagged():
    content = RegistryContent()
    old = push_image(content, "web", b"cfg", b"v1 files", tag="latest")
    new = push_image(content, "web", b"cfg", b"v2 files", tag="latest", now=T1)
    repo = content.repository("web")
    assert repo.tags["latest"].manifest_digest == new
    assert repo.tags["latest"].updated_at == T1
    assert set(repo.manifests) == {old, new}
    assert repo.tags_by_manifest() == {new: ["latest"]}
    assert repo.updated_at == T1


def test_tag_manifest_needs_the_manifest_in_that_repository():
    content = RegistryContent()
    digest = push_image(content, "a", b"cfg")
    content.ensure_repository("b", T0)
    with pytest.raises(NotFound):
        content.tag_manifest("b", "v1", digest, T0)
    with pytest.raises(NotFound):
        content.tag_manifest("missing", "v1", digest, T0)


def test_deleting_a_tag_leaves_the_manifest():
    content = RegistryContent()
    digest = push_image(content, "web", b"cfg", tag="v1")
    content.tag_manifest("web", "v1-alias", digest, T0)
    content.delete_tag("web", "v1")
    assert content.resolve("web", digest).digest == digest
    assert set(content.repository("web").tags) == {"v1-alias"}
    with pytest.raises(NotFound):
        content.resolve("web", "v1")
    with pytest.raises(NotFound):
        content.delete_tag("web", "v1")


def test_deleting_a_manifest_removes_its_tags_but_keeps_its_bytes():
    content = RegistryContent()
    keep = push_image(content, "web", b"cfg", b"other", tag="stable")
    gone = push_image(content, "web", b"cfg", b"l1", tag="v1")
    content.tag_manifest("web", "latest", gone, T0)
    total = content.blobs.total_bytes
    content.delete_manifest("web", gone)
    repo = content.repository("web")
    assert set(repo.manifests) == {keep}
    assert set(repo.tags) == {"stable"}
    assert gone not in content.manifests
    # Only garbage collection frees storage: the bytes are still a blob.
    assert content.blobs.data(gone) == image_bytes(b"cfg", b"l1")
    assert content.blobs.total_bytes == total
    with pytest.raises(NotFound):
        content.manifest("web", gone)
    with pytest.raises(NotFound):
        content.delete_manifest("web", gone)


def test_manifest_linked_from_two_repositories_survives_deletion_from_one():
    content = RegistryContent()
    digest = push_image(content, "a", b"cfg")
    content.put_manifest("b", image_bytes(b"cfg"), T0)
    assert sorted(content.linking_repositories(digest)) == ["a", "b"]
    content.delete_manifest("a", digest)
    assert digest in content.manifests
    assert content.linking_repositories(digest) == ["b"]
    content.delete_manifest("b", digest)
    assert digest not in content.manifests


def test_deleting_a_repository():
    content = RegistryContent()
    only_here = push_image(content, "doomed", b"cfg", b"l1", tag="v1")
    shared = push_image(content, "doomed", b"cfg")
    content.put_manifest("kept", image_bytes(b"cfg"), T0)
    blobs_before = set(content.blobs.digests())
    content.delete_repository("doomed")
    assert "doomed" not in content.repositories
    assert only_here not in content.manifests
    assert shared in content.manifests
    assert set(content.blobs.digests()) == blobs_before
    with pytest.raises(NotFound):
        content.repository("doomed")
    with pytest.raises(NotFound):
        content.delete_repository("doomed")


# -- blob links -------------------------------------------------------------------------------

def test_a_pushed_manifest_links_its_blobs_in_its_repository_only():
    content = RegistryContent()
    digest = push_image(content, "a", b"cfg", b"l1")
    assert content.has_blob("a", digests.compute(b"l1")) and content.has_blob("a", digests.compute(b"cfg"))
    assert not content.has_blob("b", digests.compute(b"l1"))
    assert not content.has_blob("a", digest)  # a manifest's own bytes are linked as a manifest


def test_a_push_that_must_find_its_blobs_linked_refuses_blobs_held_for_another_repository():
    content = RegistryContent()
    push_image(content, "a", b"cfg", b"l1")
    before = snapshot(content)
    with pytest.raises(MissingReference, match="not linked in repository 'b'") as refused:
        content.put_manifest("b", image_bytes(b"cfg", b"l1"), T0, linked_only=True)
    assert refused.value.digest == digests.compute(b"cfg")
    assert snapshot(content) == before
    content.link_blob("b", digests.compute(b"cfg"))
    content.link_blob("b", digests.compute(b"l1"))
    content.put_manifest("b", image_bytes(b"cfg", b"l1"), T0, linked_only=True)


def test_a_link_names_a_stored_blob():
    with pytest.raises(NotFound):
        RegistryContent().link_blob("a", digests.compute(b"never stored"))


def test_deleting_a_repository_drops_its_links_only():
    content = RegistryContent()
    push_image(content, "a", b"cfg", b"l1")
    push_image(content, "b", b"cfg")
    content.delete_repository("a")
    assert not content.has_blob("a", digests.compute(b"cfg"))
    assert content.has_blob("b", digests.compute(b"cfg"))
    assert content.links.repositories(digests.compute(b"l1")) == ()
    assert digests.compute(b"l1") in content.blobs  # bytes go only through garbage collection


def test_removing_a_blob_drops_every_link_to_it():
    content = RegistryContent()
    for repo in ("a", "b", "c"):
        content.link_blob(repo, content.blobs.put(b"x"))
    assert content.links.repositories(digests.compute(b"x")) == ("a", "b", "c")
    assert content.remove_blob(digests.compute(b"x")) == 1
    assert content.links.repositories(digests.compute(b"x")) == ()
    content.blobs.put(b"x")
    assert not any(content.has_blob(repo, digests.compute(b"x")) for repo in ("a", "b", "c"))


def test_resolve_errors():
    content = RegistryContent()
    push_image(content, "web", b"cfg", tag="v1")
    with pytest.raises(NotFound, match="tag 'v2'"):
        content.resolve("web", "v2")
    with pytest.raises(NotFound):
        content.resolve("web", digests.compute(b"nothing"))
    with pytest.raises(NotFound, match="repository 'nope'"):
        content.resolve("nope", "v1")
