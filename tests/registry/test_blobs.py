"""Blobs: monolithic and chunked uploads, session status, mounts, ranged reads, bad digests."""

from __future__ import annotations

import pytest

from docrsim.core import digests
from tests.registry.support import (
    Client, Registry, account, challenge, image_manifest, oci_error, sha256, sha512,
)

DATA = bytes(range(256)) * 4  # 1 KiB, every byte value


def stored(reg, registry="acme") -> set[str]:
    return set(reg.live.sim.account.registry(registry).content.blobs.digests())


def upload_range(answer) -> tuple[int, int]:
    start, _, end = answer.headers["Range"].partition("-")
    return int(start), int(end)


# -- monolithic -------------------------------------------------------------------------------
def test_single_post_with_digest_stores_the_blob(reg, web):
    digest = sha256(DATA)
    answer = web.post("/blobs/uploads/", params={"digest": digest}, data=DATA,
                      headers={"Content-Type": "application/octet-stream"})
    assert answer.status_code == 201
    assert answer.headers["Location"] == f"/v2/acme/web/blobs/{digest}"
    assert answer.headers["Docker-Content-Digest"] == digest
    fetched = web.get(answer.headers["Location"])
    assert fetched.status_code == 200 and fetched.content == DATA
    assert fetched.headers["Docker-Content-Digest"] == digest
    assert digest in stored(reg)


def test_post_then_put_stores_the_blob(web):
    location = web.start_upload()
    assert location.startswith("/v2/acme/web/blobs/uploads/")
    digest = sha256(DATA)
    answer = web.put(location, params={"digest": digest}, data=DATA)
    assert answer.status_code == 201
    assert answer.headers["Location"] == f"/v2/acme/web/blobs/{digest}"
    head = web.head(f"/blobs/{digest}")
    assert head.status_code == 200 and head.content == b""
    assert head.headers["Content-Length"] == str(len(DATA))
    assert head.headers["Docker-Content-Digest"] == digest
    # The session is over once the blob is stored.
    assert oci_error(web.get(location)) == (404, "BLOB_UPLOAD_UNKNOWN")


def test_an_empty_blob_can_be_pushed_and_read(web):
    digest = sha256(b"")
    location = web.start_upload()
    assert web.put(location, params={"digest": digest}).status_code == 201
    answer = web.get(f"/blobs/{digest}")
    assert answer.status_code == 200 and answer.content == b"" and answer.headers["Content-Length"] == "0"


def test_a_sha512_blob_is_verified_and_stored_under_its_sha512_digest(reg, web):
    digest = sha512(DATA)
    answer = web.post("/blobs/uploads/", params={"digest": digest}, data=DATA)
    assert answer.status_code == 201 and answer.headers["Docker-Content-Digest"] == digest
    assert web.get(f"/blobs/{digest}").content == DATA
    assert sha256(DATA) not in stored(reg)
    # Chunked, with the wrong sha512, it is refused.
    location = web.start_upload()
    web.patch(location, data=DATA, headers={"Content-Range": f"0-{len(DATA) - 1}"})
    wrong = sha512(DATA + b"x")
    assert oci_error(web.put(location, params={"digest": wrong})) == (400, "DIGEST_INVALID")
    assert wrong not in stored(reg)


def test_a_digest_mismatch_stores_nothing(reg, web):
    before = stored(reg)
    claimed = sha256(b"something else")
    answer = web.post("/blobs/uploads/", params={"digest": claimed}, data=DATA)
    assert oci_error(answer) == (400, "DIGEST_INVALID")
    location = web.start_upload()
    assert oci_error(web.put(location, params={"digest": claimed}, data=DATA)) == (400, "DIGEST_INVALID")
    assert stored(reg) == before
    assert reg.usage("acme") == 0
    assert oci_error(web.get(f"/blobs/{sha256(DATA)}")) == (404, "BLOB_UNKNOWN")


def test_closing_put_needs_a_digest(web):
    location = web.start_upload()
    assert oci_error(web.put(location, data=DATA)) == (400, "DIGEST_INVALID")
    # The session survives a refused close.
    assert web.get(location).status_code == 204


