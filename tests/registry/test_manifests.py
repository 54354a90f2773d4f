"""Manifests by tag and digest for the four manifest types, content negotiation, and referrers."""

from __future__ import annotations

import http.client
import json

import pytest

from docrsim.core import content as media
from tests.registry.support import (
    OCI_LAYER,
    Client,
    canonical,
    descriptor,
    image_manifest,
    index_manifest,
    oci_error,
    sha256,
    sha512,
)

SIGNATURE = "application/vnd.dev.cosign.artifact.sig.v1+json"
SBOM = "application/vnd.example.sbom.v1"
NON_DISTRIBUTABLE = "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"


def deleter(reg, name="acme/web") -> Client:
    return reg.client(name, "pull,push,delete")


def push_kind(web: Client, kind: str) -> tuple[bytes, str]:
    """Push a manifest of ``kind`` (children first for an index); return (raw, media type)."""
    docker = kind.startswith("docker")
    if kind in ("docker", "oci"):
        image = image_manifest(b'{"os":"linux"}', [b"layer of " + kind.encode()], docker=docker)
        for blob in image.blobs:
            web.push_blob(blob)
        return image.raw, image.media_type
    children = [image_manifest(f'{{"arch":{i}}}'.encode(), [f"{kind} layer {i}".encode()], docker=docker)
                for i in range(2)]
    for child in children:
        web.push_image(child, child.digest)
    raw = index_manifest(children, docker=docker)
    return raw, media.DOCKER_MANIFEST_LIST if docker else media.OCI_INDEX


KINDS = ["docker", "docker-list", "oci", "oci-index"]


@pytest.mark.parametrize("kind", KINDS)
def test_push_pull_head_by_tag_and_digest(reg, web, kind):
    raw, media_type = push_kind(web, kind)
    digest = sha256(raw)
    answer = web.push_manifest(raw, "v1", media_type)
    assert answer.status_code == 201
    assert answer.headers["Docker-Content-Digest"] == digest
    assert answer.headers["Location"] == f"/v2/acme/web/manifests/{digest}"
    assert "OCI-Subject" not in answer.headers
    for reference in ("v1", digest):
        got = web.get(f"/manifests/{reference}", headers={"Accept": media_type})
        assert got.status_code == 200
        assert got.content == raw
        assert got.headers["Content-Type"] == media_type
        assert got.headers["Docker-Content-Digest"] == digest
        head = web.head(f"/manifests/{reference}", headers={"Accept": media_type})
        assert head.status_code == 200 and head.content == b""
        assert head.headers["Content-Length"] == str(len(raw))
        assert head.headers["Docker-Content-Digest"] == digest
        assert head.headers["Content-Type"] == media_type


@pytest.mark.parametrize("kind", KINDS)
def test_delete_by_tag_then_by_digest(reg, web, kind):
    raw, media_type = push_kind(web, kind)
    digest = sha256(raw)
    web.push_manifest(raw, "v1", media_type)
    web.push_manifest(raw, "stable", media_type)
    remover = deleter(reg)
    assert remover.delete("/manifests/v1").status_code == 202
    assert oci_error(web.get("/manifests/v1")) == (404, "MANIFEST_UNKNOWN")
    assert web.get(f"/manifests/{digest}").status_code == 200
    assert web.get("/manifests/stable").status_code == 200
    assert remover.delete(f"/manifests/{digest}").status_code == 202
    assert oci_error(web.get(f"/manifests/{digest}")) == (404, "MANIFEST_UNKNOWN")
    assert web.head(f"/manifests/{digest}").status_code == 404
    # Deleting the manifest took its remaining tag with it.
    assert oci_error(web.get("/manifests/stable")) == (404, "MANIFEST_UNKNOWN")
    assert oci_error(remover.delete(f"/manifests/{digest}")) == (404, "MANIFEST_UNKNOWN")
    assert oci_error(remover.delete("/manifests/v1")) == (404, "MANIFEST_UNKNOWN")


def test_delete_needs_the_delete_action(web):
    raw, media_type = push_kind(web, "oci")
    web.push_manifest(raw, "v1", media_type)
    answer = web.delete("/manifests/v1")
    assert oci_error(answer) == (401, "UNAUTHORIZED")
    assert 'error="insufficient_scope"' in answer.headers["WWW-Authenticate"]
    assert web.get("/manifests/v1").status_code == 200


