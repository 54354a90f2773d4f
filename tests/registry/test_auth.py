"""The registry host's token auth: the ping, the token service, and the JWTs it issues."""

from __future__ import annotations

import jwt
import pytest
import requests

from docrsim.core.credentials import SCOPES, TokenPolicy
from docrsim.core.registry_auth import TOKEN_TTL
from tests.conftest import start_live
from tests.registry.support import (
    Client,
    Registry,
    account,
    challenge,
    claims,
    image_manifest,
    oci_error,
)

API_TOKEN = "dop_v1_docrsim-test"  # the DO API token the shared fixture's session sends
TTL = int(TOKEN_TTL.total_seconds())


def access(token: str) -> list[dict]:
    return claims(token)["access"]


# -- the ping ---------------------------------------------------------------------------------
def test_ping_without_a_token_is_challenged_towards_the_token_service(reg):
    answer = requests.get(reg.url("/v2/"))
    assert answer.status_code == 401
    assert oci_error(answer) == (401, "UNAUTHORIZED")
    assert answer.headers["Docker-Distribution-API-Version"] == "registry/2.0"
    params = challenge(answer)
    assert params["realm"] == reg.live.api_url + "/v2/registry/auth"
    assert params["service"] == reg.host
    assert "scope" not in params and "error" not in params


