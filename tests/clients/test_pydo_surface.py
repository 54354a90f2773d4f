"""pydo's whole registry surface against docrsim: every method, where it lands, and how to connect."""

from __future__ import annotations

import inspect

import pydo
import pytest
from azure.core.exceptions import ServiceRequestError

from tests import spec_conformance
from tests.clients.pydo_support import PYDO_OPERATIONS, TOKEN
from tests.clients.pydo_support import pydo_client  # noqa: F401  (a fixture)

UNTAGGED_AND_BLOBS = {"type": "untagged manifests and unreferenced blobs"}


def public_methods(group) -> set[str]:
    return {name for name, member in inspect.getmembers(group, callable) if not name.startswith("_")}


def test_pydo_has_exactly_the_registry_methods_these_tests_cover():
    client = pydo.Client(token=TOKEN)  # introspection only: nothing is sent
    found = {f"registry.{m}" for m in public_methods(client.registry)}
    found |= {f"registries.{m}" for m in public_methods(client.registries)}
    # A pydo upgrade that adds or drops a registry method must show up here.
    assert found == set(PYDO_OPERATIONS)
    assert len(found) == 37
    documented = {op.get("operationId") for item in spec_conformance.document()["paths"].values()
                  for op in item.values() if isinstance(op, dict)}
    assert set(PYDO_OPERATIONS.values()) <= documented


def test_stock_pydo_needs_the_https_opt_out(live):
    """pydo (azure-core) will not send a bearer token over http unless told per call."""
    client = pydo.Client(token=TOKEN, endpoint=live.api_url, retry_total=0)  # else it retries the refusal
    with pytest.raises(ServiceRequestError, match="non-TLS"):
        client.registries.list()
    assert client.registries.list(enforce_https=False) == {"registries": [], "total_storage_usage_bytes": 0}
    made = client.registries.create(body={"name": "plain-http"}, enforce_https=False)
    assert made["registry"]["name"] == "plain-http"
    assert [r.name for r in live.sim.account.registries.values()] == ["plain-http"]
    client.close()