def test_delete_in_an_unknown_repository_is_name_unknown(reg):
    assert oci_error(deleter(reg, "acme/nothing").delete("/manifests/v1")) == (404, "NAME_UNKNOWN")


def test_delete_is_refused_while_a_garbage_collection_runs(reg, web):
    raw, media_type = push_kind(web, "oci")
    web.push_manifest(raw, "v1", media_type)
    remover = deleter(reg)  # issued before the run
    assert reg.live.http.post(reg.live.url("/v2/registries/acme/garbage-collection")).status_code == 201
    assert oci_error(remover.delete("/manifests/v1")) == (403, "DENIED")
    assert web.get("/manifests/v1").status_code == 200


def test_push_by_digest_only_and_retag(web):
    raw, media_type = push_kind(web, "oci")
    digest = sha256(raw)
    answer = web.push_manifest(raw, digest, media_type)
    assert answer.status_code == 201 and answer.headers["Docker-Content-Digest"] == digest
    assert web.get("/tags/list").json()["tags"] == []
    other = image_manifest(b"{}", [b"another layer"])
    web.push_image(other, "latest")
    assert web.push_manifest(raw, "latest", media_type).status_code == 201
    assert web.get("/manifests/latest").content == raw
    assert web.get(f"/manifests/{other.digest}").status_code == 200  # left untagged, still there


def test_a_sha512_reference_is_verified_and_answered_in_kind(web):
    raw, media_type = push_kind(web, "oci")
    answer = web.push_manifest(raw, sha512(raw), media_type)
    assert answer.status_code == 201
    assert answer.headers["Docker-Content-Digest"] == sha512(raw)
    assert web.get(f"/manifests/{sha512(raw)}").content == raw
    assert oci_error(web.push_manifest(raw, sha512(raw + b" "), media_type)) == (400, "DIGEST_INVALID")


def test_the_exact_bytes_are_kept(web):
    raw, media_type = push_kind(web, "oci")
    pretty = json.dumps(json.loads(raw), indent=3).encode() + b"\n"
    answer = web.push_manifest(pretty, "pretty", media_type + "; charset=utf-8")
    assert answer.status_code == 201 and answer.headers["Docker-Content-Digest"] == sha256(pretty)
    assert web.get("/manifests/pretty").content == pretty


# -- content negotiation ----------------------------------------------------------------------
@pytest.mark.parametrize("accept, served", [
    (None, True),
    ("*/*", True),
    ("application/*", True),
    (media.OCI_MANIFEST, True),
    (f"{media.DOCKER_MANIFEST}, {media.OCI_MANIFEST};q=0.5", True),
    (media.DOCKER_MANIFEST, False),
    (f"{media.DOCKER_MANIFEST}, {media.DOCKER_MANIFEST_LIST}", False),
    ("text/*", False),
])
def test_accept_negotiation(web, accept, served):
    raw, media_type = push_kind(web, "oci")
    web.push_manifest(raw, "v1", media_type)
    headers = {"Accept": accept}  # None: requests sends no Accept at all
    answer = web.get("/manifests/v1", headers=headers)
    if served:
        assert answer.status_code == 200 and answer.content == raw
        assert answer.headers["Content-Type"] == media.OCI_MANIFEST
    else:
        assert oci_error(answer) == (404, "MANIFEST_UNKNOWN")
        assert web.head("/manifests/v1", headers=headers).status_code == 404


def test_several_accept_headers_are_read_together(web):
    raw, media_type = push_kind(web, "docker")
    web.push_manifest(raw, "v1", media_type)
    # requests folds headers into a dict; send the two Accept lines raw, as docker does.
    host, port = web.live.registry_url.split("://", 1)[1].rsplit(":", 1)
    connection = http.client.HTTPConnection(host, int(port))
    try:
        connection.putrequest("GET", "/v2/acme/web/manifests/v1")
        connection.putheader("Authorization", web.http.headers["Authorization"])
        connection.putheader("Accept", media.OCI_MANIFEST)
        connection.putheader("Accept", media.DOCKER_MANIFEST)
        connection.endheaders()
        answer = connection.getresponse()
        assert answer.status == 200 and answer.read() == raw
    finally:
        connection.close()