# -- chunked ----------------------------------------------------------------------------------
def test_chunks_with_content_range_then_put(reg, web):
    location = web.start_upload()
    first, second, last = DATA[:100], DATA[100:700], DATA[700:]
    answer = web.patch(location, data=first, headers={"Content-Range": "0-99",
                                                       "Content-Type": "application/octet-stream"})
    assert answer.status_code == 202
    assert upload_range(answer) == (0, 99)
    location = answer.headers["Location"]
    answer = web.patch(location, data=second, headers={"Content-Range": "100-699"})
    assert answer.status_code == 202 and upload_range(answer) == (0, 699)
    # The last chunk rides on the closing PUT.
    answer = web.put(answer.headers["Location"], params={"digest": sha256(DATA)}, data=last,
                     headers={"Content-Range": f"700-{len(DATA) - 1}"})
    assert answer.status_code == 201
    assert web.get(f"/blobs/{sha256(DATA)}").content == DATA


def test_streamed_patch_without_content_range_appends(web):
    location = web.start_upload()
    for part in (DATA[:10], DATA[10:]):
        answer = web.patch(location, data=part)
        assert answer.status_code == 202
    assert upload_range(answer) == (0, len(DATA) - 1)
    assert web.put(location, params={"digest": sha256(DATA)}).status_code == 201


def chunked(data: bytes, size: int = 100):
    """A generator body: requests sends it with Transfer-Encoding: chunked, as docker streams layers."""
    def body():
        for start in range(0, len(data), size):
            yield data[start:start + size]
    return body()


def test_chunked_transfer_encoding_bodies(reg, web):
    location = web.start_upload()
    answer = web.patch(location, data=chunked(DATA[:600]))
    assert answer.status_code == 202 and upload_range(answer) == (0, 599)
    answer = web.put(location, params={"digest": sha256(DATA)}, data=chunked(DATA[600:]))
    assert answer.status_code == 201
    assert web.get(f"/blobs/{sha256(DATA)}").content == DATA
    other = DATA[::-1]
    answer = web.post("/blobs/uploads/", params={"digest": sha256(other)}, data=chunked(other, 7))
    assert answer.status_code == 201
    assert web.get(f"/blobs/{sha256(other)}").content == other


def test_upload_status_and_resumption_after_an_out_of_order_chunk(web):
    location = web.start_upload()
    status = web.get(location)
    assert status.status_code == 204 and status.headers["Location"] == location
    web.patch(location, data=DATA[:100], headers={"Content-Range": "0-99"})
    status = web.get(location)
    assert status.status_code == 204 and upload_range(status) == (0, 99)
    assert status.headers["Docker-Upload-UUID"] in location

    # A gap: the chunk starts past the end of what the upload holds.
    answer = web.patch(location, data=DATA[200:300], headers={"Content-Range": "200-299"})
    assert answer.status_code == 416
    assert upload_range(answer) == (0, 99)
    # An overlap is out of order too.
    answer = web.patch(location, data=DATA[50:150], headers={"Content-Range": "50-149"})
    assert answer.status_code == 416 and upload_range(answer) == (0, 99)
    assert upload_range(web.get(location)) == (0, 99)

    # Resume from where the status says the upload ends.
    _, end = upload_range(web.get(location))
    answer = web.patch(location, data=DATA[end + 1:], headers={"Content-Range": f"{end + 1}-{len(DATA) - 1}"})
    assert answer.status_code == 202
    assert web.put(location, params={"digest": sha256(DATA)}).status_code == 201
    assert web.get(f"/blobs/{sha256(DATA)}").content == DATA


def test_an_out_of_order_final_chunk_on_put_is_416(reg, web):
    location = web.start_upload()
    web.patch(location, data=DATA[:100], headers={"Content-Range": "0-99"})
    answer = web.put(location, params={"digest": sha256(DATA)}, data=DATA[500:],
                     headers={"Content-Range": f"500-{len(DATA) - 1}"})
    assert answer.status_code == 416
    assert upload_range(answer) == (0, 99)
    assert sha256(DATA) not in stored(reg)
    # The session is intact and can still be finished properly.
    answer = web.put(location, params={"digest": sha256(DATA)}, data=DATA[100:],
                     headers={"Content-Range": f"100-{len(DATA) - 1}"})
    assert answer.status_code == 201


