"""The Simulator: docrsim started in-process, driven from Python."""

from __future__ import annotations

import base64
import json

import jwt
import pytest
import requests
from freezegun import freeze_time

from docrsim import Simulator
from docrsim.core.errors import Conflict, Invalid

AUTH = {"Authorization": "Bearer dop_v1_docrsim"}


def get(sim, path):
    answer = requests.get(sim.api_url + path, headers=AUTH)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_serves_a_named_scenario_on_free_ports():
    with Simulator(fixture="small-app") as sim:
        assert sim.api_url.startswith("http://127.0.0.1:") and sim.registry_url != sim.api_url
        assert [r["name"] for r in get(sim, "/v2/registries")["registries"]] == ["acme"]
        assert sim.now().isoformat() == "2026-01-01T00:00:00+00:00"
    with pytest.raises(requests.ConnectionError):
        requests.get(sim.api_url + "/v2/registries", headers=AUTH, timeout=2)


def test_unknown_scenario_names_the_known_ones():
    with pytest.raises(Invalid, match="small-app"):
        Simulator(fixture="no-such-scenario")


def test_same_seed_same_ids_and_outcomes():
    outcomes = []
    for _ in range(2):
        with Simulator(fixture="small-app", seed=7) as sim:
            run = requests.post(sim.api_url + "/v2/registries/acme/garbage-collection", headers=AUTH).json()
            sim.run_until_idle()
            done = get(sim, "/v2/registries/acme/garbage-collections")["garbage_collections"][0]
            outcomes.append((run["garbage_collection"]["uuid"], done["status"], done["blobs_deleted"], done["updated_at"]))
    assert outcomes[0] == outcomes[1]
    with Simulator(fixture="small-app", seed=8) as other:
        uuid = requests.post(other.api_url + "/v2/registries/acme/garbage-collection", headers=AUTH).json()
        assert uuid["garbage_collection"]["uuid"] != outcomes[0][0]


def test_advance_moves_a_run_through_the_drain():
    with Simulator(fixture="cleanup-drain") as sim:
        requests.post(sim.api_url + "/v2/registries/shop/garbage-collection", headers=AUTH)
        sim.advance(minutes=5)
        assert get(sim, "/v2/registries/shop/garbage-collection")["garbage_collection"]["status"] == \
            "waiting for write JWTs to expire"
        sim.advance(minutes=5)
        assert get(sim, "/v2/registries/shop/garbage-collection")["garbage_collection"]["status"] != \
            "waiting for write JWTs to expire"
        finished_at = sim.run_until_idle()
        assert get(sim, "/v2/registries/shop/garbage-collections")["garbage_collections"][0]["status"] == "succeeded"
        assert finished_at.isoformat().startswith("2026-03-02T09:10")


def test_reset_returns_to_the_start_and_load_adds(tmp_path):
    with Simulator(fixture="small-app") as sim:
        requests.delete(sim.api_url + "/v2/registries/acme/repositories/web/tags/v1", headers=AUTH)
        sim.advance(hours=2)
        before = sim.state()
        sim.reset()
        assert sim.now().isoformat() == "2026-01-01T00:00:00+00:00"
        assert "v1" in [t["tag"] for t in get(sim, "/v2/registries/acme/repositories/web/tags")["tags"]]
        assert sim.state() != before
        sim.reset("multi-arch")
        assert [r["name"] for r in get(sim, "/v2/registries")["registries"]] == ["multiarch"]
        assert sim.load({"registries": [{"name": "extra"}]}) == ["extra"]
        assert [r["name"] for r in get(sim, "/v2/registries")["registries"]] == ["multiarch", "extra"]


def test_push_image_lands_like_a_push():
    with Simulator(fixture="empty-professional") as sim:
        requests.post(sim.api_url + "/v2/registries", json={"name": "acme"}, headers=AUTH)
        digest = sim.push_image("acme", "team/app", "v1", layers=3, layer_size=2048)
        manifests = get(sim, "/v2/registries/acme/repositories/team%2Fapp/digests")["manifests"]
        assert [m["digest"] for m in manifests] == [digest] and manifests[0]["tags"] == ["v1"]
        assert [b["compressed_size_bytes"] for b in manifests[0]["blobs"]][1:] == [2048, 2048, 2048]
        # The same call stores the same bytes in another world: layers are derived, not random.
        assert sim.push_image("acme", "team/app", "v1", layers=3, layer_size=2048) == digest
        requests.post(sim.api_url + "/v2/registries/acme/garbage-collection", headers=AUTH)
        with pytest.raises(Conflict):
            sim.push_image("acme", "team/app", "v2")


def test_docker_config_credentials_reach_the_registry_host(tmp_path):
    with Simulator(fixture="small-app") as sim:
        config = json.loads(sim.docker_config(tmp_path, "acme").read_text())
        assert sorted(config["auths"]) == sorted([sim.registry_host, "registry.digitalocean.com"])
        host, entry = sim.registry_host, config["auths"][sim.registry_host]
        assert config["auths"]["registry.digitalocean.com"] == entry  # one credential, both names
        user, secret = base64.b64decode(entry["auth"]).decode().split(":", 1)
        token = requests.get(sim.api_url + "/v2/registry/auth", auth=(user, secret),
                             params={"service": host, "scope": "repository:acme/web:pull"}).json()["token"]
        tags = requests.get(f"{sim.registry_url}/v2/acme/web/tags/list", headers={"Authorization": f"Bearer {token}"})
        assert tags.json()["tags"] == ["latest", "v1", "v2"]
        assert sim.env()["DIGITALOCEAN_API_URL"] == sim.api_url


