"""Repositories, tags and manifests through pydo: content, names with '/', digests, pagination."""

from __future__ import annotations

import pytest
from azure.core.exceptions import HttpResponseError

from docrsim.scenarios import read_file
from tests.clients.pydo_support import connect, page_number, page_token, with_status
from tests.clients.pydo_support import pydo_client  # noqa: F401  (a fixture)
from tests.conftest import FIXTURES, start_live

MIGRATE_LAYERS = {31457280, len("migration scripts")}


# -- repositories -------------------------------------------------------------------------------
def test_repositories_v2_on_both_families(scenario, pydo_client):
    live = scenario("small-app")
    client = pydo_client(live)
    listed = client.registries.list_repositories_v2("acme")
    assert listed["meta"] == {"total": 2} and listed["links"] == {}
    tools, web = listed["repositories"]
    assert (tools["name"], tools["tag_count"], tools["manifest_count"]) == ("tools/migrate", 1, 1)
    assert (web["name"], web["tag_count"], web["manifest_count"]) == ("web", 3, 4)
    assert {tools["registry_name"], web["registry_name"]} == {"acme"}
    # web's newest push is the cosign signature of v2: untagged, a payload and a config.
    assert (web["latest_manifest"]["updated_at"], web["latest_manifest"]["tags"]) == ("2025-12-04T10:05:00Z", [])
    assert len(web["latest_manifest"]["blobs"]) == 2
    latest = tools["latest_manifest"]
    assert latest["tags"] == ["2025.12"] and latest["repository"] == "tools/migrate"
    assert MIGRATE_LAYERS <= {b["compressed_size_bytes"] for b in latest["blobs"]}
    assert latest["compressed_size_bytes"] == sum(b["compressed_size_bytes"] for b in latest["blobs"])

    assert client.registry.list_repositories_v2("acme")["repositories"] == listed["repositories"]


def test_repositories_v1_lists_tagged_repositories_with_their_latest_tag(scenario, pydo_client):
    live = scenario("small-app")
    client = pydo_client(live)
    before = client.registry.list_repositories("acme")
    assert before["meta"] == {"total": 2}
    tools, web = before["repositories"]
    assert (tools["name"], tools["tag_count"], tools["latest_tag"]["tag"]) == ("tools/migrate", 1, "2025.12")
    assert (web["name"], web["tag_count"]) == ("web", 3)
    assert web["latest_tag"]["tag"] == "latest"  # v2 and latest were pushed together; name breaks the tie
    assert web["latest_tag"]["updated_at"] == "2025-12-04T10:00:00Z"

    assert client.registry.delete_repository_tag("acme", "tools/migrate", "2025.12") is None
    after = client.registry.list_repositories("acme")
    assert [r["name"] for r in after["repositories"]] == ["web"]
    # The V2 list still shows the repository, now with no tag.
    v2 = {r["name"]: r for r in client.registries.list_repositories_v2("acme")["repositories"]}
    assert (v2["tools/migrate"]["tag_count"], v2["tools/migrate"]["manifest_count"]) == (0, 1)


# -- tags and manifests -------------------------------------------------------------------------
def test_tags_and_manifests_of_a_repository_with_a_slash(scenario, pydo_client):
    live = scenario("small-app")
    client = pydo_client(live)
    tags = client.registries.list_repository_tags("acme", "tools/migrate")
    assert tags["meta"] == {"total": 1}
    tag = tags["tags"][0]
    assert (tag["tag"], tag["repository"], tag["registry_name"]) == ("2025.12", "tools/migrate", "acme")
    assert tag["updated_at"] == "2025-12-05T08:00:00Z"

    manifests = client.registry.list_repository_manifests("acme", "tools/migrate")["manifests"]
    assert [m["digest"] for m in manifests] == [tag["manifest_digest"]]
    sizes = sorted(b["compressed_size_bytes"] for b in manifests[0]["blobs"])
    assert len(sizes) == 3 and MIGRATE_LAYERS <= set(sizes)  # two layers and a config
    assert tag["compressed_size_bytes"] == manifests[0]["compressed_size_bytes"] == sum(sizes)
    assert client.registry.list_repository_tags("acme", "tools/migrate")["tags"] == tags["tags"]

    # pydo escapes the '/' inside the path segment; docrsim keeps it in the name.
    paths = [s.path for s in client.seen]
    assert paths == [
        "/v2/registries/acme/repositories/tools%2Fmigrate/tags",
        "/v2/registry/acme/repositories/tools%2Fmigrate/digests",
        "/v2/registry/acme/repositories/tools%2Fmigrate/tags",
    ]