def test_ping_with_any_valid_token_answers_200(reg):
    token = reg.token(reg.credentials("acme", read_write=False))  # no scope asked: no access
    assert access(token) == []
    answer = requests.get(reg.url("/v2/"), headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200
    assert answer.headers["Docker-Distribution-API-Version"] == "registry/2.0"


def test_basic_auth_on_the_registry_host_is_challenged(reg):
    answer = requests.get(reg.url("/v2/"), auth=reg.credentials("acme"))
    assert answer.status_code == 401 and challenge(answer)["realm"].endswith("/v2/registry/auth")


@pytest.mark.parametrize("method, path, scope", [
    ("GET", "/v2/acme/web/tags/list", "repository:acme/web:pull"),
    ("GET", "/v2/acme/web/manifests/latest", "repository:acme/web:pull"),
    ("HEAD", "/v2/acme/web/blobs/sha256:" + "0" * 64, "repository:acme/web:pull"),
    ("POST", "/v2/acme/web/blobs/uploads/", "repository:acme/web:pull,push"),
    ("PUT", "/v2/acme/web/manifests/latest", "repository:acme/web:pull,push"),
    ("GET", "/v2/_catalog", "registry:catalog:*"),
])
def test_each_endpoint_challenges_for_the_scope_it_needs(reg, method, path, scope):
    answer = requests.request(method, reg.url(path))
    assert answer.status_code == 401
    params = challenge(answer)
    assert params["scope"] == scope and params["service"] == reg.host


# -- the token service ------------------------------------------------------------------------
def test_token_service_refuses_missing_or_wrong_basic_credentials(reg):
    user, secret = reg.credentials("acme")
    assert reg.token_answer(None, "repository:acme/web:pull").status_code == 401
    for wrong in [(user, "dop_v1_" + "0" * 64), ("someone@example.com", secret), (user, "")]:
        answer = reg.token_answer(wrong, "repository:acme/web:pull")
        assert answer.status_code == 401, wrong
        assert "token" not in answer.json()


def test_token_service_refuses_bearer_auth_and_other_services(reg):
    answer = requests.get(reg.live.url("/v2/registry/auth"), params={"scope": "repository:acme/web:pull"},
                          headers={"Authorization": f"Bearer {API_TOKEN}"})
    assert answer.status_code == 401
    user, secret = reg.credentials("acme")
    other = reg.token_answer((user, secret), "repository:acme/web:pull", service="registry.example.com")
    assert other.status_code == 400
    bad_scope = reg.token_answer((user, secret), "repository-acme-web")
    assert bad_scope.status_code == 400


def test_token_service_answers_post_with_405_so_containerd_falls_back_to_get(reg):
    # containerd first tries the OAuth2 POST form and retries with GET on a 404 or 405.
    user, secret = reg.credentials("acme")
    answer = requests.post(reg.live.url("/v2/registry/auth"),
                           data={"grant_type": "password", "username": user, "password": secret,
                                 "service": reg.host, "scope": "repository:acme/web:pull"})
    assert answer.status_code == 405


def test_token_body_carries_lifetime_and_issue_time(reg):
    answer = reg.token_answer(reg.credentials("acme"), "repository:acme/web:pull")
    body = answer.json()
    assert body["expires_in"] == TTL
    assert body["issued_at"] == "2026-01-01T00:00:00Z"
    payload = claims(body["token"])
    assert payload["aud"] == reg.host and payload["exp"] - payload["iat"] == TTL


def test_read_write_credentials_get_pull_and_push(reg):
    token = reg.token(reg.credentials("acme"), "repository:acme/web:pull,push")
    assert access(token) == [{"type": "repository", "name": "acme/web", "actions": ["pull", "push"]}]


def test_scopes_may_come_space_separated_in_one_parameter(reg):
    token = reg.token(reg.credentials("acme"), "repository:acme/web:pull repository:acme/api:pull,push")
    assert access(token) == [
        {"type": "repository", "name": "acme/web", "actions": ["pull"]},
        {"type": "repository", "name": "acme/api", "actions": ["pull", "push"]},
    ]


def test_read_only_credentials_get_pull_only_and_cannot_push(reg):
    creds = reg.credentials("acme", read_write=False)
    token = reg.token(creds, "repository:acme/web:pull,push")
    assert access(token) == [{"type": "repository", "name": "acme/web", "actions": ["pull"]}]
    client = Client(reg.live, "acme/web", token)
    answer = client.post("/blobs/uploads/")
    assert oci_error(answer) == (401, "UNAUTHORIZED")
    params = challenge(answer)
    assert params["error"] == "insufficient_scope"
    assert params["scope"] == "repository:acme/web:pull,push"
    # Pull-only is asked for alone too: nothing is refused, nothing is added.
    assert access(reg.token(creds, "repository:acme/web:push")) == []


def test_a_do_api_token_works_as_user_and_password(reg):
    token = reg.token((API_TOKEN, API_TOKEN), "repository:acme/web:pull,push", "repository:beta/app:pull")
    assert access(token) == [
        {"type": "repository", "name": "acme/web", "actions": ["pull", "push"]},
        {"type": "repository", "name": "beta/app", "actions": ["pull"]},
    ]
    web = Client(reg.live, "acme/web", token)
    web.push_image(image_manifest(b"{}", [b"layer"]), "v1")


def test_an_api_token_policy_decides_what_an_api_token_gets(world):
    policy = TokenPolicy({"dop_v1_reader": frozenset({"registry:read"}), "dop_v1_writer": frozenset(SCOPES)})
    reg = world(account("basic", {"name": "acme"}), tokens=policy)
    scope = "repository:acme/web:pull,push"
    assert access(reg.token(("dop_v1_writer", "dop_v1_writer"), scope))[0]["actions"] == ["pull", "push"]
    assert access(reg.token(("dop_v1_reader", "dop_v1_reader"), scope))[0]["actions"] == ["pull"]
    assert reg.token_answer(("dop_v1_unknown", "dop_v1_unknown"), scope).status_code == 401


def test_a_credential_with_an_expiry_stops_working_when_it_expires(reg):
    creds = reg.credentials("acme", expiry_seconds=60)
    reg.live.advance(59)
    assert reg.token_answer(creds, "repository:acme/web:pull").status_code == 200
    reg.live.advance(1)
    assert reg.token_answer(creds, "repository:acme/web:pull").status_code == 401
    # A credential without expiry still works long after.
    reg.live.advance(10 * 365 * 86400)
    assert reg.token_answer(reg.credentials("acme"), "repository:acme/web:pull").status_code == 200


def test_a_credential_for_one_registry_gets_nothing_on_another(reg):
    creds = reg.credentials("acme")
    token = reg.token(creds, "repository:beta/app:pull,push", "repository:acme/web:pull")
    assert access(token) == [{"type": "repository", "name": "acme/web", "actions": ["pull"]}]
    answer = Client(reg.live, "beta/app", token).get("/tags/list")
    assert oci_error(answer) == (403, "DENIED")
    nothing = reg.token(creds, "repository:beta/app:pull")
    assert access(nothing) == []
    answer = Client(reg.live, "beta/app", nothing).get("/tags/list")
    assert oci_error(answer) == (403, "DENIED")


def test_a_token_lacking_a_registry_its_credential_reaches_is_challenged_not_denied(reg):
    # A DO API token reaches every registry: a JWT asked for acme alone, or for the catalog
    # alone, is answered on beta with a challenge, so the client fetches a fitting token.
    for scope in ("repository:acme/web:pull", "registry:catalog:*"):
        token = reg.token((API_TOKEN, API_TOKEN), scope)
        answer = Client(reg.live, "beta/app", token).get("/tags/list")
        assert oci_error(answer) == (401, "UNAUTHORIZED"), scope
        assert challenge(answer)["error"] == "insufficient_scope"
        assert challenge(answer)["scope"] == "repository:beta/app:pull"


def test_the_catalog_lists_only_what_the_credential_may_see(reg):
    reg.client("acme/web").push_image(image_manifest(b"{}", [b"a"]), "v1")
    reg.client("beta/app").push_image(image_manifest(b"{}", [b"b"]), "v1")
    everything = reg.token((API_TOKEN, API_TOKEN), "registry:catalog:*")
    answer = requests.get(reg.url("/v2/_catalog"), headers={"Authorization": f"Bearer {everything}"})
    assert answer.json()["repositories"] == ["acme/web", "beta/app"]
    only_acme = reg.token(reg.credentials("acme", read_write=False), "registry:catalog:*")
    answer = requests.get(reg.url("/v2/_catalog"), headers={"Authorization": f"Bearer {only_acme}"})
    assert answer.status_code == 200
    assert answer.json()["repositories"] == ["acme/web"]


# -- checking the JWT -------------------------------------------------------------------------
def test_jwt_expiry_follows_the_simulated_clock(reg):
    web = reg.client("acme/web", "pull")
    reg.live.advance(TTL - 1)
    assert web.get("/v2/").status_code == 200
    reg.live.advance(1)
    answer = web.get("/v2/")
    assert oci_error(answer) == (401, "UNAUTHORIZED")
    assert challenge(answer)["error"] == "invalid_token"
    assert web.get("/tags/list").status_code == 401


def test_a_forged_jwt_is_refused(reg):
    genuine = reg.token(reg.credentials("acme"), "repository:acme/web:pull,push")
    payload = claims(genuine)
    for forged in (
        jwt.encode(payload, b"not docrsim's key but long enough for hs256", algorithm="HS256"),
        jwt.encode(payload, None, algorithm="none"),
        genuine[:-4] + ("AAAA" if not genuine.endswith("AAAA") else "BBBB"),
        "not-a-jwt",
    ):
        answer = Client(reg.live, "acme/web", forged).get("/tags/list")
        assert oci_error(answer) == (401, "UNAUTHORIZED"), forged
        assert challenge(answer)["error"] == "invalid_token"


@pytest.mark.parametrize("change", [
    {"exp": 10 ** 20}, {"exp": "tomorrow"}, {"exp": True}, {"nbf": -(10 ** 20)},
    {"access": [{"type": "repository", "name": "acme/web", "actions": "pull"}]},
    {"access": [{"type": "repository", "name": "acme/web", "actions": [1]}]},
], ids=["exp-out-of-range", "exp-a-string", "exp-a-boolean", "nbf-out-of-range", "actions-a-string",
        "actions-not-strings"])
def test_a_signed_jwt_with_malformed_claims_is_refused(reg, change):
    genuine = reg.token(reg.credentials("acme"), "repository:acme/web:pull,push")
    signed = jwt.encode({**claims(genuine), **change}, reg.live.sim.registry_tokens._key, algorithm="HS256")
    answer = Client(reg.live, "acme/web", signed).get("/tags/list")
    assert oci_error(answer) == (401, "UNAUTHORIZED")
    assert challenge(answer)["error"] == "invalid_token"


def test_a_jwt_for_another_registry_host_is_refused():
    # Two docrsims with the same seed sign with the same key; only the audience differs.
    doc = account("basic", {"name": "acme"})
    first, second = start_live([doc]), start_live([doc])
    try:
        a, b = Registry(first), Registry(second)
        token = a.token(a.credentials("acme"), "repository:acme/web:pull")
        assert Client(first, "acme/web", token).get("/v2/").status_code == 200
        answer = Client(second, "acme/web", token).get("/v2/")
        assert oci_error(answer) == (401, "UNAUTHORIZED")
        assert b.token_answer(b.credentials("acme"), "repository:acme/web:pull").status_code == 200
    finally:
        for live in (first, second):
            live.http.close()
            live.server.stop()


def test_a_token_scoped_to_one_repository_cannot_push_to_another(reg):
    web = reg.client("acme/web")
    api = Client(reg.live, "acme/api", web.http.headers["Authorization"].split()[1])
    answer = api.post("/blobs/uploads/")
    assert oci_error(answer) == (401, "UNAUTHORIZED")
    assert challenge(answer) == {
        "realm": reg.live.api_url + "/v2/registry/auth", "service": reg.host,
        "scope": "repository:acme/api:pull,push", "error": "insufficient_scope",
    }


def test_manifest_push_without_push_scope_is_insufficient_scope(reg):
    image = image_manifest(b"{}", [b"layer"])
    reg.client("acme/web").push_image(image, "v1")
    reader = reg.client("acme/web", "pull")
    answer = reader.push_manifest(image.raw, "v2", image.media_type)
    assert oci_error(answer) == (401, "UNAUTHORIZED")
    assert challenge(answer)["error"] == "insufficient_scope"
    assert reader.get("/manifests/v1").status_code == 200
    assert reader.get("/manifests/v2").status_code == 404


# -- garbage collection holds the registry read-only ------------------------------------------
def start_gc(reg, registry="acme"):
    answer = reg.live.http.post(reg.live.url(f"/v2/registries/{registry}/garbage-collection"))
    assert answer.status_code == 201, answer.text
    return answer.json()["garbage_collection"]


def test_during_gc_push_is_withheld_but_earlier_push_tokens_work_until_they_expire(reg):
    creds = reg.credentials("acme")
    before = reg.client("acme/web", auth=creds)  # a push token issued before the run
    reg.live.advance(60)
    run = start_gc(reg)
    assert run["status"] == "requested"
    assert reg.api("/v2/registries/acme")["registry"]["read_only"] is True

    during = reg.token(creds, "repository:acme/web:pull,push")
    assert access(during) == [{"type": "repository", "name": "acme/web", "actions": ["pull"]}]
    refused = Client(reg.live, "acme/web", during).post("/blobs/uploads/")
    assert refused.status_code == 401 and challenge(refused)["error"] == "insufficient_scope"
    # Another registry of the account is not read-only.
    assert access(reg.token(reg.credentials("beta"), "repository:beta/app:push")) == [
        {"type": "repository", "name": "beta/app", "actions": ["push"]}]

    reg.live.advance(TTL - 61)  # one second before the early token expires
    image = image_manifest(b"{}", [b"pushed during the drain"])
    before.push_image(image, "v1")
    assert reg.api("/v2/registries/acme/garbage-collection")["garbage_collection"]["status"] == \
        "waiting for write JWTs to expire"
    reg.live.advance(1)
    answer = before.post("/blobs/uploads/")
    assert oci_error(answer) == (401, "UNAUTHORIZED")
    assert challenge(answer)["error"] == "invalid_token"

    assert reg.live.http.post(reg.live.url("/_docrsim/clock"), json={"until_idle": True}).status_code == 200
    assert reg.api("/v2/registries/acme")["registry"]["read_only"] is False
    after = reg.token(creds, "repository:acme/web:pull,push")
    assert access(after)[0]["actions"] == ["pull", "push"]
    # What the early token pushed is tagged, so the run kept it.
    assert Client(reg.live, "acme/web", after).get("/manifests/v1").status_code == 200


# -- auth comes first -------------------------------------------------------------------------
BAD_NAME = "acme/Not..Valid"
BAD_DIGEST = "sha256:not-hex"
EVERY_ROUTE_WITH_BAD_INPUT = [
    ("GET", f"/v2/{BAD_NAME}/blobs/{BAD_DIGEST}"),
    ("HEAD", f"/v2/{BAD_NAME}/blobs/{BAD_DIGEST}"),
    ("DELETE", f"/v2/{BAD_NAME}/blobs/{BAD_DIGEST}"),
    ("POST", f"/v2/{BAD_NAME}/blobs/uploads/?mount={BAD_DIGEST}&from=acme/Other"),
    ("POST", f"/v2/{BAD_NAME}/blobs/uploads/?digest={BAD_DIGEST}"),
    ("PATCH", f"/v2/{BAD_NAME}/blobs/uploads/no-such-upload"),
    ("PUT", f"/v2/{BAD_NAME}/blobs/uploads/no-such-upload?digest={BAD_DIGEST}"),
    ("GET", f"/v2/{BAD_NAME}/blobs/uploads/no-such-upload"),
    ("DELETE", f"/v2/{BAD_NAME}/blobs/uploads/no-such-upload"),
    ("GET", f"/v2/{BAD_NAME}/manifests/{BAD_DIGEST}"),
    ("HEAD", f"/v2/{BAD_NAME}/manifests/-bad-tag"),
    ("PUT", f"/v2/{BAD_NAME}/manifests/-bad-tag"),
    ("PUT", f"/v2/{BAD_NAME}/manifests/{BAD_DIGEST}"),
    ("DELETE", f"/v2/{BAD_NAME}/manifests/{BAD_DIGEST}"),
    ("GET", f"/v2/{BAD_NAME}/referrers/{BAD_DIGEST}"),
    ("GET", f"/v2/{BAD_NAME}/tags/list?n=ten"),
    ("GET", "/v2/_catalog?n=ten"),
]


@pytest.mark.parametrize("method, path", EVERY_ROUTE_WITH_BAD_INPUT)
def test_without_a_token_every_route_answers_401_before_judging_names_tags_or_digests(reg, method, path):
    # As distribution does: a client without a token learns nothing about what it sent.
    answer = requests.request(method, reg.url(path), data=b"{}" * 10, headers={"Content-Type": "application/json"})
    assert answer.status_code == 401
    assert "realm" in challenge(answer)
    if method != "HEAD":
        assert oci_error(answer) == (401, "UNAUTHORIZED")


def test_an_oversized_manifest_without_a_token_is_401_not_413(reg):
    answer = requests.put(reg.url("/v2/acme/web/manifests/v1"), data=b" " * (5 * 1024 * 1024),
                          headers={"Content-Type": "application/vnd.oci.image.manifest.v1+json"})
    assert oci_error(answer) == (401, "UNAUTHORIZED")