def test_a_content_range_that_disagrees_with_the_body_is_refused(web):
    location = web.start_upload()
    answer = web.patch(location, data=DATA[:10], headers={"Content-Range": "0-99"})
    assert answer.status_code in (400, 416)
    assert oci_error(answer)[1] == "BLOB_UPLOAD_INVALID"
    answer = web.patch(location, data=DATA[:10], headers={"Content-Range": "bytes=nine-ten"})
    assert answer.status_code in (400, 416)
    assert upload_range(web.get(location)) == (0, 0)


def test_delete_cancels_an_upload(web):
    location = web.start_upload()
    web.patch(location, data=DATA[:100])
    assert web.delete(location).status_code == 204
    assert oci_error(web.get(location)) == (404, "BLOB_UPLOAD_UNKNOWN")
    assert oci_error(web.patch(location, data=b"x")) == (404, "BLOB_UPLOAD_UNKNOWN")
    assert oci_error(web.delete(location)) == (404, "BLOB_UPLOAD_UNKNOWN")


@pytest.mark.parametrize("method", ["GET", "PATCH", "PUT", "DELETE"])
def test_an_unknown_session_is_blob_upload_unknown(web, method):
    answer = web.request(method, "/blobs/uploads/no-such-session", params={"digest": sha256(b"")})
    assert oci_error(answer) == (404, "BLOB_UPLOAD_UNKNOWN")


def test_a_session_belongs_to_its_repository(reg, web):
    location = web.start_upload()
    other = reg.client("acme/api")
    uuid = location.rsplit("/", 1)[1]
    assert oci_error(other.get(f"/blobs/uploads/{uuid}")) == (404, "BLOB_UPLOAD_UNKNOWN")
    assert web.get(location).status_code == 204


# -- mounting ---------------------------------------------------------------------------------
def test_mount_from_another_repository_of_the_registry(reg, web):
    digest = web.push_blob(DATA)
    api = reg.client("acme/api", also=("repository:acme/web:pull",))
    assert api.head(f"/blobs/{digest}").status_code == 404  # not linked here yet
    answer = api.post("/blobs/uploads/", params={"mount": digest, "from": "acme/web"})
    assert answer.status_code == 201
    assert answer.headers["Location"] == f"/v2/acme/api/blobs/{digest}"
    assert answer.headers["Docker-Content-Digest"] == digest
    assert api.get(f"/blobs/{digest}").content == DATA


def test_a_mount_needs_pull_on_its_source_and_the_challenge_asks_for_both(reg, web):
    digest = web.push_blob(DATA)
    api = reg.client("acme/api")  # push on acme/api only
    answer = api.post("/blobs/uploads/", params={"mount": digest, "from": "acme/web"})
    assert oci_error(answer) == (401, "UNAUTHORIZED")
    assert challenge(answer)["scope"] == "repository:acme/api:pull,push repository:acme/web:pull"


def test_mount_without_from_starts_an_upload(reg, web):
    digest = web.push_blob(DATA)
    api = reg.client("acme/api")
    answer = api.post("/blobs/uploads/", params={"mount": digest})
    assert answer.status_code == 202  # distribution mounts only from a named source
    assert api.head(f"/blobs/{digest}").status_code == 404
    assert api.put(answer.headers["Location"], params={"digest": digest}, data=DATA).status_code == 201
    assert api.head(f"/blobs/{digest}").status_code == 200


def test_mount_from_a_source_that_does_not_link_the_blob_starts_an_upload(reg, web):
    digest = web.push_blob(DATA)  # held by the registry, linked in acme/web only
    api = reg.client("acme/api", also=("repository:acme/other:pull",))
    answer = api.post("/blobs/uploads/", params={"mount": digest, "from": "acme/other"})
    assert answer.status_code == 202
    assert api.head(f"/blobs/{digest}").status_code == 404


def test_mount_of_a_blob_the_registry_lacks_starts_an_upload(reg, web):
    beta = reg.client("beta/app")
    digest = beta.push_blob(DATA)  # held by another registry only
    answer = web.post("/blobs/uploads/", params={"mount": digest, "from": "beta/app"})
    assert answer.status_code == 202
    location = answer.headers["Location"]
    assert web.get(location).status_code == 204
    assert oci_error(web.get(f"/blobs/{digest}")) == (404, "BLOB_UNKNOWN")
    assert web.put(location, params={"digest": digest}, data=DATA).status_code == 201