def test_a_media_type_refused_with_q_zero_is_not_served(web):
    raw, media_type = push_kind(web, "oci")
    web.push_manifest(raw, "v1", media_type)
    # The most specific matching range decides: the exact type's q=0 beats */*.
    for accept in (f"*/*, {media.OCI_MANIFEST};q=0", f"{media.OCI_MANIFEST}; q=0", "application/*;q=0, */*"):
        assert oci_error(web.get("/manifests/v1", headers={"Accept": accept})) == (404, "MANIFEST_UNKNOWN"), accept
    assert web.get("/manifests/v1", headers={"Accept": f"application/*;q=0, {media.OCI_MANIFEST}"}).status_code == 200


# -- refused pushes ---------------------------------------------------------------------------
def test_a_layer_the_registry_lacks_is_manifest_blob_unknown(web):
    image = image_manifest(b"{}", [b"pushed", b"never pushed"])
    web.push_blob(image.config)
    web.push_blob(image.layers[0])
    answer = web.push_manifest(image.raw, "v1", image.media_type)
    assert oci_error(answer) == (400, "MANIFEST_BLOB_UNKNOWN")
    assert answer.json()["errors"][0]["detail"] == {"digest": sha256(b"never pushed")}
    assert oci_error(web.get("/manifests/v1")) == (404, "NAME_UNKNOWN")


def test_a_missing_config_is_manifest_blob_unknown(web):
    image = image_manifest(b'{"missing":true}', [b"layer"], docker=True)
    web.push_blob(image.layers[0])
    assert oci_error(web.push_manifest(image.raw, "v1", image.media_type)) == (400, "MANIFEST_BLOB_UNKNOWN")


@pytest.mark.parametrize("docker", [False, True])
def test_a_missing_child_is_manifest_blob_unknown(reg, web, docker):
    present = image_manifest(b"{}", [b"present"], docker=docker)
    absent = image_manifest(b"{}", [b"absent"], docker=docker)
    web.push_image(present, "present")
    for blob in absent.blobs:
        web.push_blob(blob)  # its blobs are there, the manifest is not
    raw = index_manifest([present, absent], docker=docker)
    kind = media.DOCKER_MANIFEST_LIST if docker else media.OCI_INDEX
    answer = web.push_manifest(raw, "multi", kind)
    assert oci_error(answer) == (400, "MANIFEST_BLOB_UNKNOWN")
    assert answer.json()["errors"][0]["detail"] == {"digest": absent.digest}
    # A child in another repository does not count either.
    reg.client("acme/other").push_image(absent, "v1")
    assert oci_error(web.push_manifest(raw, "multi", kind)) == (400, "MANIFEST_BLOB_UNKNOWN")


def test_a_digest_reference_that_is_not_the_content_is_digest_invalid(web):
    raw, media_type = push_kind(web, "oci")
    answer = web.push_manifest(raw, sha256(raw + b"\n"), media_type)
    assert oci_error(answer) == (400, "DIGEST_INVALID")
    assert oci_error(web.get(f"/manifests/{sha256(raw)}")) == (404, "NAME_UNKNOWN")


@pytest.mark.parametrize("body, content_type", [
    (b"{not json", media.OCI_MANIFEST),
    (b"[]", media.OCI_MANIFEST),
    (b'{"schemaVersion": 1}', media.OCI_MANIFEST),
    (b"\xff\xfe", media.OCI_MANIFEST),
    (canonical({"schemaVersion": 2, "mediaType": media.OCI_MANIFEST, "layers": []}), media.OCI_MANIFEST),
    (canonical({"schemaVersion": 2, "mediaType": media.OCI_INDEX, "manifests": []}), media.OCI_MANIFEST),
    (canonical({"schemaVersion": 2, "mediaType": "application/vnd.example+json", "config": {}}), "application/json"),
    (canonical({"schemaVersion": 2, "mediaType": media.OCI_INDEX, "manifests": [{"digest": "sha256:x"}]}),
     media.OCI_INDEX),
])
def test_invalid_manifests_are_manifest_invalid(web, body, content_type):
    answer = web.push_manifest(body, "v1", content_type)
    assert oci_error(answer) == (400, "MANIFEST_INVALID")