def test_every_registry_method_reaches_its_operation(scenario, pydo_client):
    live = scenario("small-app")  # basic tier; registry acme with web (3 tags, 4 manifests) and tools/migrate
    client = pydo_client(live)

    # -- the current family, /v2/registries -------------------------------------------------
    assert [r["name"] for r in client.registries.list()["registries"]] == ["acme"]
    assert client.registries.get("acme")["registry"]["region"] == "nyc3"
    assert client.registries.get_subscription()["subscription"]["tier"]["slug"] == "basic"
    upgraded = client.registries.update_subscription(body={"tier_slug": "professional"})
    assert upgraded["subscription"]["tier"]["slug"] == "professional"
    assert "syd1" in client.registries.get_options()["options"]["available_regions"]
    assert client.registries.validate_name(body={"name": "second"}) is None
    assert client.registries.create(body={"name": "second", "region": "ams3"})["registry"]["region"] == "ams3"
    assert list(client.registries.get_docker_credentials("acme")["auths"]) == [live.registry_url.split("://")[1]]
    v2 = client.registries.list_repositories_v2("acme")
    assert [r["name"] for r in v2["repositories"]] == ["tools/migrate", "web"]
    assert [t["tag"] for t in client.registries.list_repository_tags("acme", "tools/migrate")["tags"]] == ["2025.12"]
    web = client.registries.list_repository_manifests("acme", "web")["manifests"]
    v1_digest = next(m["digest"] for m in web if m["tags"] == ["v1"])
    assert client.registries.delete_repository_tag("acme", "web", "v1") is None
    assert client.registries.delete_repository_manifest("acme", "web", v1_digest) is None
    assert client.registries.delete_repository("acme", "tools/migrate") is None
    run = client.registries.run_garbage_collection("acme")["garbage_collection"]
    assert client.registries.get_garbage_collection("acme")["garbage_collection"]["uuid"] == run["uuid"]
    cancelling = client.registries.update_garbage_collection("acme", run["uuid"], body={"cancel": True})
    assert cancelling["garbage_collection"]["status"] == "cancelling"
    live.advance(60)
    assert client.registries.list_garbage_collections("acme")["garbage_collections"][0]["status"] == "cancelled"
    assert client.registries.delete("second") is None

    # -- the older family, /v2/registry ----------------------------------------------------
    assert client.registry.get()["registry"]["subscription"]["tier"]["slug"] == "professional"
    assert client.registry.get_subscription()["subscription"]["tier"]["slug"] == "professional"
    downgraded = client.registry.update_subscription(body={"tier_slug": "basic"})
    assert downgraded["subscription"]["tier"]["slug"] == "basic"
    assert client.registry.get_options()["options"]["available_regions"] == ["nyc3", "sfo3", "ams3", "sgp1", "fra1"]
    assert client.registry.validate_name(body={"name": "solo"}) is None
    assert "auths" in client.registry.get_docker_credentials(read_write=True, expiry_seconds=600)
    v1 = client.registry.list_repositories("acme")["repositories"]
    assert [(r["name"], r["tag_count"]) for r in v1] == [("web", 2)]
    assert client.registry.list_repositories_v2("acme")["meta"]["total"] == 1
    assert {t["tag"] for t in client.registry.list_repository_tags("acme", "web")["tags"]} == {"latest", "v2"}
    web = client.registry.list_repository_manifests("acme", "web")["manifests"]
    untagged_build = next(m["digest"] for m in web if not m["tags"] and m["updated_at"] == "2025-12-03T10:00:00Z")
    assert client.registry.delete_repository_tag("acme", "web", "latest") is None
    assert client.registry.delete_repository_manifest("acme", "web", untagged_build) is None
    run = client.registry.run_garbage_collection("acme", body=UNTAGGED_AND_BLOBS)["garbage_collection"]
    assert client.registry.get_garbage_collection("acme")["garbage_collection"]["type"] == UNTAGGED_AND_BLOBS["type"]
    cancelling = client.registry.update_garbage_collection("acme", run["uuid"], body={"cancel": True})
    assert cancelling["garbage_collection"]["status"] == "cancelling"
    live.advance(60)
    assert client.registry.list_garbage_collections("acme")["meta"]["total"] == 2
    assert client.registry.delete() is None
    created = client.registry.create(body={"name": "solo", "subscription_tier_slug": "starter", "region": "sgp1"})
    assert created["registry"]["subscription"]["tier"]["slug"] == "starter"

    reached = [(s.operation_id, s.status) for s in client.seen]
    assert reached == EXPECTED_CALLS
    assert {op for op, _ in reached} == set(PYDO_OPERATIONS.values())


# What the test above reaches, call by call: pydo's method → docrsim's operation and status.
EXPECTED_CALLS = [
    ("registries_list", 200),
    ("registries_get", 200),
    ("registries_get_subscription", 200),
    ("registries_update_subscription", 200),
    ("registries_get_options", 200),
    ("registries_validate_name", 204),
    ("registries_create", 201),
    ("registries_get_dockerCredentials", 200),
    ("registries_list_repositoriesV2", 200),
    ("registries_list_repositoryTags", 200),
    ("registries_list_repositoryManifests", 200),
    ("registries_delete_repositoryTag", 204),
    ("registries_delete_repositoryManifest", 204),
    ("registries_delete_repository", 204),
    ("registries_run_garbageCollection", 201),
    ("registries_get_garbageCollection", 200),
    ("registries_update_garbageCollection", 200),
    ("registries_list_garbageCollections", 200),
    ("registries_delete", 204),
    ("registry_get", 200),
    ("registry_get_subscription", 200),
    ("registry_update_subscription", 200),
    ("registry_get_options", 200),
    ("registry_validate_name", 204),
    ("registry_get_dockerCredentials", 200),
    ("registry_list_repositories", 200),
    ("registry_list_repositoriesV2", 200),
    ("registry_list_repositoryTags", 200),
    ("registry_list_repositoryManifests", 200),
    ("registry_delete_repositoryTag", 204),
    ("registry_delete_repositoryManifest", 204),
    ("registry_run_garbageCollection", 201),
    ("registry_get_garbageCollection", 200),
    ("registry_update_garbageCollection", 200),
    ("registry_list_garbageCollections", 200),
    ("registry_delete", 204),
    ("registry_create", 201),
]
