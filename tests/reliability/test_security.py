"""Security properties, over every route the two apps serve (taken from their URL maps, so a
new route is covered, or fails here until it is classified):

- every DO API operation needs a token (401 without, 401 for one a ``--tokens`` policy does
  not list) and each of its scopes (403 for a listed token lacking one), refusing with the
  world unchanged;
- every registry host route needs a JWT for this registry host, granting the action on the
  repository (or catalog) named in the path; a JWT for another repository is challenged, one
  whose credential cannot reach the path's registry is DENIED;
- no name in a path escapes its registry;
- both hosts bind 127.0.0.1 unless told otherwise;
- request bodies have limits (413, in each host's error format), and blob uploads do not.
"""

from __future__ import annotations

import re

import pytest
import requests

from docrsim.core.credentials import SCOPES, TokenPolicy
from docrsim.core.state import Simulation
from docrsim.http.api_app import create_api_app
from docrsim.http.doapi import OPERATIONS
from docrsim.http.limits import JSON_BODY_LIMIT, MANIFEST_BODY_LIMIT, SCENARIO_BODY_LIMIT, STATE_BODY_LIMIT
from docrsim.http.observe import OCI_OPERATION_IDS
from docrsim.http.registry import create_registry_app
from docrsim.server import Server
from tests import spec_conformance
from tests.conftest import start_live
from tests.registry.support import challenge, sha256
from tests.reliability import harness, worlds
from tests.served import ServedProcess

FULL = "dop_v1_full"
STRANGER = "dop_v1_stranger"


def without(scope: str) -> str:
    return f"dop_v1_without_{scope.split(':')[1]}"


POLICY = TokenPolicy({FULL: frozenset(SCOPES), harness.API_TOKEN: frozenset(SCOPES),
                      **{without(s): frozenset(SCOPES) - {s} for s in SCOPES}})


@pytest.fixture(scope="module")
def live():
    """The fuzzing world behind a token policy."""
    instance = start_live(tokens=POLICY)
    yield instance
    instance.http.close()
    instance.server.stop()


def _fill(rule: str, values: dict[str, str]) -> str:
    return re.sub(r"<(?:\w+:)?(\w+)>", lambda m: values[m.group(1)], rule)


def _path_values(live) -> dict[str, str]:
    known = worlds.fuzz_world()[1]
    web = live.sim.account.registry("acme").content.repositories["web"]
    return {"registry_name": "acme", "repository_name": "web", "repository_tag": "v1",
            "manifest_digest": web.tags["v1"].manifest_digest,
            "garbage_collection_uuid": known["garbage_collection_uuid"][0]}


# -- the API host ---------------------------------------------------------------------------------
# Routes of the API host that take no DO API token, and why.
UNAUTHENTICATED = {
    "/v2/registry/auth": "the token service: HTTP Basic credentials, checked by the catalogue's token cases",
    "/openapi.json": "the public description of the API",
    "/": "the control panel's page, docrsim's own UI over the control API",
}
CONTROL_PREFIX = "/_docrsim/"  # the test-only control API, documented as needing no token


def test_every_api_host_route_is_a_do_operation_or_a_known_exception():
    app = create_api_app(Simulation())
    declared = {(op.method, op.rule) for op in OPERATIONS}
    for rule in app.url_map.iter_rules():
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            if (method, rule.rule) in declared:
                continue
            assert rule.rule in UNAUTHENTICATED or rule.rule.startswith(CONTROL_PREFIX), (method, rule.rule)


def test_neither_host_serves_files_of_the_working_directory(tmp_path, monkeypatch):
    (tmp_path / "static").mkdir()
    (tmp_path / "static" / "secret.txt").write_text("not for the network")
    monkeypatch.chdir(tmp_path)
    for app in (create_api_app(Simulation()), create_registry_app(Simulation())):
        assert "static" not in {rule.endpoint for rule in app.url_map.iter_rules()}
        assert app.test_client().get("/static/secret.txt").status_code == 404


DO_IDS = [op.operation_id for op in OPERATIONS]


