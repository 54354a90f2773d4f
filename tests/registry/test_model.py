"""Pushes land in the model the DO API lists; tier limits; large blobs streamed in chunks."""

from __future__ import annotations

import random

from docrsim.core import content as media
from tests.registry.support import account, image_manifest, index_manifest, oci_error, sha256

MiB = 1024 * 1024
STARTER_STORAGE = 500 * MiB
REPO_LIMIT = "registry contains 1 repositories, limit is 1"


def error_message(answer) -> str:
    return answer.json()["errors"][0]["message"]


# -- the DO API's view of pushed content ------------------------------------------------------
def test_a_push_shows_in_repositories_tags_and_digests(reg):
    reg.live.advance(3600)
    client = reg.client("acme/team/service")
    image = image_manifest(b'{"architecture":"amd64"}', [b"a" * 1000, b"b" * 234])
    client.push_image(image, "v1")
    weight = len(image.config) + 1000 + 234

    repos = reg.api("/v2/registries/acme/repositoriesV2")["repositories"]
    assert [r["name"] for r in repos] == ["team/service"]
    repo = repos[0]
    assert (repo["registry_name"], repo["tag_count"], repo["manifest_count"]) == ("acme", 1, 1)
    assert repo["latest_manifest"]["digest"] == image.digest
    assert repo["latest_manifest"]["updated_at"] == "2026-01-01T01:00:00Z"

    tags = reg.api("/v2/registries/acme/repositories/team%2Fservice/tags")["tags"]
    assert len(tags) == 1
    assert tags[0]["tag"] == "v1" and tags[0]["manifest_digest"] == image.digest
    assert tags[0]["compressed_size_bytes"] == weight
    assert tags[0]["updated_at"] == "2026-01-01T01:00:00Z"

    manifests = reg.api("/v2/registries/acme/repositories/team%2Fservice/digests")["manifests"]
    assert len(manifests) == 1
    assert manifests[0]["digest"] == image.digest and manifests[0]["tags"] == ["v1"]
    assert manifests[0]["compressed_size_bytes"] == weight
    assert sorted(b["compressed_size_bytes"] for b in manifests[0]["blobs"]) == sorted(
        [len(image.config), 1000, 234])


def test_storage_usage_grows_with_each_new_object_and_not_with_repeats(reg):
    assert reg.usage("acme") == 0
    web = reg.client("acme/web")
    image = image_manifest(b"{}", [b"x" * 5000])
    reg.live.advance(60)
    web.push_image(image, "v1")
    expected = len(image.config) + 5000 + len(image.raw)
    registry = reg.api("/v2/registries/acme")["registry"]
    assert registry["storage_usage_bytes"] == expected
    assert registry["storage_usage_bytes_updated_at"] == "2026-01-01T00:01:00Z"
    # The same blobs and manifest again, under another tag and in another repository: no growth.
    web.push_image(image, "v2")
    reg.client("acme/api").push_image(image, "v1")
    assert reg.usage("acme") == expected
    assert reg.usage("beta") == 0
    assert reg.api("/v2/registries")["total_storage_usage_bytes"] == expected


def test_retag_and_registry_host_deletes_show_in_the_api(reg):
    web = reg.client("acme/web", "pull,push,delete")
    first = image_manifest(b"{}", [b"first"])
    second = image_manifest(b"{}", [b"second"])
    web.push_image(first, "latest")
    reg.live.advance(10)
    web.push_image(second, "latest")
    manifests = reg.api("/v2/registries/acme/repositories/web/digests")["manifests"]
    assert [(m["digest"], m["tags"]) for m in manifests] == [(second.digest, ["latest"]), (first.digest, [])]
    assert web.delete("/manifests/latest").status_code == 202
    assert reg.api("/v2/registries/acme/repositories/web/tags")["tags"] == []
    assert web.delete(f"/manifests/{first.digest}").status_code == 202
    manifests = reg.api("/v2/registries/acme/repositories/web/digests")["manifests"]
    assert [m["digest"] for m in manifests] == [second.digest]


def test_an_index_weighs_its_children(reg):
    web = reg.client("acme/tool")
    children = [image_manifest(b"{}", [bytes([i]) * 100 * (i + 1)]) for i in range(2)]
    for child in children:
        web.push_image(child, child.digest)
    raw = index_manifest(children)
    assert web.push_manifest(raw, "1.0", media.OCI_INDEX).status_code == 201
    tag = reg.api("/v2/registries/acme/repositories/tool/tags")["tags"][0]
    assert tag["manifest_digest"] == sha256(raw)
    assert tag["compressed_size_bytes"] == 2 * len(b"{}") + 100 + 200


