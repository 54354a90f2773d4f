"""Repositories, tags and manifests through the DO API, against the small-app scenario."""

from __future__ import annotations

import pytest

BASE = "/v2/registries/acme"
OLDER = "/v2/registry/acme"


@pytest.fixture
def app(scenario):
    return scenario("small-app")


def get(live, path):
    answer = live.http.get(live.url(path))
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_repositories_v2_lists_every_repository(app):
    body = get(app, BASE + "/repositoriesV2")
    assert body["meta"] == {"total": 2}
    web, tools = sorted(body["repositories"], key=lambda r: r["name"]) [::-1]
    assert (web["name"], web["tag_count"], web["manifest_count"]) == ("web", 3, 4)
    assert (tools["name"], tools["tag_count"], tools["manifest_count"]) == ("tools/migrate", 1, 1)
    # The newest push in web is the signature, pushed at 10:05 and carrying no tag.
    assert web["latest_manifest"]["updated_at"] == "2025-12-04T10:05:00Z"
    assert web["latest_manifest"]["tags"] == []
    assert get(app, OLDER + "/repositoriesV2")["repositories"] == body["repositories"]


def test_repositories_v1_lists_only_tagged_repositories_with_latest_tag(app):
    app.http.delete(app.url(BASE + "/repositories/tools%2Fmigrate/tags/2025.12"))
    body = get(app, OLDER + "/repositories")
    assert [r["name"] for r in body["repositories"]] == ["web"]
    web = body["repositories"][0]
    assert web["tag_count"] == 3
    assert web["latest_tag"]["tag"] in ("v2", "latest")
    assert web["latest_tag"]["updated_at"] == "2025-12-04T10:00:00Z"


def test_tags_carry_sizes_of_their_manifest(app):
    tags = get(app, BASE + "/repositories/tools%2Fmigrate/tags")["tags"]
    assert len(tags) == 1
    tag = tags[0]
    manifests = get(app, BASE + "/repositories/tools%2Fmigrate/digests")["manifests"]
    assert tag["manifest_digest"] == manifests[0]["digest"]
    blob_sizes = sorted(b["compressed_size_bytes"] for b in manifests[0]["blobs"])
    # A 30 MiB synthetic base layer and the 17-byte "migration scripts" layer, plus a config.
    assert 31457280 in blob_sizes and len("migration scripts") in blob_sizes and len(blob_sizes) == 3
    assert tag["compressed_size_bytes"] == sum(blob_sizes) == manifests[0]["compressed_size_bytes"]
    assert tag["repository"] == "tools/migrate" and tag["registry_name"] == "acme"


def test_manifests_list_their_tags_newest_first(app):
    manifests = get(app, BASE + "/repositories/web/digests")["manifests"]
    assert [m["updated_at"] for m in manifests] == sorted((m["updated_at"] for m in manifests), reverse=True)
    tags = [m["tags"] for m in manifests]
    assert tags == [[], ["latest", "v2"], [], ["v1"]]


def test_deleting_a_tag_leaves_the_manifest_untagged(app):
    before = app.sim.export_state()["registries"][0]["storage_usage_bytes"]
    assert app.http.delete(app.url(BASE + "/repositories/web/tags/v1")).status_code == 204
    manifests = get(app, BASE + "/repositories/web/digests")["manifests"]
    assert len(manifests) == 4 and all("v1" not in m["tags"] for m in manifests)
    assert get(app, BASE + "/repositories/web/tags")["meta"]["total"] == 2
    assert get(app, BASE)["registry"]["storage_usage_bytes"] == before


def test_deleting_a_manifest_removes_its_tags_but_frees_nothing(app):
    manifests = get(app, BASE + "/repositories/web/digests")["manifests"]
    release = next(m for m in manifests if "v2" in m["tags"])
    stored = len(app.sim.account.registry("acme").content.blobs)
    answer = app.http.delete(app.url(OLDER + f"/repositories/web/digests/{release['digest']}"))
    assert answer.status_code == 204
    remaining = get(app, BASE + "/repositories/web/digests")["manifests"]
    assert release["digest"] not in [m["digest"] for m in remaining]
    assert {t["tag"] for t in get(app, BASE + "/repositories/web/tags")["tags"]} == {"v1"}
    # Only garbage collection frees storage: every blob, the manifest's own bytes included, stays.
    assert len(app.sim.account.registry("acme").content.blobs) == stored
    again = app.http.delete(app.url(OLDER + f"/repositories/web/digests/{release['digest']}"))
    assert again.status_code == 404


def test_deleting_a_repository(app):
    assert app.http.delete(app.url(BASE + "/repositories/tools%2Fmigrate")).status_code == 204
    assert [r["name"] for r in get(app, BASE + "/repositoriesV2")["repositories"]] == ["web"]
    assert app.http.get(app.url(BASE + "/repositories/tools%2Fmigrate/tags")).status_code == 404
    assert app.http.delete(app.url(BASE + "/repositories/tools%2Fmigrate")).status_code == 404


def test_a_slash_in_a_repository_name_may_arrive_encoded_or_not(app):
    encoded = get(app, BASE + "/repositories/tools%2Fmigrate/tags")
    plain = get(app, BASE + "/repositories/tools/migrate/tags")
    lower = get(app, BASE + "/repositories/tools%2fmigrate/tags")
    assert encoded["tags"] == plain["tags"] == lower["tags"]
    assert encoded["tags"][0]["repository"] == "tools/migrate"


def test_an_index_reports_its_children_and_their_total_size(scenario):
    live = scenario("multi-arch")
    manifests = get(live, "/v2/registries/multiarch/repositories/tool/digests")["manifests"]
    index = next(m for m in manifests if "1.0" in m["tags"])
    children = {m["digest"]: m for m in manifests}
    assert len(index["blobs"]) == 3
    assert all(b["digest"] in children for b in index["blobs"])
    assert index["compressed_size_bytes"] == sum(children[b["digest"]]["compressed_size_bytes"] for b in index["blobs"])
    layer_sizes = {2100000, 2050000, 1800000}
    assert {max(b["compressed_size_bytes"] for b in children[c["digest"]]["blobs"]) for c in index["blobs"]} == layer_sizes