def test_manifests_newest_first_with_their_tags(scenario, pydo_client):
    live = scenario("small-app")
    client = pydo_client(live)
    manifests = client.registries.list_repository_manifests("acme", "web")["manifests"]
    assert [m["tags"] for m in manifests] == [[], ["latest", "v2"], [], ["v1"]]
    assert [m["updated_at"] for m in manifests] == [
        "2025-12-04T10:05:00Z", "2025-12-04T10:00:00Z", "2025-12-03T10:00:00Z", "2025-12-02T10:00:00Z"]
    # Every web build shares its base layer; each has its own application layer and config.
    builds = manifests[1:]
    shared = set.intersection(*({b["digest"] for b in m["blobs"]} for m in builds))
    assert len(shared) == 1
    assert all(len(m["blobs"]) == 3 for m in builds)
    tags = client.registries.list_repository_tags("acme", "web")["tags"]
    assert [(t["tag"], t["manifest_digest"]) for t in tags] == [
        ("latest", manifests[1]["digest"]), ("v2", manifests[1]["digest"]), ("v1", manifests[3]["digest"])]


def test_deleting_tags_and_manifests_by_digest(scenario, pydo_client):
    live = scenario("small-app")
    client = pydo_client(live)
    manifests = client.registries.list_repository_manifests("acme", "web")["manifests"]
    release = next(m for m in manifests if m["tags"] == ["latest", "v2"])
    storage = client.registries.get("acme")["registry"]["storage_usage_bytes"]

    # A digest has a ':' in it; pydo percent-encodes it and docrsim must still find the manifest.
    assert client.registry.delete_repository_manifest("acme", "web", release["digest"]) is None
    assert client.seen[-1].path.endswith("/digests/" + release["digest"].replace(":", "%3A"))
    left = client.registries.list_repository_manifests("acme", "web")["manifests"]
    assert release["digest"] not in [m["digest"] for m in left] and len(left) == 3
    assert [t["tag"] for t in client.registries.list_repository_tags("acme", "web")["tags"]] == ["v1"]
    # Nothing is freed until a garbage collection runs.
    assert client.registries.get("acme")["registry"]["storage_usage_bytes"] == storage

    status, body, _ = client.registries.delete_repository_manifest("acme", "web", release["digest"], cls=with_status)
    assert status == 404 and body["id"] == "not_found" and release["digest"] in body["message"]

    assert client.registries.delete_repository_tag("acme", "web", "v1") is None
    status, body, _ = client.registry.delete_repository_tag("acme", "web", "v1", cls=with_status)
    assert status == 404 and body["id"] == "not_found" and "v1" in body["message"]
    assert client.registries.list_repository_tags("acme", "web")["tags"] == []
    assert client.registries.list_repositories_v2("acme")["repositories"][1]["tag_count"] == 0


def test_a_malformed_digest_raises_422(scenario, pydo_client):
    live = scenario("small-app")
    client = pydo_client(live)
    for digest in ("sha256:short", "md5:abc"):
        with pytest.raises(HttpResponseError) as bad:
            client.registries.delete_repository_manifest("acme", "web", digest)
        assert bad.value.status_code == 422
        assert bad.value.response.json()["id"] == "unprocessable_entity"
    assert client.registries.list_repositories_v2("acme")["repositories"][1]["manifest_count"] == 4