def test_an_invalid_tag_is_refused(web):
    raw, media_type = push_kind(web, "oci")
    for tag in (".hidden", "-dash", "a" * 129):
        assert oci_error(web.push_manifest(raw, tag, media_type))[0] == 400


def test_an_oversized_manifest_is_413(web):
    huge = b'{"schemaVersion":2,"annotations":{"pad":"' + b"x" * (4 * 1024 * 1024) + b'"}}'
    answer = web.push_manifest(huge, "huge", media.OCI_MANIFEST)
    assert answer.status_code == 413 and oci_error(answer)[1] == "SIZE_INVALID"


def test_non_distributable_layers_need_not_be_held(web):
    config = b"{}"
    foreign = {"mediaType": NON_DISTRIBUTABLE, "digest": sha256(b"windows base"), "size": 12,
               "urls": ["https://example.com/base.tar.gz"]}
    image = image_manifest(config, [b"ordinary"], extra_layers=[foreign])
    web.push_blob(config)
    web.push_blob(b"ordinary")
    assert web.push_manifest(image.raw, "v1", image.media_type).status_code == 201
    assert web.get("/manifests/v1").content == image.raw


# -- subject and referrers --------------------------------------------------------------------
def push_referrer(web: Client, subject_raw: bytes, subject_type: str, *, artifact_type=None,
                  config_type=None, annotations=None, index=False) -> tuple[bytes, str]:
    subject = {"mediaType": subject_type, "digest": sha256(subject_raw), "size": len(subject_raw)}
    fields = {"subject": subject}
    if artifact_type:
        fields["artifactType"] = artifact_type
    if annotations:
        fields["annotations"] = annotations
    if index:
        raw = canonical({"schemaVersion": 2, "mediaType": media.OCI_INDEX, "manifests": [], **fields})
        media_type = media.OCI_INDEX
    else:
        config = b"{}"
        payload = json.dumps(fields).encode()
        web.push_blob(config)
        web.push_blob(payload)
        raw = canonical({
            "schemaVersion": 2, "mediaType": media.OCI_MANIFEST,
            "config": descriptor(config_type or "application/vnd.oci.empty.v1+json", config),
            "layers": [descriptor(OCI_LAYER, payload)], **fields,
        })
        media_type = media.OCI_MANIFEST
    answer = web.push_manifest(raw, sha256(raw), media_type)
    assert answer.status_code == 201, answer.text
    assert answer.headers["OCI-Subject"] == subject["digest"]
    return raw, media_type


def test_referrers_of_an_unknown_subject_is_an_empty_index(web):
    raw, media_type = push_kind(web, "oci")
    web.push_manifest(raw, "v1", media_type)
    answer = web.get(f"/referrers/{sha256(b'no such manifest')}")
    assert answer.status_code == 200
    assert answer.headers["Content-Type"] == media.OCI_INDEX
    assert answer.json() == {"schemaVersion": 2, "mediaType": media.OCI_INDEX, "manifests": []}
    assert "OCI-Filters-Applied" not in answer.headers


def test_a_referrer_may_be_pushed_before_its_subject(web):
    subject_raw, subject_type = push_kind(web, "oci")
    signature, _ = push_referrer(web, subject_raw, subject_type, artifact_type=SIGNATURE)
    listed = web.get(f"/referrers/{sha256(subject_raw)}").json()["manifests"]
    assert [m["digest"] for m in listed] == [sha256(signature)]
    assert web.push_manifest(subject_raw, "v1", subject_type).status_code == 201


