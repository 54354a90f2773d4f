"""The bad-input catalogue of both hosts: every case gets its documented error, and the world
is exactly as it was.

"Exactly" is the whole ``GET /_docrsim/state`` document, compared before and after. Nothing is
left out of the comparison: request ids come from their own stream, which the state document
does not hold, and every case's preparations (registry JWTs, an upload in progress) happen
before the first reading. That includes ``id_position``, how far the id generator has gone:
a refused request draws no id, so the ids later requests get are those they would have got
without it.

The state document does not hold uploads in progress, so the cases aimed at the open upload
also check its offset, and whether it survives the refusal.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pytest
import requests

from docrsim.http.limits import JSON_BODY_LIMIT, MANIFEST_BODY_LIMIT
from tests.conftest import start_live
from tests.registry.support import image_manifest, index_manifest, sha256
from tests.reliability import harness

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
MISSING = sha256(b"no blob has these bytes")
MEGA = 1024 * 1024


@dataclass(frozen=True)
class Bad:
    id: str
    host: str  # "api" (DO error body) or "registry" (OCI error envelope)
    method: str
    path: str  # {upload} is the open upload's path, {v1} the digest acme/web:v1 names
    status: int
    code: str | None  # the DO error id or OCI code; None for a refusal-free answer (huge n)
    body: object = None  # bytes as sent, a dict as JSON, or a callable making them from the known values
    headers: dict = field(default_factory=dict)
    jwt: str | None = "push"  # registry host: which harness.Tokens field to present, or None
    api_token: str | None = harness.API_TOKEN  # API host bearer token
    raw: bool = False  # send with http.client, so the path keeps its '..' segments
    upload: str | None = None  # "kept" (offset unchanged) or "ended" (the upload is gone)


def _json(document) -> bytes:
    return json.dumps(document).encode()


def _manifest(*, layers=(), config=b"{}", **fields) -> bytes:
    return image_manifest(config, list(layers), **fields).raw


def _edited(raw: bytes, **fields) -> bytes:
    """A manifest with some fields replaced: its only defect is the one the case names."""
    return json.dumps({**json.loads(raw), **fields}).encode()


def _missing_layer_manifest() -> bytes:
    document = json.loads(_manifest())
    document["layers"] = [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": MISSING, "size": 5}]
    return json.dumps(document).encode()


def _index_of_missing_child() -> bytes:
    child = image_manifest(b"{}", [b"child layer never pushed"])
    return index_manifest([child])


def _oversize_manifest() -> bytes:
    document = json.loads(_manifest())
    document["annotations"] = {"padding": "x" * MANIFEST_BODY_LIMIT}
    return json.dumps(document).encode()


def _chunks(data: bytes, size: int = 64 * 1024):
    """A generator body: requests sends it chunked, with no Content-Length."""
    for start in range(0, len(data), size):
        yield data[start:start + size]


NAME_65 = "a" * 65
HUGE = "9" * 40

API = [
    # -- malformed, truncated and mistyped JSON ---------------------------------------------------
    Bad("create: truncated JSON", "api", "POST", "/v2/registries", 400, "bad_request", b'{"name": "ne'),
    Bad("create: JSON then trailing bytes", "api", "POST", "/v2/registries", 400, "bad_request", b'{"name": "new"} {}'),
    Bad("create: bytes that are not UTF-8", "api", "POST", "/v2/registries", 400, "bad_request", b'{"name": "\xff\xfe"}'),
    Bad("create: JSON null", "api", "POST", "/v2/registries", 400, "bad_request", b"null"),
    Bad("create: JSON string", "api", "POST", "/v2/registries", 400, "bad_request", b'"new"'),
    Bad("create: only whitespace", "api", "POST", "/v2/registries", 400, "bad_request", b"  \n "),
    Bad("create: name is a list", "api", "POST", "/v2/registries", 422, "unprocessable_entity", {"name": ["new"]}),
    Bad("create: region is a number", "api", "POST", "/v2/registries", 422, "unprocessable_entity", {"name": "new", "region": 3}),
    Bad("create: name of 65 characters", "api", "POST", "/v2/registries", 422, "unprocessable_entity", {"name": NAME_65}),
    Bad("create: name of 100 KB", "api", "POST", "/v2/registries", 422, "unprocessable_entity", {"name": "a" * 100_000}),
    Bad("create: name with '..'", "api", "POST", "/v2/registries", 422, "unprocessable_entity", {"name": "a..b"}),
    Bad("create: name with '/'", "api", "POST", "/v2/registries", 422, "unprocessable_entity", {"name": "acme/web"}),
    Bad("create: name in capitals", "api", "POST", "/v2/registries", 422, "unprocessable_entity", {"name": "ACME2"}),
    Bad("create: name taken", "api", "POST", "/v2/registries", 409, "conflict", {"name": "beta"}),
    Bad("create: body over 1 MiB", "api", "POST", "/v2/registries", 413, "request_too_large",
        _json({"name": "new", "pad": "x" * JSON_BODY_LIMIT})),
    Bad("create: chunked body over 1 MiB", "api", "POST", "/v2/registries", 413, "request_too_large",
        lambda k: _chunks(_json({"name": "new", "pad": "x" * JSON_BODY_LIMIT}))),
    Bad("older create: second registry", "api", "POST", "/v2/registry", 409, "conflict",
        {"name": "new", "subscription_tier_slug": "basic"}),
    Bad("validate-name: name is an object", "api", "POST", "/v2/registries/validate-name", 422,
        "unprocessable_entity", {"name": {"x": 1}}),
    Bad("subscription: tier_slug missing", "api", "POST", "/v2/registries/subscription", 422, "unprocessable_entity", {}),
    Bad("subscription: truncated JSON", "api", "POST", "/v2/registry/subscription", 400, "bad_request", b'{"tier_slug":'),
    Bad("gc start: type is a number", "api", "POST", "/v2/registries/acme/garbage-collection", 422,
        "unprocessable_entity", {"type": 1}),
    Bad("gc start: unknown type", "api", "POST", "/v2/registries/acme/garbage-collection", 422,
        "unprocessable_entity", {"type": "everything"}),
    Bad("gc start: body is a list", "api", "POST", "/v2/registries/acme/garbage-collection", 400, "bad_request", b"[]"),
    Bad("gc start: one already active", "api", "POST", "/v2/registries/beta/garbage-collection", 409, "conflict", {}),
    Bad("gc cancel: cancel is a string", "api", "PUT", "/v2/registries/beta/garbage-collection/{gc}", 422,
        "unprocessable_entity", {"cancel": "true"}),
    Bad("gc cancel: unknown run", "api", "PUT", "/v2/registries/beta/garbage-collection/not-a-run", 404,
        "not_found", {"cancel": True}),
    Bad("gc cancel: another registry's run", "api", "PUT", "/v2/registries/acme/garbage-collection/{gc}", 404,
        "not_found", {"cancel": True}),
    # -- paging and query values -------------------------------------------------------------------
    Bad("tags: page 0", "api", "GET", "/v2/registries/acme/repositories/web/tags?page=0", 422, "unprocessable_entity"),
    Bad("tags: page -3", "api", "GET", "/v2/registries/acme/repositories/web/tags?page=-3", 422, "unprocessable_entity"),
    Bad("tags: per_page 0", "api", "GET", "/v2/registries/acme/repositories/web/tags?per_page=0", 422, "unprocessable_entity"),
    Bad("tags: page given empty", "api", "GET", "/v2/registries/acme/repositories/web/tags?page=", 422,
        "unprocessable_entity"),
    Bad("tags: page given twice", "api", "GET", "/v2/registries/acme/repositories/web/tags?page=1&page=2", 422,
        "unprocessable_entity"),
    Bad("tags: page with a trailing form feed", "api", "GET", "/v2/registries/acme/repositories/web/tags?page=3%0C",
        422, "unprocessable_entity"),
    Bad("digests: per_page -1", "api", "GET", "/v2/registry/acme/repositories/web/digests?per_page=-1", 422,
        "unprocessable_entity"),
    Bad("gc list: page 1.5", "api", "GET", "/v2/registries/beta/garbage-collections?page=1.5", 422, "unprocessable_entity"),
    Bad("repositoriesV2: page token of another shape", "api", "GET",
        "/v2/registries/acme/repositoriesV2?page_token=eyJvZmZzZXQiOi0xfQ", 400, "bad_request"),
    Bad("repositoriesV2: page token not base64", "api", "GET", "/v2/registries/acme/repositoriesV2?page_token=%21%21",
        400, "bad_request"),
    Bad("repositoriesV2: page_size bad beside per_page", "api", "GET",
        "/v2/registries/acme/repositoriesV2?per_page=5&page_size=lots", 422, "unprocessable_entity"),
    Bad("repositoriesV2: page bad beside a page token", "api", "GET",
        "/v2/registries/acme/repositoriesV2?page_token=eyJvZmZzZXQiOjB9&page=first", 422, "unprocessable_entity"),
    Bad("credentials: expiry_seconds past the year 9999", "api", "GET",
        f"/v2/registries/acme/docker-credentials?expiry_seconds={HUGE}", 422, "unprocessable_entity"),
    Bad("credentials: expiry_seconds one over 100 years", "api", "GET",
        "/v2/registry/docker-credentials?expiry_seconds=3153600001", 422, "unprocessable_entity"),
    Bad("credentials: read_write given empty", "api", "GET", "/v2/registries/acme/docker-credentials?read_write=",
        422, "unprocessable_entity"),
    Bad("credentials: read_write is not a boolean", "api", "GET",
        "/v2/registries/acme/docker-credentials?read_write=yes-please", 422, "unprocessable_entity"),
    # -- names and paths ---------------------------------------------------------------------------
    Bad("registry name in capitals", "api", "GET", "/v2/registries/ACME", 404, "not_found"),
    Bad("registry name with an encoded slash", "api", "GET", "/v2/registries/acme%2Fweb", 404, "not_found"),
    Bad("repository '..' climbing to another registry", "api", "GET",
        "/v2/registries/acme/repositories/..%2F..%2Fbeta%2Fapi/tags", 404, "not_found"),
    Bad("repository '..' as a raw segment", "api", "GET", "/v2/registries/acme/repositories/../tags", 404, "not_found",
        raw=True),
    Bad("repository of another registry", "api", "DELETE", "/v2/registries/acme/repositories/api", 404, "not_found"),
    Bad("tag of 200 characters", "api", "DELETE", "/v2/registries/acme/repositories/web/tags/" + "t" * 200, 404,
        "not_found"),
    Bad("manifest digest of another algorithm", "api", "DELETE",
        "/v2/registries/acme/repositories/web/digests/sha1:" + "a" * 40, 422, "unprocessable_entity"),
    Bad("manifest digest in capitals", "api", "DELETE",
        "/v2/registries/acme/repositories/web/digests/sha256:" + "A" * 64, 422, "unprocessable_entity"),
    Bad("deleting a tag while GC runs", "api", "DELETE", "/v2/registries/beta/repositories/api/tags/1.0", 409, "conflict"),
    # -- the control API ---------------------------------------------------------------------------
    Bad("clock: truncated JSON", "api", "POST", "/_docrsim/clock", 400, "bad_request", b'{"advance_seconds": 1'),
    Bad("clock: advance by a string", "api", "POST", "/_docrsim/clock", 422, "unprocessable_entity",
        {"advance_seconds": "60"}),
    Bad("clock: advance backwards", "api", "POST", "/_docrsim/clock", 422, "unprocessable_entity", {"advance_seconds": -1}),
    Bad("clock: advance past the year 9999", "api", "POST", "/_docrsim/clock", 422, "unprocessable_entity",
        {"advance_seconds": 1e300}),
    Bad("clock: set to the past", "api", "POST", "/_docrsim/clock", 422, "unprocessable_entity",
        {"set": "2020-01-01T00:00:00Z"}),
    Bad("clock: set to no instant", "api", "POST", "/_docrsim/clock", 422, "unprocessable_entity", {"set": "tomorrow"}),
    Bad("reset: a state of the wrong format", "api", "POST", "/_docrsim/reset", 422, "unprocessable_entity",
        {"state": {"format": "docrsim-state/0"}}),
    Bad("reset: a fixture that is a list", "api", "POST", "/_docrsim/reset", 422, "unprocessable_entity",
        {"fixture": []}),
    Bad("fixtures: a registry that exists", "api", "POST", "/_docrsim/fixtures", 409, "conflict",
        {"registries": [{"name": "acme"}]}),
    Bad("fixtures: a registry name that is a number", "api", "POST", "/_docrsim/fixtures", 422, "unprocessable_entity",
        {"registries": [{"name": 5}]}),
    Bad("faults: status 200", "api", "POST", "/_docrsim/faults", 422, "unprocessable_entity", {"status": 200}),
    Bad("faults: an unknown operation", "api", "POST", "/_docrsim/faults", 422, "unprocessable_entity",
        {"operation_id": "registries_explode", "status": 500}),
    Bad("faults: delete an unknown rule", "api", "DELETE", "/_docrsim/faults/fault-99", 404, "not_found"),
    Bad("gc fault: unknown phase", "api", "POST", "/_docrsim/faults/gc", 422, "unprocessable_entity",
        {"registry": "acme", "fail_in": "exploding"}),
    Bad("gc-rates: negative", "api", "PUT", "/_docrsim/gc-rates", 422, "unprocessable_entity", {"scan_rate": -1}),
    Bad("journal: limit is not a number", "api", "GET", "/_docrsim/journal?limit=many", 422, "unprocessable_entity"),
    # -- the token service -------------------------------------------------------------------------
    Bad("token: wrong secret", "api", "GET", "/v2/registry/auth?scope=repository:acme/web:pull", 401, "unauthorized",
        headers={"Authorization": "Basic " + "ZG9jcnNpbUBleGFtcGxlLmNvbTpkb3BfdjFfd3Jvbmc="}, api_token=None),
    Bad("token: API token and another as password", "api", "GET", "/v2/registry/auth", 401, "unauthorized",
        headers={"Authorization": "Basic ZG9wX3YxX2E6ZG9wX3YxX2I="}, api_token=None),
    Bad("token: Basic that is not base64", "api", "GET", "/v2/registry/auth", 401, "unauthorized",
        headers={"Authorization": "Basic !!!not-base64!!!"}, api_token=None),
    Bad("token: no credentials", "api", "GET", "/v2/registry/auth", 401, "unauthorized", api_token=None),
    Bad("token: a scope without actions", "api", "GET", "/v2/registry/auth?scope=repository:acme/web", 400,
        "bad_request", headers={"Authorization": "Basic ZG9wX3YxX2E6ZG9wX3YxX2E="}, api_token=None),
    Bad("token: another service", "api", "GET", "/v2/registry/auth?service=quay.io", 400,
        "bad_request", headers={"Authorization": "Basic ZG9wX3YxX2E6ZG9wX3YxX2E="}, api_token=None),
]

REGISTRY = [
    # -- manifests ---------------------------------------------------------------------------------
    Bad("manifest: not JSON", "registry", "PUT", "/v2/acme/web/manifests/v9", 400, "MANIFEST_INVALID", b"{nope",
        {"Content-Type": OCI_MANIFEST}),
    Bad("manifest: truncated", "registry", "PUT", "/v2/acme/web/manifests/v9", 400, "MANIFEST_INVALID",
        lambda k: k["v1_raw"][:-7], {"Content-Type": OCI_MANIFEST}),
    Bad("manifest: empty", "registry", "PUT", "/v2/acme/web/manifests/v9", 400, "MANIFEST_INVALID", b"",
        {"Content-Type": OCI_MANIFEST}),
    Bad("manifest: schemaVersion is a string", "registry", "PUT", "/v2/acme/web/manifests/v9", 400, "MANIFEST_INVALID",
        lambda k: _edited(k["v1_raw"], schemaVersion="2"), {"Content-Type": OCI_MANIFEST}),
    Bad("manifest: layers is an object", "registry", "PUT", "/v2/acme/web/manifests/v9", 400, "MANIFEST_INVALID",
        lambda k: _edited(k["v1_raw"], layers={}), {"Content-Type": OCI_MANIFEST}),
    Bad("manifest: unknown media type", "registry", "PUT", "/v2/acme/web/manifests/v9", 400, "MANIFEST_INVALID",
        lambda k: _edited(k["v1_raw"], mediaType="application/x-not-a-manifest"),
        {"Content-Type": "application/x-not-a-manifest"}),
    Bad("manifest: a layer never pushed", "registry", "PUT", "/v2/acme/web/manifests/v9", 400, "MANIFEST_BLOB_UNKNOWN",
        lambda k: _missing_layer_manifest(), {"Content-Type": OCI_MANIFEST}),
    Bad("manifest: an index of a child never pushed", "registry", "PUT", "/v2/acme/web/manifests/v9", 400,
        "MANIFEST_BLOB_UNKNOWN", lambda k: _index_of_missing_child(), {"Content-Type": OCI_INDEX}),
    Bad("manifest: pushed by a digest it does not have", "registry", "PUT", f"/v2/acme/web/manifests/{MISSING}", 400,
        "DIGEST_INVALID", lambda k: k["v1_raw"], {"Content-Type": OCI_MANIFEST}),
    Bad("manifest: tag of 129 characters", "registry", "PUT", "/v2/acme/web/manifests/" + "t" * 129, 400,
        "MANIFEST_INVALID", lambda k: k["v1_raw"], {"Content-Type": OCI_MANIFEST}),
    Bad("manifest: tag starting with '.'", "registry", "PUT", "/v2/acme/web/manifests/.hidden", 400,
        "MANIFEST_INVALID", lambda k: k["v1_raw"], {"Content-Type": OCI_MANIFEST}),
    Bad("manifest: over 4 MiB", "registry", "PUT", "/v2/acme/web/manifests/v9", 413, "SIZE_INVALID",
        lambda k: _oversize_manifest(), {"Content-Type": OCI_MANIFEST}),
    Bad("manifest: chunked, over 4 MiB", "registry", "PUT", "/v2/acme/web/manifests/v9", 413, "SIZE_INVALID",
        lambda k: _chunks(_oversize_manifest()), {"Content-Type": OCI_MANIFEST}),
    Bad("manifest: fetched by a malformed digest", "registry", "GET", "/v2/acme/web/manifests/sha256:zz", 400,
        "DIGEST_INVALID"),
    Bad("manifest: fetched by an unknown tag", "registry", "GET", "/v2/acme/web/manifests/v404", 404, "MANIFEST_UNKNOWN"),
    Bad("manifest: deleted by an unknown digest", "registry", "DELETE", f"/v2/acme/web/manifests/{MISSING}", 404,
        "MANIFEST_UNKNOWN"),
    Bad("referrers: a malformed digest", "registry", "GET", "/v2/acme/web/referrers/sha256:" + "g" * 64, 400,
        "DIGEST_INVALID"),
    # -- blobs and uploads -------------------------------------------------------------------------
    Bad("blob: fetched by a malformed digest", "registry", "GET", "/v2/acme/web/blobs/sha256:123", 400, "DIGEST_INVALID"),
    Bad("blob: fetched by an unsupported algorithm", "registry", "GET", "/v2/acme/web/blobs/md5:" + "a" * 32, 400,
        "DIGEST_INVALID"),
    Bad("blob: fetched but never pushed", "registry", "GET", f"/v2/acme/web/blobs/{MISSING}", 404, "BLOB_UNKNOWN"),
    Bad("blob: deleted directly", "registry", "DELETE", f"/v2/acme/web/blobs/{MISSING}", 405, "UNSUPPORTED"),
    Bad("monolithic upload: mismatched digest", "registry", "POST", f"/v2/acme/web/blobs/uploads/?digest={MISSING}",
        400, "DIGEST_INVALID", b"these bytes hash to something else"),
    Bad("monolithic upload: malformed digest", "registry", "POST", "/v2/acme/web/blobs/uploads/?digest=sha256:xyz", 400,
        "DIGEST_INVALID", b"bytes"),
    Bad("mount: malformed digest", "registry", "POST", "/v2/acme/web/blobs/uploads/?mount=sha256:&from=beta/api", 400,
        "DIGEST_INVALID"),
    Bad("chunk: Content-Range leaves a gap", "registry", "PATCH", "{upload}", 416, "BLOB_UPLOAD_INVALID", b"more",
        {"Content-Range": "10-13"}, upload="kept"),
    Bad("chunk: Content-Range overlaps what is uploaded", "registry", "PATCH", "{upload}", 416, "BLOB_UPLOAD_INVALID",
        b"more", {"Content-Range": "0-3"}, upload="kept"),
    Bad("chunk: Content-Range backwards", "registry", "PATCH", "{upload}", 416, "BLOB_UPLOAD_INVALID", b"more",
        {"Content-Range": "8-5"}, upload="kept"),
    Bad("chunk: Content-Range longer than the body", "registry", "PATCH", "{upload}", 416, "BLOB_UPLOAD_INVALID",
        b"more", {"Content-Range": "5-20"}, upload="kept"),
    Bad("chunk: Content-Range not a range", "registry", "PATCH", "{upload}", 416, "BLOB_UPLOAD_INVALID", b"more",
        {"Content-Range": "bytes five to eight"}, upload="kept"),
    Bad("chunk: an upload that does not exist", "registry", "PATCH", "/v2/acme/web/blobs/uploads/no-such-upload", 404,
        "BLOB_UPLOAD_UNKNOWN", b"more"),
    Bad("chunk: the upload through another repository", "registry", "PATCH", "{upload_via_api}", 404,
        "BLOB_UPLOAD_UNKNOWN", b"more", jwt="wide", upload="kept"),
    Bad("finish: no digest", "registry", "PUT", "{upload}", 400, "DIGEST_INVALID", upload="kept"),
    Bad("finish: malformed digest", "registry", "PUT", "{upload}?digest=sha256:nothex", 400, "DIGEST_INVALID",
        upload="kept"),
    Bad("finish: final chunk leaves a gap", "registry", "PUT", "{upload}?digest=" + MISSING, 416, "BLOB_UPLOAD_INVALID",
        b"tail", {"Content-Range": "9-12"}, upload="kept"),
    Bad("finish: the digest does not match", "registry", "PUT", "{upload}?digest=" + MISSING, 400, "DIGEST_INVALID",
        upload="ended"),
    # -- listing -----------------------------------------------------------------------------------
    Bad("tags: n is negative", "registry", "GET", "/v2/acme/web/tags/list?n=-1", 400, "PAGINATION_NUMBER_INVALID"),
    Bad("tags: n is not a number", "registry", "GET", "/v2/acme/web/tags/list?n=ten", 400, "PAGINATION_NUMBER_INVALID"),
    Bad("tags: n of 40 digits is capped, not an error", "registry", "GET", f"/v2/acme/web/tags/list?n={HUGE}", 200, None),
    Bad("catalog: n is negative", "registry", "GET", "/v2/_catalog?n=-5", 400, "PAGINATION_NUMBER_INVALID", jwt="catalog"),
    # -- names and paths ---------------------------------------------------------------------------
    # Auth comes first: a token for acme/web says nothing about a malformed name but 401.
    Bad("name: repository in capitals", "registry", "POST", "/v2/acme/Web/blobs/uploads/", 401, "UNAUTHORIZED"),
    Bad("name: repository of 300 characters", "registry", "GET", "/v2/acme/" + "r" * 300 + "/blobs/" + MISSING, 401,
        "UNAUTHORIZED"),
    Bad("name: '..' climbing to another registry", "registry", "GET", "/v2/acme/../beta/api/tags/list", 401,
        "UNAUTHORIZED", raw=True),
    Bad("name: '..' granted by a token", "registry", "GET", "/v2/acme/../beta/api/tags/list", 400, "NAME_INVALID",
        raw=True, jwt="dotdot"),
    Bad("name: encoded '..' and slashes", "registry", "GET", "/v2/acme%2F..%2Fbeta%2Fapi/tags/list", 401,
        "UNAUTHORIZED", raw=True),
    Bad("name: a registry that does not exist", "registry", "GET", "/v2/ghost/web/tags/list", 401, "UNAUTHORIZED"),
    # -- JWTs --------------------------------------------------------------------------------------
    Bad("jwt: none", "registry", "GET", "/v2/acme/web/tags/list", 401, "UNAUTHORIZED", jwt=None),
    Bad("jwt: forged signature", "registry", "GET", "/v2/acme/web/tags/list", 401, "UNAUTHORIZED", jwt="forged"),
    Bad("jwt: alg none", "registry", "GET", "/v2/acme/web/tags/list", 401, "UNAUTHORIZED", jwt="unsigned"),
    Bad("jwt: expired", "registry", "GET", "/v2/acme/web/tags/list", 401, "UNAUTHORIZED", jwt="expired"),
    Bad("jwt: for another registry host", "registry", "GET", "/v2/acme/web/tags/list", 401, "UNAUTHORIZED",
        jwt="other_host"),
    Bad("jwt: not a JWT", "registry", "GET", "/v2/acme/web/tags/list", 401, "UNAUTHORIZED", jwt="garbage"),
    Bad("jwt: Basic instead of Bearer", "registry", "GET", "/v2/acme/web/tags/list", 401, "UNAUTHORIZED", jwt=None,
        headers={"Authorization": "Basic ZG9wX3YxX2E6ZG9wX3YxX2E="}),
    Bad("jwt: another repository", "registry", "GET", "/v2/acme/other/tags/list", 401, "UNAUTHORIZED"),
    Bad("jwt: another registry, the credential reaching only acme", "registry", "GET", "/v2/beta/api/tags/list", 403,
        "DENIED", jwt="acme_only"),
    Bad("jwt: pull only, pushing a manifest", "registry", "PUT", "/v2/acme/web/manifests/v9", 401, "UNAUTHORIZED",
        lambda k: k["v1_raw"], {"Content-Type": OCI_MANIFEST}, jwt="pull"),
    Bad("jwt: pull only, starting an upload", "registry", "POST", "/v2/acme/web/blobs/uploads/", 401, "UNAUTHORIZED",
        jwt="pull"),
    Bad("jwt: pull only, deleting a manifest", "registry", "DELETE", "/v2/acme/web/manifests/{v1}", 401,
        "UNAUTHORIZED", jwt="pull"),
    Bad("jwt: pull only, continuing an upload", "registry", "PATCH", "{upload}", 401, "UNAUTHORIZED", b"more",
        jwt="pull", upload="kept"),
]

CATALOGUE = API + REGISTRY


@pytest.fixture(scope="module")
def live():
    instance = start_live()
    yield instance
    instance.http.close()
    instance.server.stop()


def _bearer(live, tokens: harness.Tokens, which: str | None) -> str | None:
    if which is None:
        return None
    if which == "garbage":
        return "not-a-jwt"
    if which == "catalog":
        return harness.token(live, "registry:catalog:*")
    if which == "dotdot":
        return harness.token(live, "repository:acme/../beta/api:pull")
    return getattr(tokens, which)


def _send(live, case: Bad, path: str, bearer: str | None, known: dict):
    body = case.body(known) if callable(case.body) else case.body
    headers = dict(case.headers)
    if isinstance(body, dict):
        body = json.dumps(body).encode()
        headers.setdefault("Content-Type", "application/json")
    if case.host == "api":
        base, client = live.api_url, live.http  # the API host's answers are checked against our OpenAPI
        if case.api_token is not None:
            headers.setdefault("Authorization", f"Bearer {case.api_token}")
    else:
        base, client = live.registry_url, requests
        if bearer is not None:
            headers.setdefault("Authorization", f"Bearer {bearer}")
    if case.raw:
        return harness.raw_request(base, case.method, path, body=body, headers=headers)
    if case.host == "api":
        client.headers.pop("Authorization", None)  # only what the case sends
    return client.request(case.method, base + path, data=body, headers=headers)


def _header(answer, name: str) -> str | None:
    return answer.headers.get(name) if not isinstance(answer, harness.RawAnswer) else answer.headers.get(name.lower())


def test_the_catalogue_has_at_least_60_cases_on_each_host_together():
    assert len(CATALOGUE) >= 60
    assert len({case.id for case in CATALOGUE}) == len(CATALOGUE)
    assert {case.host for case in CATALOGUE} == {"api", "registry"}


@pytest.mark.parametrize("case", CATALOGUE, ids=[f"{c.host}: {c.id}" for c in CATALOGUE])
def test_bad_input(live, case: Bad):
    harness.reset(live)
    tokens = harness.make_tokens(live)
    upload = harness.open_upload(live, tokens.push)
    known = {
        "upload": upload,
        "upload_via_api": upload.replace("/v2/acme/web/", "/v2/acme/api/"),
        "v1": live.sim.account.registry("acme").content.repositories["web"].tags["v1"].manifest_digest,
        "gc": harness.worlds.fuzz_world()[1]["garbage_collection_uuid"][0],
    }
    known["v1_raw"] = live.sim.account.registry("acme").content.blobs.data(known["v1"])
    path = case.path.format(**known)
    bearer = _bearer(live, tokens, case.jwt)
    before = harness.state(live)

    answer = _send(live, case, path, bearer, known)

    assert answer.status_code == case.status, answer.content[:300]
    if case.code is None:
        pass
    elif case.host == "api":
        error = answer.json()
        assert set(error) == {"id", "message", "request_id"}, error
        assert error["id"] == case.code, error
        assert error["message"]
        assert error["request_id"] == _header(answer, "x-request-id")
    else:
        envelope = answer.json()
        assert set(envelope) == {"errors"} and len(envelope["errors"]) == 1, envelope
        [error] = envelope["errors"]
        assert set(error) == {"code", "message", "detail"}, error
        assert error["code"] == case.code, error
        assert error["message"]
    after = harness.state(live)
    assert "id_position" in before  # the comparison covers the id stream too
    assert after == before
    if case.upload is not None:
        offset = harness.upload_offset(live, upload, tokens.push)
        expected = f"0-{len(harness.UPLOADED) - 1}" if case.upload == "kept" else None
        assert offset == expected