@pytest.mark.parametrize("op", OPERATIONS, ids=DO_IDS)
def test_every_do_operation_needs_a_token_and_its_scopes(live, op):
    harness.reset(live)
    path = _fill(op.rule, _path_values(live))
    # docker-credentials asks for registry:update only when read_write is true.
    query = "?read_write=true" if "docker-credentials" in op.rule else ""
    url = live.url(path + query)
    live.http.headers.pop("Authorization", None)
    before = harness.state(live)
    body = b"{}" if op.method in ("POST", "PUT") else None

    for headers in ({}, {"Authorization": f"Bearer {STRANGER}"}, {"Authorization": "Basic ZG9wX3YxX2Z1bGw6eA=="}):
        answer = live.http.request(op.method, url, headers=headers, data=body)
        assert answer.status_code == 401 and answer.json()["id"] == "unauthorized", (headers, answer.text)
    required = set(op.scopes) | ({"registry:update"} if query else set())
    for scope in sorted(required):
        answer = live.http.request(op.method, url, data=body,
                                   headers={"Authorization": f"Bearer {without(scope)}"})
        assert answer.status_code == 403, answer.text
        assert answer.json()["id"] == "forbidden" and scope in answer.json()["message"]
    assert harness.state(live) == before

    # The refusals are about the token: with every scope the same request gets past them.
    answer = live.http.request(op.method, url, data=body, headers={"Authorization": f"Bearer {FULL}"})
    assert answer.status_code not in (401, 403), answer.text


REPOSITORY_OPS = [op for op in OPERATIONS if "repository_name" in op.rule]


@pytest.mark.parametrize("op", REPOSITORY_OPS, ids=[op.operation_id for op in REPOSITORY_OPS])
@pytest.mark.parametrize("repository", [
    "..%2Fbeta%2Fapi", "%2E%2E%2Fapi", "../api", "web%2F..%2F..%2Fbeta%2Fapi",
    # Normalised as a path, these would name /v2/registr{y,ies}/beta/repositories/api/...
    "..%2F..%2Fbeta%2Frepositories%2Fapi", "../../beta/repositories/api", "%2E%2E/%2E%2E/beta/repositories/api",
])
def test_no_repository_name_reaches_another_registry(live, op, repository):
    """beta holds a repository ``api`` with tag 1.0; acme does not. Whatever the spelling, a
    name under acme never reaches it (raw requests: '..' goes out as written)."""
    harness.reset(live)
    values = {**_path_values(live), "repository_name": repository, "repository_tag": "1.0"}
    path = _fill(op.rule, values)
    before = harness.state(live)
    answer = harness.raw_request(live.api_url, op.method, path, headers={"Authorization": f"Bearer {FULL}"})
    assert answer.status_code == 404, (path, answer.content[:200])
    assert answer.json()["id"] == "not_found"
    assert harness.state(live) == before