DEEP = {"registries": [{"name": "deep", "repositories": [
    {"name": "team/app/api", "manifests": [
        {"tags": ["v1", "stable"], "pushed_at": "2025-12-10T00:00:00Z", "layers": [{"content": "api v1"}]},
        {"tags": ["v2"], "pushed_at": "2025-12-11T00:00:00Z", "layers": [{"content": "api v2"}]},
    ]},
    {"name": "team/app", "manifests": [{"tags": ["v1"], "layers": [{"content": "app v1"}]}]},
    # A name whose last part is a word the routes use.
    {"name": "web/tags", "manifests": [{"tags": ["digests"], "layers": [{"content": "odd one"}]}]},
]}]}


def test_nested_and_route_like_repository_names(live, pydo_client):
    assert live.http.post(live.url("/_docrsim/fixtures"), json=DEEP).status_code == 201
    client = pydo_client(live)
    names = [r["name"] for r in client.registries.list_repositories_v2("deep")["repositories"]]
    assert names == ["team/app", "team/app/api", "web/tags"]
    assert [t["tag"] for t in client.registries.list_repository_tags("deep", "team/app/api")["tags"]] == [
        "v2", "stable", "v1"]
    assert [t["tag"] for t in client.registry.list_repository_tags("deep", "team/app")["tags"]] == ["v1"]
    assert [m["tags"] for m in client.registry.list_repository_manifests("deep", "web/tags")["manifests"]] == [
        ["digests"]]

    assert client.registry.delete_repository_tag("deep", "web/tags", "digests") is None
    assert client.registries.delete_repository("deep", "team/app") is None  # not team/app/api
    assert client.registries.delete_repository("deep", "web/tags") is None
    left = client.registries.list_repositories_v2("deep")["repositories"]
    assert [(r["name"], r["tag_count"]) for r in left] == [("team/app/api", 3)]
    status, body, _ = client.registries.list_repository_tags("deep", "team/app", cls=with_status)
    assert status == 404 and "team/app" in body["message"]
    assert [s.path for s in client.seen if s.operation_id == "registries_delete_repository"] == [
        "/v2/registries/deep/repositories/team%2Fapp", "/v2/registries/deep/repositories/web%2Ftags"]


def test_an_index_lists_its_untagged_children(scenario, pydo_client):
    live = scenario("multi-arch")
    client = pydo_client(live)
    manifests = client.registries.list_repository_manifests("multiarch", "tool")["manifests"]
    assert len(manifests) == 7  # two indexes, five platform images
    by_digest = {m["digest"]: m for m in manifests}
    index = next(m for m in manifests if m["tags"])
    assert index["tags"] == ["1.0", "latest"]
    children = [by_digest[b["digest"]] for b in index["blobs"]]  # each child is listed in its own right
    assert len(children) == 3 and all(not c["tags"] for c in children)
    assert index["compressed_size_bytes"] == sum(c["compressed_size_bytes"] for c in children)
    layers = {max(b["compressed_size_bytes"] for b in c["blobs"]) for c in children}
    assert layers == {2100000, 2050000, 1800000}
    repo = client.registries.list_repositories_v2("multiarch")["repositories"][0]
    assert (repo["tag_count"], repo["manifest_count"]) == (2, 7)


# -- pagination over the synthetic scenario (100 repositories x 100 images, every fifth untagged) --
@pytest.fixture(scope="module")
def bulk():
    live = start_live([read_file(FIXTURES / "synthetic-10k.yaml")])
    client = connect(live)
    yield live, client
    client.close()
    live.http.close()
    live.server.stop()


REPOSITORIES = [f"repo-{i:02d}" for i in range(100)]
TAGS = {f"v{i}" for i in range(100) if (i + 1) % 5}


