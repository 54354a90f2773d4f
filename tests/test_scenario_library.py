"""Each shipped scenario, replayed as its description promises."""

from __future__ import annotations

import base64
import hashlib
import json

import pytest
import requests

from docrsim import Simulator
from docrsim.scenarios import library

AUTH = {"Authorization": "Bearer dop_v1_docrsim"}
ALL_TYPES = {"type": "untagged manifests and unreferenced blobs"}


def api(sim, method, path, **kwargs):
    return requests.request(method, sim.api_url + path, headers=AUTH, **kwargs)


def history(sim, registry):
    return api(sim, "GET", f"/v2/registries/{registry}/garbage-collections").json()["garbage_collections"]


def stored(sim, registry):
    blobs = sim.sim.account.registry(registry).content.blobs
    return len(blobs), blobs.total_bytes


def registry_token(sim, registry, repository, actions="pull,push"):
    auths = api(sim, "GET", f"/v2/registries/{registry}/docker-credentials?read_write=true").json()["auths"]
    (host, entry), = auths.items()
    user, secret = base64.b64decode(entry["auth"]).decode().split(":", 1)
    answer = requests.get(sim.api_url + "/v2/registry/auth", auth=(user, secret),
                          params={"service": host, "scope": f"repository:{registry}/{repository}:{actions}"})
    return {"Authorization": "Bearer " + answer.json()["token"]}


def test_the_library_lists_every_shipped_scenario():
    assert set(library.names()) >= {
        "empty-professional", "small-app", "multi-arch", "synthetic-10k", "synthetic-1m", "cleanup-drain",
        "push-during-drain", "cancel-mid-deletion", "signed-image", "starter-at-limit", "two-registries",
        "gc-fails-while-deleting",
    }


def test_push_during_drain():
    with Simulator(fixture="push-during-drain") as sim:
        token = registry_token(sim, "pipeline", "service")  # taken before the run: a write token
        run = api(sim, "POST", "/v2/registries/pipeline/garbage-collection", json=ALL_TYPES).json()["garbage_collection"]
        sim.advance(minutes=2)
        assert history(sim, "pipeline")[0]["status"] == "waiting for write JWTs to expire"
        # The push finishes during the drain.
        layer = b"service build of 2026.04"
        layer_digest = "sha256:" + hashlib.sha256(layer).hexdigest()
        put = requests.post(f"{sim.registry_url}/v2/pipeline/service/blobs/uploads/?digest={layer_digest}", data=layer, headers=token)
        assert put.status_code == 201
        config = b'{"os":"linux"}'
        config_digest = "sha256:" + hashlib.sha256(config).hexdigest()
        requests.post(f"{sim.registry_url}/v2/pipeline/service/blobs/uploads/?digest={config_digest}", data=config, headers=token)
        manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                               "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": len(config)},
                               "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": layer_digest, "size": len(layer)}]})
        pushed = requests.put(f"{sim.registry_url}/v2/pipeline/service/manifests/2026.04", data=manifest,
                              headers={**token, "Content-Type": "application/vnd.oci.image.manifest.v1+json"})
        assert pushed.status_code == 201
        # A token asked for now would carry no push: the registry is read-only.
        fresh = registry_token(sim, "pipeline", "service")
        refused = requests.post(f"{sim.registry_url}/v2/pipeline/service/blobs/uploads/", headers=fresh)
        assert refused.status_code == 401
        sim.run_until_idle()
        done = history(sim, "pipeline")[0]
        assert done["uuid"] == run["uuid"] and done["status"] == "succeeded"
        # Only the week-old dangling layer went; the pushed image is intact.
        assert done["blobs_deleted"] == 1
        tags = {t["tag"] for t in api(sim, "GET", "/v2/registries/pipeline/repositories/service/tags").json()["tags"]}
        assert tags == {"2026.03", "2026.04"}
        assert layer_digest in sim.sim.account.registry("pipeline").content.blobs


def test_cancel_mid_deletion():
    with Simulator(fixture="cancel-mid-deletion") as sim:
        requests.put(sim.api_url + "/_docrsim/gc-rates", json={"delete_objects_per_second": 1})
        count, size = stored(sim, "crowded")
        run = api(sim, "POST", "/v2/registries/crowded/garbage-collection").json()["garbage_collection"]
        sim.advance(seconds=15)
        midway = api(sim, "GET", "/v2/registries/crowded/garbage-collection").json()["garbage_collection"]
        assert midway["status"] == "deleting unreferenced blobs" and 0 < midway["blobs_deleted"] < 40
        api(sim, "PUT", f"/v2/registries/crowded/garbage-collection/{run['uuid']}", json={"cancel": True})
        sim.run_until_idle()
        cancelled = history(sim, "crowded")[0]
        assert cancelled["status"] == "cancelled"
        after_count, after_size = stored(sim, "crowded")
        assert cancelled["blobs_deleted"] == count - after_count >= midway["blobs_deleted"]
        assert cancelled["freed_bytes"] == size - after_size
        api(sim, "POST", "/v2/registries/crowded/garbage-collection")
        sim.run_until_idle()
        assert cancelled["blobs_deleted"] + history(sim, "crowded")[0]["blobs_deleted"] == 40


