"""Page-number pagination and page tokens, walked the way doctl and godo walk them."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import start_live


def scenario_with(repositories: int, tags: int) -> dict:
    return {
        "account": {"tier": "professional"},
        "registries": [{
            "name": "paged",
            "repositories": [{"name": f"repo-{i:03d}"} for i in range(repositories)]
            + [{"name": "tagged", "manifests": [{"tags": [f"t{i:03d}"], "layers": [{"content": f"layer {i}"}]}
                                               for i in range(tags)]}],
        }],
    }


def query(url: str) -> dict:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def test_doctl_walk_reads_last_and_fetches_every_page():
    live = start_live([scenario_with(repositories=0, tags=45)])
    try:
        path = "/v2/registries/paged/repositories/tagged/tags"
        first = live.http.get(live.url(path + "?page=1&per_page=20")).json()
        assert first["meta"]["total"] == 45
        pages = first["links"]["pages"]
        assert set(pages) == {"next", "last"}
        assert pages["last"].startswith(live.api_url + path + "?")
        last = int(query(pages["last"])["page"])
        assert last == 3
        seen = [t["tag"] for t in first["tags"]]
        for page in range(2, last + 1):
            body = live.http.get(live.url(f"{path}?page={page}&per_page=20")).json()
            seen += [t["tag"] for t in body["tags"]]
        assert sorted(seen) == [f"t{i:03d}" for i in range(45)]
        final = live.http.get(live.url(path + "?page=3&per_page=20")).json()
        assert set(final["links"]["pages"]) == {"first", "prev"}
        assert query(final["links"]["pages"]["prev"])["page"] == "2"
    finally:
        live.server.stop()


def test_over_range_page_is_empty_with_the_total():
    live = start_live([scenario_with(repositories=3, tags=0)])
    try:
        body = live.http.get(live.url("/v2/registries/paged/repositoriesV2?page=9&per_page=2")).json()
        assert body["repositories"] == [] and body["meta"]["total"] == 4
    finally:
        live.server.stop()


def test_single_page_has_no_links():
    live = start_live([scenario_with(repositories=2, tags=0)])
    try:
        body = live.http.get(live.url("/v2/registries/paged/repositoriesV2")).json()
        assert body["links"] == {} and body["meta"]["total"] == 3
    finally:
        live.server.stop()


def test_links_repeat_other_query_parameters():
    live = start_live([scenario_with(repositories=5, tags=0)])
    try:
        body = live.http.get(live.url("/v2/registries/paged/repositoriesV2?per_page=2&extra=kept")).json()
        assert query(body["links"]["pages"]["next"])["extra"] == "kept"
    finally:
        live.server.stop()


_SERVER = {}


def _shared_live(repositories: int):
    # One server per size keeps the property test fast; the content is only read.
    if repositories not in _SERVER:
        _SERVER[repositories] = start_live([scenario_with(repositories=repositories, tags=0)])
    return _SERVER[repositories]


def teardown_module(module):
    for live in _SERVER.values():
        live.server.stop()
    _SERVER.clear()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(repositories=st.sampled_from([0, 1, 7, 23]), per_page=st.integers(1, 9), use_alias=st.booleans())
def test_following_next_tokens_visits_every_repository_once(repositories, per_page, use_alias):
    live = _shared_live(repositories)
    size = "page_size" if use_alias else "per_page"
    url = live.url(f"/v2/registries/paged/repositoriesV2?{size}={per_page}")
    names, hops = [], 0
    while url:
        body = live.http.get(url).json()
        assert body["meta"]["total"] == repositories + 1
        assert len(body["repositories"]) <= per_page
        names += [r["name"] for r in body["repositories"]]
        pages = body["links"].get("pages", {})
        url = pages.get("next")
        if url:
            q = query(url)
            assert "page_token" in q and int(q["per_page"]) == per_page
            assert "page_token" not in query(pages["last"])
        hops += 1
        assert hops <= repositories + 2
    assert names == sorted(names) and len(names) == len(set(names)) == repositories + 1


def test_page_token_overrides_page():
    live = start_live([scenario_with(repositories=5, tags=0)])
    try:
        first = live.http.get(live.url("/v2/registries/paged/repositoriesV2?per_page=2")).json()
        token = query(first["links"]["pages"]["next"])["page_token"]
        second = live.http.get(live.url(f"/v2/registries/paged/repositoriesV2?per_page=2&page=1&page_token={token}")).json()
        assert [r["name"] for r in second["repositories"]] == ["repo-002", "repo-003"]
        assert query(second["links"]["pages"]["prev"])["page"] == "1"
    finally:
        live.server.stop()
