"""Registries, subscription, options, name validation and docker credentials, over HTTP."""

from __future__ import annotations

import base64

import pytest

from docrsim.core.credentials import TokenPolicy
from tests.conftest import start_live

PLURAL_REGIONS = ["nyc3", "sfo3", "ams3", "sgp1", "fra1", "sfo2", "blr1", "syd1"]


def create(live, name, **extra):
    return live.http.post(live.url("/v2/registries"), json={"name": name, **extra})


def test_create_get_list_delete_plural(live):
    live.http.post(live.url("/v2/registries/subscription"), json={"tier_slug": "professional"})
    made = create(live, "alpha", region="fra1")
    assert made.status_code == 201
    assert made.json()["registry"] == {
        "name": "alpha",
        "created_at": "2026-01-01T00:00:00Z",
        "region": "fra1",
        "storage_usage_bytes": 0,
        "storage_usage_bytes_updated_at": "2026-01-01T00:00:00Z",
        "read_only": False,
    }
    live.advance(60)
    assert create(live, "beta").json()["registry"]["created_at"] == "2026-01-01T00:01:00Z"

    listed = live.http.get(live.url("/v2/registries")).json()
    assert [r["name"] for r in listed["registries"]] == ["alpha", "beta"]
    assert listed["total_storage_usage_bytes"] == 0
    assert live.http.get(live.url("/v2/registries/beta")).json()["registry"]["region"] == "nyc3"

    assert live.http.delete(live.url("/v2/registries/alpha")).status_code == 204
    assert live.http.get(live.url("/v2/registries/alpha")).status_code == 404
    assert [r["name"] for r in live.http.get(live.url("/v2/registries")).json()["registries"]] == ["beta"]


def test_singular_family_sets_the_tier_and_nests_the_subscription(live):
    made = live.http.post(live.url("/v2/registry"), json={"name": "solo", "subscription_tier_slug": "starter"})
    assert made.status_code == 201
    registry = made.json()["registry"]
    assert registry["subscription"]["tier"]["slug"] == "starter"
    got = live.http.get(live.url("/v2/registry")).json()["registry"]
    assert got["name"] == "solo" and got["subscription"]["tier"]["included_repositories"] == 1
    again = live.http.post(live.url("/v2/registry"), json={"name": "other", "subscription_tier_slug": "basic"})
    assert again.status_code == 409
    assert live.http.delete(live.url("/v2/registry")).status_code == 204
    assert live.http.get(live.url("/v2/registry")).status_code == 404


def test_singular_create_requires_a_tier_and_only_the_older_regions(live):
    missing = live.http.post(live.url("/v2/registry"), json={"name": "solo"})
    assert missing.status_code == 422 and "subscription_tier_slug" in missing.json()["message"]
    region = live.http.post(live.url("/v2/registry"), json={"name": "solo", "subscription_tier_slug": "basic", "region": "syd1"})
    assert region.status_code == 422 and "syd1" in region.json()["message"]
    assert create(live, "solo", region="syd1").status_code == 201


def test_name_less_endpoints_refuse_with_several_registries(live):
    live.http.post(live.url("/v2/registries/subscription"), json={"tier_slug": "professional"})
    create(live, "one")
    create(live, "two")
    for method in ("get", "delete"):
        answer = getattr(live.http, method)(live.url("/v2/registry"))
        assert answer.status_code == 412
        assert answer.json()["id"] == "precondition_failed"
        assert "/v2/registries/{registry_name}" in answer.json()["message"]
    assert len(live.http.get(live.url("/v2/registries")).json()["registries"]) == 2


@pytest.mark.parametrize("tier, allowed", [("starter", 1), ("basic", 1), ("professional", 10)])
def test_registry_count_limit_per_tier(live, tier, allowed):
    live.http.post(live.url("/v2/registries/subscription"), json={"tier_slug": tier})
    for i in range(allowed):
        assert create(live, f"reg-{i}").status_code == 201
    refused = create(live, "one-too-many")
    assert refused.status_code == 412
    assert "OverRegistryLimit" in refused.json()["message"]


def test_taken_name_is_a_conflict(live):
    create(live, "taken")
    live.http.post(live.url("/v2/registries/subscription"), json={"tier_slug": "professional"})
    answer = create(live, "taken")
    assert answer.status_code == 409 and answer.json()["id"] == "conflict"


@pytest.mark.parametrize(
    "name, why",
    [
        ("Upper", "lowercase"),
        ("9starts-with-digit", "start with a letter"),
        ("ends-with-", "end with a letter or a digit"),
        ("a" * 64, "at most 63"),
        ("under_score", "lowercase letters, digits and hyphens"),
        ("options", "reserved"),
        ("subscription", "reserved"),
        ("", "non-empty"),
    ],
)
def test_bad_names_are_refused_with_the_reason(live, name, why):
    for path in ("/v2/registries", "/v2/registries/validate-name", "/v2/registry/validate-name"):
        answer = live.http.post(live.url(path), json={"name": name})
        assert answer.status_code == 422, path
        assert why in answer.json()["message"]
    assert live.http.get(live.url("/v2/registries")).json()["registries"] == []


def test_validate_name(live):
    assert live.http.post(live.url("/v2/registries/validate-name"), json={"name": "free"}).status_code == 204
    create(live, "free")
    for path in ("/v2/registries/validate-name", "/v2/registry/validate-name"):
        assert live.http.post(live.url(path), json={"name": "free"}).status_code == 409