def test_referrers_list_describes_each_referrer_and_filters_by_artifact_type(reg, web):
    subject_raw, subject_type = push_kind(web, "oci")
    web.push_manifest(subject_raw, "v1", subject_type)
    signature, _ = push_referrer(web, subject_raw, subject_type, artifact_type=SIGNATURE,
                                 annotations={"org.example.signer": "ci"})
    sbom, _ = push_referrer(web, subject_raw, subject_type, config_type=SBOM)
    bundle, _ = push_referrer(web, subject_raw, subject_type, index=True,
                              annotations={"org.opencontainers.image.created": "2026-01-01T00:00:00Z"})
    # A referrer of the same subject in another repository is not listed here.
    push_referrer(reg.client("acme/elsewhere"), subject_raw, subject_type, artifact_type=SIGNATURE)

    answer = web.get(f"/referrers/{sha256(subject_raw)}")
    assert answer.status_code == 200 and answer.headers["Content-Type"] == media.OCI_INDEX
    index = answer.json()
    assert index["schemaVersion"] == 2 and index["mediaType"] == media.OCI_INDEX
    by_digest = {m["digest"]: m for m in index["manifests"]}
    assert by_digest == {
        sha256(signature): {"mediaType": media.OCI_MANIFEST, "digest": sha256(signature), "size": len(signature),
                            "artifactType": SIGNATURE, "annotations": {"org.example.signer": "ci"}},
        sha256(sbom): {"mediaType": media.OCI_MANIFEST, "digest": sha256(sbom), "size": len(sbom),
                       "artifactType": SBOM},
        sha256(bundle): {"mediaType": media.OCI_INDEX, "digest": sha256(bundle), "size": len(bundle),
                         "annotations": {"org.opencontainers.image.created": "2026-01-01T00:00:00Z"}},
    }

    filtered = web.get(f"/referrers/{sha256(subject_raw)}", params={"artifactType": SBOM})
    assert filtered.status_code == 200
    assert filtered.headers["OCI-Filters-Applied"] == "artifactType"
    assert [m["digest"] for m in filtered.json()["manifests"]] == [sha256(sbom)]
    none = web.get(f"/referrers/{sha256(subject_raw)}", params={"artifactType": "application/none"})
    assert none.json()["manifests"] == [] and none.headers["OCI-Filters-Applied"] == "artifactType"


def test_a_deleted_referrer_leaves_the_list(reg, web):
    subject_raw, subject_type = push_kind(web, "oci")
    signature, _ = push_referrer(web, subject_raw, subject_type, artifact_type=SIGNATURE)
    assert deleter(reg).delete(f"/manifests/{sha256(signature)}").status_code == 202
    assert web.get(f"/referrers/{sha256(subject_raw)}").json()["manifests"] == []


def test_referrers_of_an_unknown_repository_are_an_empty_index(reg):
    # The referrers API must not answer 404 for a well-formed digest (distribution spec).
    client = reg.client("acme/nothing", "pull")
    answer = client.get(f"/referrers/{sha256(b'x')}")
    assert answer.status_code == 200
    assert answer.headers["Content-Type"] == "application/vnd.oci.image.index.v1+json"
    assert answer.json() == {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                             "manifests": []}


def test_unknown_manifests_and_repositories(reg, web):
    assert oci_error(web.get("/manifests/latest")) == (404, "NAME_UNKNOWN")
    raw, media_type = push_kind(web, "oci")
    web.push_manifest(raw, "v1", media_type)
    assert oci_error(web.get("/manifests/v2")) == (404, "MANIFEST_UNKNOWN")
    assert oci_error(web.get(f"/manifests/{sha256(b'other')}")) == (404, "MANIFEST_UNKNOWN")
    # A manifest of another repository of the registry is not found by digest here.
    other = reg.client("acme/other", "pull")
    reg.client("acme/other").push_image(image_manifest(b"{}", [b"x"]), "v1")
    assert oci_error(other.get(f"/manifests/{sha256(raw)}")) == (404, "MANIFEST_UNKNOWN")


@pytest.mark.parametrize("content_type", [media.OCI_MANIFEST, "application/json", "application/octet-stream"])
def test_a_content_type_the_document_contradicts_is_manifest_invalid(reg, web, content_type):
    # distribution refuses a PUT whose Content-Type disagrees with the document's mediaType.
    raw, media_type = push_kind(web, "docker")
    answer = web.push_manifest(raw, "v1", content_type)
    assert oci_error(answer) == (400, "MANIFEST_INVALID")
    assert "does not match" in answer.json()["errors"][0]["message"]
    assert web.push_manifest(raw, "v1", media_type).status_code == 201