def test_mount_with_a_malformed_digest_is_400(reg):
    web = reg.client("acme/web", also=("repository:acme/x:pull",))
    assert oci_error(web.post("/blobs/uploads/", params={"mount": "sha256:nope", "from": "acme/x"})) == (
        400, "DIGEST_INVALID")


# -- reading with Range -----------------------------------------------------------------------
@pytest.mark.parametrize("header, start, stop", [
    ("bytes=0-9", 0, 10),
    ("bytes=100-199", 100, 200),
    ("bytes=1000-", 1000, 1024),
    ("bytes=-24", 1000, 1024),
    ("bytes=1020-5000", 1020, 1024),
    ("bytes=-5000", 0, 1024),
])
def test_ranged_reads(web, header, start, stop):
    digest = web.push_blob(DATA)
    answer = web.get(f"/blobs/{digest}", headers={"Range": header})
    assert answer.status_code == 206
    assert answer.content == DATA[start:stop]
    assert answer.headers["Content-Range"] == f"bytes {start}-{stop - 1}/{len(DATA)}"
    assert answer.headers["Content-Length"] == str(stop - start)
    assert answer.headers["Docker-Content-Digest"] == digest


@pytest.mark.parametrize("header", ["bytes=1024-", "bytes=5000-6000", "bytes=-0"])
def test_a_range_outside_the_blob_is_416(web, header):
    digest = web.push_blob(DATA)
    answer = web.get(f"/blobs/{digest}", headers={"Range": header})
    assert answer.status_code == 416
    assert answer.headers["Content-Range"] == f"bytes */{len(DATA)}"


@pytest.mark.parametrize("header", ["bytes=0-9,20-29", "items=0-9", "bytes=9-0", "bytes=ten-", "bytes=-"])
def test_a_range_docrsim_does_not_read_is_ignored(web, header):
    digest = web.push_blob(DATA)
    answer = web.get(f"/blobs/{digest}", headers={"Range": header})
    assert answer.status_code == 200 and answer.content == DATA
    assert "Content-Range" not in answer.headers


def test_without_range_the_whole_blob_comes_with_accept_ranges(web):
    digest = web.push_blob(DATA)
    answer = web.get(f"/blobs/{digest}")
    assert answer.status_code == 200 and answer.content == DATA
    assert answer.headers["Accept-Ranges"] == "bytes"
    assert answer.headers["Content-Type"] == "application/octet-stream"


# -- digests that do not name a stored blob ---------------------------------------------------
MALFORMED = [
    "notadigest",
    "sha256:xyz",
    "sha256:" + "a" * 63,
    "sha256:" + "A" * 64,
    "sha512:" + "a" * 64,
    "md5:d41d8cd98f00b204e9800998ecf8427e",
    "sha256:",
    ":abc",
]


@pytest.mark.parametrize("pushed", [False, True], ids=["empty repository", "repository with an image"])
@pytest.mark.parametrize("digest", MALFORMED)
def test_malformed_digests_are_400_everywhere(web, digest, pushed):
    if pushed:
        web.push_image(image_manifest(b"{}", [DATA]), "v1")
    location = web.start_upload()
    answers = {
        "GET blob": web.get(f"/blobs/{digest}"),
        "POST ?digest": web.post("/blobs/uploads/", params={"digest": digest}, data=DATA),
        "PUT ?digest": web.put(location, params={"digest": digest}, data=DATA),
        "PUT manifest": web.put(f"/manifests/{digest}", data=b"{}"),
        "referrers": web.get(f"/referrers/{digest}"),
    }
    if ":" in digest:  # otherwise it reads as a tag
        answers["GET manifest"] = web.get(f"/manifests/{digest}")
        answers["DELETE manifest"] = delete_manifest(web, digest)
    for what, answer in answers.items():
        assert oci_error(answer)[0] == 400, (what, answer.status_code, answer.text)
    assert web.head(f"/blobs/{digest}").status_code == 400
    # None of it started or left an upload session behind but the one opened above.
    assert len(web.live.sim.uploads) == 1