def test_subscription_change_and_eligibility(scenario):
    live = scenario("small-app")  # basic tier, one registry with two repositories
    sub = live.http.get(live.url("/v2/registries/subscription")).json()["subscription"]
    assert sub["tier"]["slug"] == "basic"

    options = live.http.get(live.url("/v2/registries/options")).json()["options"]
    assert options["available_regions"] == PLURAL_REGIONS
    by_slug = {t["slug"]: t for t in options["subscription_tiers"]}
    assert by_slug["starter"]["eligible"] is False
    assert by_slug["starter"]["eligibility_reasons"] == ["OverRepositoryLimit"]
    assert by_slug["basic"]["eligible"] and "eligibility_reasons" not in by_slug["basic"]
    assert by_slug["professional"]["monthly_price_in_cents"] == 2000
    older = live.http.get(live.url("/v2/registry/options")).json()["options"]
    assert older["available_regions"] == PLURAL_REGIONS[:5]

    refused = live.http.post(live.url("/v2/registry/subscription"), json={"tier_slug": "starter"})
    assert refused.status_code == 412
    assert refused.json()["message"] == "registry is not eligible for tier because: [OverRepositoryLimit]"

    live.advance(3600)
    moved = live.http.post(live.url("/v2/registries/subscription"), json={"tier_slug": "professional"})
    assert moved.status_code == 200
    assert moved.json()["subscription"]["tier"]["slug"] == "professional"
    assert moved.json()["subscription"]["updated_at"] == "2026-01-01T01:00:00Z"
    assert live.http.get(live.url("/v2/registry/subscription")).json()["subscription"]["tier"]["slug"] == "professional"


def test_downgrade_from_professional_with_several_registries(live):
    live.http.post(live.url("/v2/registries/subscription"), json={"tier_slug": "professional"})
    create(live, "one")
    create(live, "two")
    answer = live.http.post(live.url("/v2/registries/subscription"), json={"tier_slug": "basic"})
    assert answer.status_code == 412
    assert answer.json()["message"] == "registry is not eligible for tier because: [OverRegistryLimit]"


def _decode(body, live):
    auths = body["auths"]
    host = live.registry_url.split("://", 1)[1]
    assert list(auths) == [host]
    user, _, secret = base64.b64decode(auths[host]["auth"]).decode().partition(":")
    return user, secret


def test_docker_credentials_are_minted_fresh(scenario):
    live = scenario("small-app")
    first = live.http.get(live.url("/v2/registries/acme/docker-credentials?read_write=true&expiry_seconds=3600"))
    second = live.http.get(live.url("/v2/registry/docker-credentials"))
    assert first.status_code == second.status_code == 200
    user_a, secret_a = _decode(first.json(), live)
    _, secret_b = _decode(second.json(), live)
    assert "@" in user_a and secret_a.startswith("dop_v1_") and secret_a != secret_b

    minted = {c.secret: c for c in live.sim.credentials.all()}
    assert minted[secret_a].read_write is True
    assert minted[secret_a].expires_at.isoformat() == "2026-01-01T01:00:00+00:00"
    assert minted[secret_b].read_write is False and minted[secret_b].expires_at is None


def test_docker_credentials_errors(live):
    assert live.http.get(live.url("/v2/registry/docker-credentials")).status_code == 404
    assert live.http.get(live.url("/v2/registries/nope/docker-credentials")).status_code == 404
    create(live, "acme")
    bad = live.http.get(live.url("/v2/registries/acme/docker-credentials?expiry_seconds=-5"))
    assert bad.status_code == 422 and "expiry_seconds" in bad.json()["message"]
    bad = live.http.get(live.url("/v2/registries/acme/docker-credentials?read_write=maybe"))
    assert bad.status_code == 422 and "read_write" in bad.json()["message"]


def test_read_write_credentials_need_the_update_scope():
    policy = TokenPolicy({"reader": frozenset({"registry:read"}), "writer": frozenset({"registry:read", "registry:update", "registry:create"})})
    live = start_live(tokens=policy)
    try:
        live.http.headers["Authorization"] = "Bearer writer"
        live.http.post(live.url("/v2/registries"), json={"name": "acme"})
        live.http.headers["Authorization"] = "Bearer reader"
        assert live.http.get(live.url("/v2/registries/acme/docker-credentials")).status_code == 200
        refused = live.http.get(live.url("/v2/registries/acme/docker-credentials?read_write=true"))
        assert refused.status_code == 403 and "registry:update" in refused.json()["message"]
        live.http.headers["Authorization"] = "Bearer writer"
        assert live.http.get(live.url("/v2/registries/acme/docker-credentials?read_write=true")).status_code == 200
    finally:
        live.server.stop()


def test_deleting_a_registry_removes_its_content(scenario):
    live = scenario("small-app")
    assert live.http.delete(live.url("/v2/registries/acme")).status_code == 204
    assert live.http.get(live.url("/v2/registries/acme/repositoriesV2")).status_code == 404
    assert live.http.post(live.url("/v2/registries"), json={"name": "acme"}).status_code == 201
    assert live.http.get(live.url("/v2/registries/acme/repositoriesV2")).json()["meta"]["total"] == 0