# -- starter tier limits ----------------------------------------------------------------------
def test_starter_refuses_a_second_repository(world):
    reg = world(account("starter", {"name": "tiny"}))
    first = reg.client("tiny/first")
    image = image_manifest(b"{}", [b"layer"])
    first.push_image(image, "v1")
    second = reg.client("tiny/second", also=("repository:tiny/first:pull",))

    answer = second.post("/blobs/uploads/")
    assert oci_error(answer) == (403, "DENIED")
    assert error_message(answer) == REPO_LIMIT
    # Mounting a blob the registry holds does not slip past the limit.
    mount = second.post("/blobs/uploads/", params={"mount": sha256(b"layer"), "from": "tiny/first"})
    assert oci_error(mount) == (403, "DENIED")
    # Nor does a manifest whose blobs are already there.
    answer = second.push_manifest(image.raw, "v1", image.media_type)
    assert oci_error(answer) == (403, "DENIED") and error_message(answer) == REPO_LIMIT

    assert [r["name"] for r in reg.api("/v2/registries/tiny/repositoriesV2")["repositories"]] == ["first"]
    # The first repository takes more pushes.
    first.push_image(image_manifest(b"{}", [b"another"]), "v2")


def test_starter_refuses_a_push_beyond_its_storage(world):
    ballast = STARTER_STORAGE - 3000
    reg = world(account("starter", {"name": "tiny", "blobs": [{"size": ballast, "seed": "ballast"}]}))
    assert reg.usage("tiny") == ballast
    web = reg.client("tiny/web")
    image = image_manifest(b"{}", [b"a" * 1000])
    web.push_image(image, "v1")
    used = ballast + 2 + 1000 + len(image.raw)
    assert reg.usage("tiny") == used
    room = STARTER_STORAGE - used

    too_big = b"z" * (room + 1)
    answer = web.post("/blobs/uploads/", params={"digest": sha256(too_big)}, data=too_big)
    assert oci_error(answer) == (403, "DENIED")
    assert "storage" in error_message(answer)
    location = web.start_upload()
    web.patch(location, data=too_big, headers={"Content-Range": f"0-{len(too_big) - 1}"})
    assert oci_error(web.put(location, params={"digest": sha256(too_big)})) == (403, "DENIED")
    assert oci_error(web.get(f"/blobs/{sha256(too_big)}")) == (404, "BLOB_UNKNOWN")
    assert reg.usage("tiny") == used

    exactly = b"y" * room
    web.push_blob(exactly)
    assert reg.usage("tiny") == STARTER_STORAGE
    # Full to the byte: what is already stored can still be tagged and re-pushed...
    assert web.push_manifest(image.raw, "v2", image.media_type).status_code == 201
    assert web.push_manifest(image.raw, image.digest, image.media_type).status_code == 201
    web.push_blob(exactly)
    # ...but not one new byte, blob or manifest.
    answer = web.post("/blobs/uploads/", params={"digest": sha256(b"!")}, data=b"!")
    assert oci_error(answer) == (403, "DENIED")
    other = image_manifest(b"{}", [b"a" * 1000], annotations={"new": "bytes"})
    assert oci_error(web.push_manifest(other.raw, "v3", other.media_type)) == (403, "DENIED")
    assert reg.usage("tiny") == STARTER_STORAGE


def test_tiers_with_overage_take_pushes_beyond_included_storage(world):
    reg = world(account("basic", {"name": "acme", "blobs": [{"size": 6 * 1024 * MiB, "seed": "huge"}]}))
    reg.client("acme/web").push_image(image_manifest(b"{}", [b"more"]), "v1")
    assert reg.usage("acme") > 6 * 1024 * MiB


# -- streaming --------------------------------------------------------------------------------
def test_a_multi_megabyte_blob_in_chunks_is_stored_once_and_read_back_identical(reg, web):
    data = random.Random(7).randbytes(6 * MiB + 12345)
    digest = sha256(data)
    blobs = reg.live.sim.account.registry("acme").content.blobs
    count, total = len(blobs), blobs.total_bytes

    location = web.start_upload()
    chunk = MiB
    for start in range(0, len(data), chunk):
        part = data[start:start + chunk]
        answer = web.patch(location, data=part, headers={"Content-Range": f"{start}-{start + len(part) - 1}",
                                                         "Content-Type": "application/octet-stream"})
        assert answer.status_code == 202
        location = answer.headers["Location"]
    assert web.put(location, params={"digest": digest}).status_code == 201
    assert len(reg.live.sim.uploads) == 0

    assert (len(blobs), blobs.total_bytes) == (count + 1, total + len(data))
    assert reg.usage("acme") == total + len(data)
    answer = web.get(f"/blobs/{digest}", stream=True)
    received = b"".join(answer.iter_content(256 * 1024))
    assert answer.headers["Content-Length"] == str(len(data))
    assert received == data and sha256(received) == digest
    across = web.get(f"/blobs/{digest}", headers={"Range": f"bytes={MiB - 10}-{MiB + 9}"})
    assert across.status_code == 206 and across.content == data[MiB - 10:MiB + 10]

    # Pushing it again, in one piece, stores nothing new.
    again = web.post("/blobs/uploads/", params={"digest": digest}, data=data)
    assert again.status_code == 201
    assert (len(blobs), blobs.total_bytes) == (count + 1, total + len(data))
