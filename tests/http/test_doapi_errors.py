"""The error catalogue of the DO API: each mistake gets its documented status and DO body."""

from __future__ import annotations

import pytest

from docrsim.core.credentials import TokenPolicy
from tests.conftest import start_live

GOOD_DIGEST = "sha256:" + "a" * 64

# (method, path, body or raw text, status, error id, words the message must contain)
CATALOGUE = [
    ("POST", "/v2/registries", "{not json", 400, "bad_request", "error parsing request body"),
    ("POST", "/v2/registries", "[1, 2]", 400, "bad_request", "JSON object"),
    ("POST", "/v2/registries", "", 400, "bad_request", "empty"),
    ("POST", "/v2/registries", {"name": 7}, 422, "unprocessable_entity", "name must be a string"),
    ("POST", "/v2/registries", {"name": "ok-name", "colour": "red"}, 422, "unprocessable_entity", "unknown field: colour"),
    ("POST", "/v2/registries", {"name": "ok-name", "region": "mars1"}, 422, "unprocessable_entity", "mars1"),
    ("POST", "/v2/registries", {"name": "ok-name", "subscription_tier_slug": "gold"}, 422, "unprocessable_entity", "gold"),
    ("POST", "/v2/registries", {}, 422, "unprocessable_entity", "name is required"),
    ("POST", "/v2/registries/validate-name", {"name": None}, 422, "unprocessable_entity", "name must be a string"),
    ("POST", "/v2/registries/subscription", {"tier_slug": "gold"}, 422, "unprocessable_entity", "gold"),
    ("POST", "/v2/registries/subscription", {"tier_slug": True}, 422, "unprocessable_entity", "tier_slug must be a string"),
    ("GET", "/v2/registries/acme/repositoriesV2?per_page=0", None, 422, "unprocessable_entity", "per_page must be at least 1"),
    ("GET", "/v2/registries/acme/repositoriesV2?per_page=201", None, 422, "unprocessable_entity", "per_page must be at most 200"),
    ("GET", "/v2/registries/acme/repositoriesV2?page=-1", None, 422, "unprocessable_entity", "page must be at least 1"),
    ("GET", "/v2/registries/acme/repositoriesV2?page=two", None, 422, "unprocessable_entity", "page must be an integer"),
    ("GET", "/v2/registries/acme/repositoriesV2?page_token=%25%25", None, 400, "bad_request", "page_token"),
    ("GET", "/v2/registries/acme/repositories/web/tags?per_page=1000", None, 422, "unprocessable_entity", "per_page"),
    ("GET", "/v2/registries/nope", None, 404, "not_found", "nope"),
    ("GET", "/v2/registries/nope/repositoriesV2", None, 404, "not_found", "nope"),
    ("GET", "/v2/registries/acme/repositories/ghost/tags", None, 404, "not_found", "ghost"),
    ("GET", "/v2/registry/acme/repositories/ghost/digests", None, 404, "not_found", "ghost"),
    ("DELETE", "/v2/registries/acme/repositories/web/tags/never", None, 404, "not_found", "never"),
    ("DELETE", f"/v2/registries/acme/repositories/web/digests/{GOOD_DIGEST}", None, 404, "not_found", GOOD_DIGEST),
    ("DELETE", "/v2/registries/acme/repositories/web/digests/sha256:short", None, 422, "unprocessable_entity", "digest"),
    ("DELETE", "/v2/registries/acme/repositories/web/digests/md5:abc", None, 422, "unprocessable_entity", "md5"),
    ("DELETE", "/v2/registries/acme/repositories/ghost", None, 404, "not_found", "ghost"),
    ("GET", "/v2/registries/acme/docker-credentials?expiry_seconds=soon", None, 422, "unprocessable_entity", "expiry_seconds"),
    ("POST", "/v2/registries/validate-name", {"name": "acme"}, 409, "conflict", "taken"),
]


@pytest.fixture
def app(scenario):
    return scenario("small-app")


@pytest.mark.parametrize("method, path, body, status, error_id, words", CATALOGUE,
                         ids=[f"{c[0]} {c[1]} {c[3]}" for c in CATALOGUE])
def test_error_catalogue(app, method, path, body, status, error_id, words):
    before = app.sim.export_state()
    if isinstance(body, str):
        answer = app.http.request(method, app.url(path), data=body, headers={"Content-Type": "application/json"})
    else:
        answer = app.http.request(method, app.url(path), json=body)
    assert answer.status_code == status, answer.text
    error = answer.json()
    assert error["id"] == error_id
    assert words in error["message"]
    assert error["request_id"] == answer.headers["x-request-id"]
    assert app.sim.export_state() == before  # a refused request changes nothing


def test_missing_or_malformed_token_is_401(app):
    for header in ({}, {"Authorization": ""}, {"Authorization": "Basic abc"}, {"Authorization": "Bearer "}):
        app.http.headers.pop("Authorization", None)
        answer = app.http.get(app.url("/v2/registries"), headers=header)
        assert answer.status_code == 401
        assert answer.json() == {"id": "unauthorized", "message": "Unable to authenticate you.",
                                 "request_id": answer.headers["x-request-id"]}


@pytest.mark.parametrize(
    "method, path, scope",
    [
        ("GET", "/v2/registries", "registry:read"),
        ("POST", "/v2/registries/validate-name", "registry:create"),
        ("POST", "/v2/registries/subscription", "registry:update"),
        ("POST", "/v2/registries/acme/garbage-collection", "registry:update"),
        ("DELETE", "/v2/registries/acme/repositories/web/tags/v1", "registry:delete"),
        ("DELETE", "/v2/registry", "registry:delete"),
    ],
)
def test_a_token_without_the_scope_is_403(method, path, scope):
    from tests.conftest import FIXTURES
    from docrsim.scenarios import read_file

    everything = {"registry:read", "registry:create", "registry:update", "registry:delete"}
    policy = TokenPolicy({"limited": frozenset(everything - {scope}), "full": frozenset(everything)})
    live = start_live([read_file(FIXTURES / "small-app.yaml")], tokens=policy)
    try:
        live.http.headers["Authorization"] = "Bearer limited"
        before = live.sim.export_state()
        answer = live.http.request(method, live.url(path), json={"name": "free-name", "tier_slug": "basic"})
        assert answer.status_code == 403 and answer.json()["id"] == "forbidden"
        assert scope in answer.json()["message"]
        assert live.sim.export_state() == before
        live.http.headers["Authorization"] = "Bearer stranger"
        assert live.http.request(method, live.url(path)).status_code == 401
    finally:
        live.server.stop()


def test_unknown_route_and_wrong_method(app):
    unknown = app.http.get(app.url("/v2/registries/acme/nothing-here"))
    assert unknown.status_code == 404 and unknown.json()["id"] == "not_found"
    wrong = app.http.put(app.url("/v2/registries"))
    assert wrong.status_code == 405
    assert set(wrong.headers["Allow"].replace(" ", "").split(",")) >= {"GET", "POST"}
    assert wrong.json()["id"] == "method_not_allowed"


def test_every_response_carries_rate_limit_headers(app):
    first = app.http.get(app.url("/v2/registries"))
    second = app.http.get(app.url("/v2/registries/nope"))
    for answer in (first, second):
        assert answer.headers["ratelimit-limit"] == "5000"
        assert int(answer.headers["ratelimit-reset"]) % 3600 == 0
    assert int(second.headers["ratelimit-remaining"]) == int(first.headers["ratelimit-remaining"]) - 1