def test_repositories_v2_followed_by_page_token(bulk):
    _, client = bulk
    names, token, pages = [], None, 0
    while pages < 10:
        page = client.registries.list_repositories_v2("bulk", per_page=30, page_token=token)
        assert page["meta"]["total"] == 100 and len(page["repositories"]) <= 30
        names += [r["name"] for r in page["repositories"]]
        pages += 1
        following = page["links"].get("pages", {}).get("next")
        if following is None:
            break
        token = page_token(following)
    assert pages == 4 and names == REPOSITORIES
    # The prev and first links carry tokens too.
    prev = page_token(page["links"]["pages"]["prev"])
    back = client.registries.list_repositories_v2("bulk", per_page=30, page_token=prev)
    assert [r["name"] for r in back["repositories"]] == REPOSITORIES[60:90]
    first = page_token(back["links"]["pages"]["first"])
    start = client.registries.list_repositories_v2("bulk", per_page=30, page_token=first)
    assert [r["name"] for r in start["repositories"]] == REPOSITORIES[:30]
    assert all(r["tag_count"] == 80 and r["manifest_count"] == 100 for r in page["repositories"])


def test_repositories_v2_by_page_number_up_to_last(bulk):
    _, client = bulk
    first = client.registry.list_repositories_v2("bulk", per_page=40)
    last = page_number(first["links"]["pages"]["last"])
    assert last == 3
    names = [r["name"] for r in first["repositories"]]
    for page in range(2, last + 1):
        body = client.registry.list_repositories_v2("bulk", per_page=40, page=page)
        names += [r["name"] for r in body["repositories"]]
    assert names == REPOSITORIES
    beyond = client.registry.list_repositories_v2("bulk", per_page=40, page=9)
    assert beyond["repositories"] == [] and beyond["meta"]["total"] == 100


def test_repositories_v1_pages(bulk):
    _, client = bulk
    pages = [client.registry.list_repositories("bulk", per_page=45, page=p) for p in (1, 2, 3)]
    assert [len(p["repositories"]) for p in pages] == [45, 45, 10]
    assert [r["name"] for p in pages for r in p["repositories"]] == REPOSITORIES
    assert set(pages[0]["links"]["pages"]) == {"next", "last"}
    assert set(pages[2]["links"]["pages"]) == {"first", "prev"}
    assert page_number(pages[2]["links"]["pages"]["prev"]) == 2


def test_tags_and_manifests_pages(bulk):
    _, client = bulk
    seen_tags = []
    for page in range(1, 5):
        body = client.registries.list_repository_tags("bulk", "repo-42", per_page=25, page=page)
        assert body["meta"]["total"] == 80
        seen_tags += [t["tag"] for t in body["tags"]]
    assert len(seen_tags) == 80 and set(seen_tags) == TAGS
    older = client.registry.list_repository_tags("bulk", "repo-42", per_page=80)["tags"]
    assert [t["tag"] for t in older] == seen_tags

    manifests = client.registry.list_repository_manifests("bulk", "repo-07", per_page=200)
    assert manifests["meta"]["total"] == 100 and manifests["links"] == {}
    assert sum(1 for m in manifests["manifests"] if not m["tags"]) == 20
    image = manifests["manifests"][0]
    assert len(image["blobs"]) == 10  # a config and nine layers
    assert sorted(b["compressed_size_bytes"] for b in image["blobs"])[1:] == [1048576] * 9
    second = client.registries.list_repository_manifests("bulk", "repo-07", per_page=60, page=2)["manifests"]
    assert [m["digest"] for m in second] == [m["digest"] for m in manifests["manifests"][60:]]


def test_paging_mistakes_through_pydo(bulk):
    _, client = bulk
    status, body, _ = client.registries.list_repositories_v2("bulk", page_token="not-a-token", cls=with_status)
    assert status == 400 and body["id"] == "bad_request" and "page_token" in body["message"]
    for call in (client.registries.list_repository_tags, client.registry.list_repository_manifests):
        with pytest.raises(HttpResponseError) as too_many:
            call("bulk", "repo-01", per_page=201)
        assert too_many.value.status_code == 422
        assert "per_page must be at most 200" in too_many.value.response.json()["message"]
