"""pydo with its default endpoint (https://api.digitalocean.com), no enforce_https anywhere."""

from __future__ import annotations

import base64
import os

import pydo
import pytest


@pytest.fixture
def client(production):
    return pydo.Client(token=os.environ["DIGITALOCEAN_ACCESS_TOKEN"], retry_backoff_factor=0)


def test_create_list_credentials_and_a_garbage_collection(production, client):
    created = client.registries.create(body={"name": "acme", "region": "fra1", "subscription_tier_slug": "basic"})
    assert created["registry"]["name"] == "acme"
    for repository in ("api", "web", "worker"):
        production.push_image("acme", repository, "v1")

    page = client.registries.list_repositories_v2("acme", per_page=2)
    assert [r["name"] for r in page["repositories"]] == ["api", "web"]
    assert page["links"]["pages"]["next"].startswith("https://api.digitalocean.com/v2/registries/acme/repositoriesV2?")

    credentials = client.registries.get_docker_credentials("acme")
    (host, entry), = credentials["auths"].items()
    assert host == "registry.digitalocean.com"
    assert base64.b64decode(entry["auth"]).decode().count(":") == 1

    run = client.registries.run_garbage_collection("acme")["garbage_collection"]
    assert run["status"] in ("requested", "waiting for write JWTs to expire")
    cancelled = client.registries.update_garbage_collection("acme", run["uuid"], body={"cancel": True})
    assert cancelled["garbage_collection"]["status"] in ("cancelling", "cancelled")
    production.run_until_idle()
    runs = client.registries.list_garbage_collections("acme")["garbage_collections"]
    assert [(r["uuid"], r["status"]) for r in runs] == [(run["uuid"], "cancelled")]
    # The journal saw the production host name.
    assert {e["operation_id"] for e in production.journal()} >= {"registries_create", "registries_update_garbageCollection"}


def test_the_older_family_through_the_proxy(production, client):
    client.registry.create(body={"name": "shop", "subscription_tier_slug": "starter"})
    assert client.registry.get()["registry"]["name"] == "shop"
    assert list(client.registry.get_docker_credentials()["auths"]) == ["registry.digitalocean.com"]