def test_do_operations_with_a_body_limit_it(live):
    """Every operation documented with a request body refuses one over its limit with 413."""
    limits = {"control_reset": STATE_BODY_LIMIT, "control_load_fixture": SCENARIO_BODY_LIMIT}
    harness.reset(live)
    values = _path_values(live)
    checked = 0
    for template, item in spec_conformance.document()["paths"].items():
        for method, operation in item.items():
            if not isinstance(operation, dict) or "requestBody" not in operation:
                continue
            path = re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], template)
            limit = limits.get(operation["operationId"], JSON_BODY_LIMIT)
            harness.reset(live)
            before = harness.state(live)
            # Announced by Content-Length: refused before anything is read.
            announced = harness.raw_request(
                live.api_url, method.upper(), path, body=b"{}",
                headers={"Authorization": f"Bearer {FULL}", "Content-Type": "application/json",
                         "Content-Length": str(limit + 1)})
            assert announced.status_code == 413, (method, template)
            assert announced.json()["id"] == "request_too_large" and str(limit) in announced.json()["message"]
            if limit == JSON_BODY_LIMIT:  # small enough to send for real, with and without a length
                padded = b'{"pad": "' + b"x" * limit + b'"}'
                for data in (padded, iter([padded[:limit // 2], padded[limit // 2:]])):
                    sent = live.http.request(method.upper(), live.url(path), data=data,
                                             headers={"Authorization": f"Bearer {FULL}",
                                                      "Content-Type": "application/json"})
                    assert sent.status_code == 413, (method, template, sent.text[:200])
            assert harness.state(live) == before
            checked += 1
    assert checked >= 16


# -- the registry host ------------------------------------------------------------------------------
# What each registry host route needs: (path under /v2, the scope its challenge names).
UPLOAD = "/v2/{name}/blobs/uploads/{uuid}"
REGISTRY_ROUTES = {
    "oci_version_check": ("/v2/", None),
    "oci_catalog": ("/v2/_catalog", "registry:catalog:*"),
    "oci_tags_list": ("/v2/{name}/tags/list", "pull"),
    "oci_blob_get": ("/v2/{name}/blobs/{blob}", "pull"),
    "oci_blob_head": ("/v2/{name}/blobs/{blob}", "pull"),
    "oci_blob_delete": ("/v2/{name}/blobs/{blob}", "pull,push"),
    "oci_blob_upload": ("/v2/{name}/blobs/uploads/", "pull,push"),
    "oci_blob_upload_chunk": (UPLOAD, "pull,push"),
    "oci_blob_upload_finish": (UPLOAD, "pull,push"),
    "oci_blob_upload_status": (UPLOAD, "pull,push"),
    "oci_blob_upload_cancel": (UPLOAD, "pull,push"),
    "oci_manifest_get": ("/v2/{name}/manifests/v1", "pull"),
    "oci_manifest_head": ("/v2/{name}/manifests/v1", "pull"),
    "oci_manifest_put": ("/v2/{name}/manifests/v1", "pull,push"),
    "oci_manifest_delete": ("/v2/{name}/manifests/v1", "delete"),
    "oci_referrers": ("/v2/{name}/referrers/{blob}", "pull"),
}


def registry_routes() -> list[tuple[str, str]]:
    """(operation id, method) of every route the registry host serves, from its URL map."""
    app = create_registry_app(Simulation())
    routes = []
    for rule in app.url_map.iter_rules():
        for method in sorted(rule.methods - {"OPTIONS"}):
            found = OCI_OPERATION_IDS.get((rule.endpoint, method))
            if found is None and method == "HEAD":
                continue  # Flask's automatic HEAD of a GET route: the GET's own id covers it
            assert found is not None, (rule.rule, method)
            routes.append((found, method))
    return routes


ROUTES = registry_routes()


def test_every_registry_route_is_classified():
    assert {op for op, _ in ROUTES} == set(REGISTRY_ROUTES)


def _request(live, method, path, bearer=None):
    headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
    body = b"{}" if method in ("PUT", "PATCH", "POST") else None
    return requests.request(method, live.registry_url + path, headers=headers, data=body)


def _error_code(answer) -> str:
    return answer.json()["errors"][0]["code"]


@pytest.mark.parametrize("op, method", ROUTES, ids=[f"{op} {method}" for op, method in ROUTES])
def test_every_registry_route_needs_a_fitting_jwt(live, op, method):
    harness.reset(live)
    template, scope = REGISTRY_ROUTES[op]
    tokens = harness.make_tokens(live)
    upload = harness.open_upload(live, tokens.push)
    values = {"name": "acme/web", "blob": sha256(b"some blob"), "uuid": upload.rsplit("/", 1)[1]}
    path = template.format(**values)
    # Scope-less: the challenge carries no scope; catalog: its own scope.
    want = None if scope is None else scope if scope.startswith("registry:") else f"repository:acme/web:{scope}"
    stranger = harness.token(live, "repository:acme/other:pull,push,delete")
    nothing = harness.token(live)  # a valid JWT granting nothing
    before = harness.state(live)

    for bearer, error in ((None, None), ("not-a-jwt", "invalid_token"), (tokens.expired, "invalid_token"),
                          (tokens.other_host, "invalid_token"), (tokens.forged, "invalid_token")):
        answer = _request(live, method, path, bearer)
        assert answer.status_code == 401, (bearer, answer.text)
        if method != "HEAD":
            assert _error_code(answer) == "UNAUTHORIZED"
        params = challenge(answer)
        assert params.get("scope") == want and params.get("error") == error, params
    if scope is not None:
        for bearer in (stranger, nothing) + ((tokens.pull,) if scope != "pull" else ()):
            if scope.startswith("registry:") and bearer is not nothing:
                continue  # repository grants say nothing about the catalog
            answer = _request(live, method, path, bearer)
            assert answer.status_code == 401, answer.text
            params = challenge(answer)
            assert params["scope"] == want and params["error"] == "insufficient_scope", params
    assert harness.state(live) == before
    assert harness.upload_offset(live, upload, tokens.push) == f"0-{len(harness.UPLOADED) - 1}"

    # A fitting token gets past the check.
    fitting = harness.token(live, "registry:catalog:*", "repository:acme/web:pull,push,delete")
    answer = _request(live, method, path, fitting)
    assert answer.status_code not in (401, 403), answer.text


@pytest.mark.parametrize("op, method", [r for r in ROUTES if "{name}" in REGISTRY_ROUTES[r[0]][0]],
                         ids=[f"{op} {method}" for op, method in ROUTES if "{name}" in REGISTRY_ROUTES[op][0]])
@pytest.mark.parametrize("name, denied", [
    ("beta/api", True),  # another registry, named plainly
    ("acme/../beta/api", False),  # climbing out of acme
    ("acme%2F..%2Fbeta%2Fapi", False),  # the same, encoded
    ("acme/web/../../beta/api", False),
])
def test_no_path_reaches_another_registry(live, op, method, name, denied):
    """A JWT from a credential that serves acme only (acme/web, everything it may have) never
    reaches beta through any route, however the name is written."""
    harness.reset(live)
    bearer = harness.token(live, "repository:acme/web:pull,push,delete", "repository:beta/api:pull,push,delete",
                           auth=harness.acme_credential(live))
    template = REGISTRY_ROUTES[op][0]
    path = template.format(name=name, blob=sha256(b"beta api layer"), uuid="an-upload")
    before = harness.state(live)
    answer = harness.raw_request(live.registry_url, method, path, body=b"{}" if method in ("PUT", "POST") else None,
                                 headers={"Authorization": f"Bearer {bearer}"})
    assert answer.status_code in ((403,) if denied else (400, 401)), (answer.status_code, answer.content[:200])
    if method != "HEAD":
        assert answer.json()["errors"][0]["code"] in ("DENIED", "UNAUTHORIZED", "NAME_INVALID")
    assert harness.state(live) == before


# -- where the hosts listen ---------------------------------------------------------------------------
def _refused(host: str, port: int) -> bool:
    import socket

    try:
        socket.create_connection((host, port), timeout=2).close()
    except OSError:
        return True
    return False


def _port(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


def test_serve_binds_loopback_only_unless_told_otherwise():
    served = ServedProcess()
    try:
        urls = served.wait_ready()
        for url in urls.values():
            assert url.startswith("http://127.0.0.1:"), urls
            # Bound to 127.0.0.1 itself, not to every address: another loopback address is refused.
            assert not _refused("127.0.0.1", _port(url)) and _refused("127.0.0.2", _port(url))
    finally:
        served.kill()
    told = ServedProcess("--host", "127.0.0.2")
    try:
        urls = told.wait_ready()
        for url in urls.values():
            assert url.startswith("http://127.0.0.2:"), urls
            assert not _refused("127.0.0.2", _port(url)) and _refused("127.0.0.1", _port(url))
    finally:
        told.kill()


def test_the_in_process_server_binds_loopback_by_default():
    server = Server(Simulation(), api_port=0, registry_port=0).start()
    try:
        for url in (server.api_url, server.registry_url):
            assert url.startswith("http://127.0.0.1:")
            assert _refused("127.0.0.2", _port(url))
    finally:
        server.stop()


# -- bodies on the registry host --------------------------------------------------------------------
def test_manifests_are_limited_but_blob_uploads_are_not(live):
    harness.reset(live)
    bearer = harness.token(live, "repository:acme/big:pull,push")
    headers = {"Authorization": f"Bearer {bearer}"}
    big = bytes(range(256)) * (20 * 1024 * 1024 // 256)  # 20 MiB: over every body limit there is
    assert len(big) > max(MANIFEST_BODY_LIMIT, JSON_BODY_LIMIT, SCENARIO_BODY_LIMIT)

    monolithic = requests.post(live.registry_url + "/v2/acme/big/blobs/uploads/", params={"digest": sha256(big)},
                               data=big, headers={**headers, "Content-Type": "application/octet-stream"})
    assert monolithic.status_code == 201, monolithic.text

    other = big[::-1]
    started = requests.post(live.registry_url + "/v2/acme/big/blobs/uploads/", headers=headers)
    location = started.headers["Location"]
    half = len(other) // 2
    first = requests.patch(live.registry_url + location, data=iter([other[:half]]), headers=headers)  # chunked
    assert first.status_code == 202, first.text
    last = requests.put(live.registry_url + location, params={"digest": sha256(other)}, data=other[half:],
                        headers={**headers, "Content-Range": f"{half}-{len(other) - 1}"})
    assert last.status_code == 201, last.text
    blobs = {b["digest"] for r in harness.state(live)["registries"] if r["name"] == "acme" for b in r["blobs"]}
    assert {sha256(big), sha256(other)} <= blobs

    manifest = b'{"schemaVersion": 2, "pad": "' + b"x" * MANIFEST_BODY_LIMIT + b'"}'
    answer = requests.put(live.registry_url + "/v2/acme/big/manifests/v1", data=manifest,
                          headers={**headers, "Content-Type": "application/vnd.oci.image.manifest.v1+json"})
    assert answer.status_code == 413 and _error_code(answer) == "SIZE_INVALID"