def test_a_docker_config_without_a_registry_reaches_every_registry(tmp_path):
    with Simulator(fixture="two-registries") as sim:
        config = json.loads(sim.docker_config(tmp_path).read_text())
        host, entry = sim.registry_host, config["auths"][sim.registry_host]
        user, secret = base64.b64decode(entry["auth"]).decode().split(":", 1)
        assert user == secret == sim.token
        requests.post(sim.api_url + "/v2/registries", headers=AUTH, json={"name": "made-later", "region": "fra1"})
        for registry in [r["name"] for r in sim.state()["registries"]]:
            answer = requests.get(sim.api_url + "/v2/registry/auth", auth=(user, secret),
                                  params={"service": host, "scope": f"repository:{registry}/any:pull,push"})
            granted = jwt.decode(answer.json()["token"], options={"verify_signature": False})["access"]
            assert granted == [{"type": "repository", "name": f"{registry}/any", "actions": ["pull", "push"]}]
        assert len(sim.state()["registries"]) == 3


def test_fail_next_gc():
    with Simulator(fixture="small-app") as sim:
        sim.fail_next_gc("acme", "scanning manifests")
        requests.post(sim.api_url + "/v2/registries/acme/garbage-collection", headers=AUTH)
        sim.run_until_idle()
        assert get(sim, "/v2/registries/acme/garbage-collections")["garbage_collections"][0]["status"] == "failed"


def test_freezegun_drives_a_system_clock_in_process():
    with freeze_time("2026-05-01T12:00:00Z") as frozen:
        with Simulator(fixture="small-app", clock="system") as sim:
            requests.post(sim.api_url + "/v2/registries/acme/garbage-collection", headers=AUTH)
            assert get(sim, "/v2/registries/acme/garbage-collection")["garbage_collection"]["status"] == "requested"
            frozen.tick(3600)
            assert get(sim, "/v2/registries/acme/garbage-collections")["garbage_collections"][0]["status"] == "succeeded"
            with pytest.raises(Invalid):
                sim.advance(60)


def test_inject_a_429_storm_and_read_the_journal():
    with Simulator(fixture="small-app") as sim:
        rule = sim.inject(operation_id="registries_list", status=429, times=2)
        answers = [requests.get(sim.api_url + "/v2/registries", headers=AUTH) for _ in range(3)]
        assert [a.status_code for a in answers] == [429, 429, 200]
        assert answers[0].headers["ratelimit-remaining"] == "0" and "retry-after" in answers[0].headers
        requests.delete(sim.api_url + "/v2/registries/acme/repositories/web/tags/v1", headers=AUTH)
        listed = sim.journal(operation_id="registries_list")
        assert [e["status"] for e in listed] == [429, 429, 200]
        assert [bool(e["fault"]) for e in listed] == [True, True, False]
        assert [e["operation_id"] for e in sim.journal(method="delete")] == ["registries_delete_repositoryTag"]
        assert rule["id"] and sim.journal(status="4xx")[0]["operation_id"] == "registries_list"
        sim.clear_faults()
        sim.inject(path="/v2/registries", status=503)
        assert requests.get(sim.api_url + "/v2/registries", headers=AUTH).status_code == 503
        sim.reset()
        assert sim.journal() == [] and requests.get(sim.api_url + "/v2/registries", headers=AUTH).status_code == 200


def test_state_round_trips_through_reset():
    with Simulator(fixture="cleanup-drain") as sim:
        requests.post(sim.api_url + "/v2/registries/shop/garbage-collection", headers=AUTH)
        sim.advance(minutes=5)  # mid-drain: the push token from 08:55 is valid until 09:10
        saved = sim.state()
        assert saved == requests.get(sim.api_url + "/_docrsim/state").json()
        sim.run_until_idle()
        assert sim.state() != saved
        sim.reset(state=saved)
        assert sim.state() == saved
        sim.run_until_idle()
        assert get(sim, "/v2/registries/shop/garbage-collections")["garbage_collections"][0]["status"] == "succeeded"


def test_journal_filters_take_several_values():
    with Simulator(fixture="small-app") as sim:
        requests.get(sim.api_url + "/v2/registries", headers=AUTH)
        requests.delete(sim.api_url + "/v2/registries/acme/repositories/web/tags/v1", headers=AUTH)
        requests.post(sim.api_url + "/v2/registries/acme/garbage-collection", headers=AUTH, json={})
        writes = sim.journal(method=["DELETE", "post"])
        assert [e["operation_id"] for e in writes] == ["registries_delete_repositoryTag", "registries_run_garbageCollection"]
        assert len(sim.journal(status=[201, 204])) == 2 and len(sim.journal(status=("200",))) == 1


def test_gc_rates_read_and_change_until_reset():
    with Simulator(fixture="cancel-mid-deletion") as sim:
        defaults = sim.gc_rates()
        assert defaults["delete_objects_per_second"] == 100.0
        assert sim.gc_rates(delete_objects_per_second=0.5)["delete_objects_per_second"] == 0.5
        started = requests.post(sim.api_url + "/v2/registries/crowded/garbage-collection", headers=AUTH, json={})
        uuid = started.json()["garbage_collection"]["uuid"]
        sim.advance(seconds=11)   # requested (1 s), a short scan, then about two objects a second
        run = get(sim, "/v2/registries/crowded/garbage-collection")["garbage_collection"]
        assert run["uuid"] == uuid and run["status"] == "deleting unreferenced blobs"
        assert 0 < run["blobs_deleted"] < 10
        with pytest.raises(TypeError, match="unknown GC rate"):
            sim.gc_rates(delete_per_second=1)
        with pytest.raises(Invalid):
            sim.gc_rates(scan_manifests_per_second=0)
        sim.reset()
        assert sim.gc_rates() == defaults