def delete_manifest(web, reference):
    """DELETE a manifest with a token that may delete."""
    return Registry(web.live).client(web.name, "pull,push,delete").delete(f"/manifests/{reference}")


@pytest.mark.parametrize("digest", [sha256(b"never pushed"), sha512(b"never pushed")])
def test_unknown_blobs_are_404(web, digest):
    assert oci_error(web.get(f"/blobs/{digest}")) == (404, "BLOB_UNKNOWN")
    head = web.head(f"/blobs/{digest}")
    assert head.status_code == 404 and head.content == b""


def test_blobs_are_not_deleted_through_the_registry_host(reg, web):
    digest = web.push_blob(DATA)
    answer = web.delete(f"/blobs/{digest}")
    assert answer.status_code in (400, 405)
    assert oci_error(answer)[1] == "UNSUPPORTED"
    assert digest in stored(reg)


# -- synthetic blobs --------------------------------------------------------------------------
def test_a_synthetic_blob_has_a_size_but_no_bytes(world):
    layer = {"size": 123456789, "seed": "big-layer"}
    reg = world(account("basic", {"name": "acme", "blobs": [{"size": 5, "seed": "loose"}],
                                   "repositories": [{"name": "web", "manifests": [{"layers": [layer]}]}]}))
    digest = digests.synthetic("big-layer")
    web = reg.client("acme/web", "pull")
    # A blob no repository links (the scenario's loose one) is unknown in every repository.
    assert web.head(f"/blobs/{digests.synthetic('loose')}").status_code == 404
    head = web.head(f"/blobs/{digest}")
    assert head.status_code == 200
    assert head.headers["Content-Length"] == "123456789"
    assert head.headers["Docker-Content-Digest"] == digest
    answer = web.get(f"/blobs/{digest}")
    status, code = oci_error(answer)
    assert (status, code) == (404, "BLOB_UNKNOWN")
    assert "synthetic" in answer.json()["errors"][0]["message"]
    assert answer.json()["errors"][0]["detail"] == {"digest": digest, "size": 123456789}


def test_uploading_the_bytes_of_a_synthetic_blob_is_harmless(world):
    data = b"real bytes"
    reg = world(account("basic", {"name": "acme", "blobs": [{"size": len(data), "digest": sha256(data)}]}))
    usage = reg.usage("acme")
    web = reg.client("acme/web")
    assert web.push_blob(data) == sha256(data)
    assert web.get(f"/blobs/{sha256(data)}").content == data
    assert reg.usage("acme") == usage


@pytest.mark.parametrize("name", ["acme/Web", "acme/web//x", "acme/-web", "acme/" + "a" * 251])
def test_an_invalid_repository_name_is_name_invalid(reg, name):
    client = reg.client(name, auth=reg.credentials("acme"))  # a token for that very name
    for answer in (client.get(f"/v2/{name}/blobs/{sha256(b'')}"), client.post(f"/v2/{name}/blobs/uploads/")):
        assert oci_error(answer) == (400, "NAME_INVALID")


def test_a_token_for_one_registry_is_denied_on_an_unknown_one(reg, web):
    unknown_registry = Client(reg.live, "nosuch/web", web.http.headers["Authorization"].split()[1])
    assert oci_error(unknown_registry.get(f"/blobs/{sha256(b'')}")) == (403, "DENIED")


def test_a_wsgi_server_that_takes_bytes_only_gets_the_same_blob_and_ranges(web):
    # docrsim's server is sent a view of the stored bytes; any other WSGI server (here the
    # Flask test client's) gets bytes slices: the same bytes either way.
    data = bytes(range(256)) * 5000  # over one slice
    digest = web.push_blob(data)
    client = web.live.server.registry_app.test_client()
    headers = {"Authorization": web.http.headers["Authorization"]}
    base = web.live.registry_url  # the host the token was given for
    whole = client.get(f"/v2/{web.name}/blobs/{digest}", headers=headers, base_url=base)
    assert (whole.status_code, whole.data) == (200, data)
    part = client.get(f"/v2/{web.name}/blobs/{digest}", headers={**headers, "Range": "bytes=1048570-1048585"},
                      base_url=base)
    assert (part.status_code, part.data) == (206, data[1048570:1048586])