def test_multi_arch_children_survive_with_their_tagged_index():
    with Simulator(fixture="multi-arch") as sim:
        before = api(sim, "GET", "/v2/registries/multiarch/repositories/tool/digests").json()["manifests"]
        tagged = next(m for m in before if "1.0" in m["tags"])
        children = {b["digest"] for b in tagged["blobs"]}
        api(sim, "POST", "/v2/registries/multiarch/garbage-collection", json=ALL_TYPES)
        sim.run_until_idle()
        after = {m["digest"] for m in api(sim, "GET", "/v2/registries/multiarch/repositories/tool/digests").json()["manifests"]}
        assert after == children | {tagged["digest"]}  # the old untagged index and its children went
        assert len(before) == 7 and len(after) == 4


def test_referrers_go_with_their_deleted_subject():
    with Simulator(fixture="signed-image") as sim:
        path = "/v2/registries/secure/repositories/api/digests"
        manifests = api(sim, "GET", path).json()["manifests"]
        subject = next(m for m in manifests if m["tags"] == ["v3"])["digest"]
        api(sim, "POST", "/v2/registries/secure/garbage-collection", json=ALL_TYPES)
        sim.run_until_idle()
        assert len(api(sim, "GET", path).json()["manifests"]) == 4  # referrers of a live subject stay
        assert api(sim, "DELETE", f"{path}/{subject}").status_code == 204
        api(sim, "POST", "/v2/registries/secure/garbage-collection", json=ALL_TYPES)
        sim.run_until_idle()
        left = api(sim, "GET", path).json()["manifests"]
        assert [m["tags"] for m in left] == [["v2"]]


def test_starter_at_its_repository_limit():
    with Simulator(fixture="starter-at-limit") as sim:
        token = registry_token(sim, "hobby", "shop")
        refused = requests.post(f"{sim.registry_url}/v2/hobby/shop/blobs/uploads/", headers=token)
        assert refused.status_code == 403
        assert refused.json()["errors"][0] == {"code": "DENIED", "message": "registry contains 1 repositories, limit is 1",
                                               "detail": None}
        allowed = requests.post(f"{sim.registry_url}/v2/hobby/blog/blobs/uploads/", headers=registry_token(sim, "hobby", "blog"))
        assert allowed.status_code == 202
        tiers = {t["slug"]: t for t in api(sim, "GET", "/v2/registries/options").json()["options"]["subscription_tiers"]}
        assert tiers["starter"]["eligible"] is True


def test_two_registries_on_professional():
    with Simulator(fixture="two-registries") as sim:
        for method in ("GET", "DELETE"):
            answer = api(sim, method, "/v2/registry")
            assert answer.status_code == 412 and answer.json()["id"] == "precondition_failed"
        assert api(sim, "GET", "/v2/registries/staging").json()["registry"]["region"] == "ams3"
        downgrade = api(sim, "POST", "/v2/registries/subscription", json={"tier_slug": "basic"})
        assert downgrade.status_code == 412 and "OverRegistryLimit" in downgrade.json()["message"]
        assert len(api(sim, "GET", "/v2/registries").json()["registries"]) == 2


def test_gc_fails_while_deleting():
    with Simulator(fixture="gc-fails-while-deleting") as sim:
        count, _ = stored(sim, "flaky")
        api(sim, "POST", "/v2/registries/flaky/garbage-collection")
        sim.run_until_idle()
        failed = history(sim, "flaky")[0]
        assert failed["status"] == "failed"
        assert 0 < failed["blobs_deleted"] < 8 and failed["blobs_deleted"] == count - stored(sim, "flaky")[0]
        assert api(sim, "GET", "/v2/registries/flaky").json()["registry"]["read_only"] is False
        api(sim, "POST", "/v2/registries/flaky/garbage-collection")
        sim.run_until_idle()
        second = history(sim, "flaky")[0]
        assert second["status"] == "succeeded" and failed["blobs_deleted"] + second["blobs_deleted"] == 8


@pytest.mark.parametrize("name, manifests, blobs", [("synthetic-10k", 10_000, 100_000), ("synthetic-1m", 100_000, 1_000_000)])
def test_synthetic_registries(name, manifests, blobs):
    with Simulator(fixture=name) as sim:
        registry = sim.state()["registries"][0]["name"]
        content = sim.sim.account.registry(registry).content
        assert len(content.manifests) == manifests
        assert len(content.blobs) - manifests == blobs  # configs and layers, besides the manifests' own bytes
        first = api(sim, "GET", f"/v2/registries/{registry}/repositoriesV2?per_page=1").json()
        assert first["meta"]["total"] == manifests // 100
        preview = requests.get(f"{sim.api_url}/_docrsim/registries/{registry}/garbage").json()
        untagged = manifests // (5 if name == "synthetic-10k" else 10)
        assert preview["untagged manifests only"]["count"] == untagged
        assert preview["unreferenced blobs only"]["count"] == 0
