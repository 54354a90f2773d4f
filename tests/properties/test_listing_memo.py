"""The listing memo never answers with a page the content has moved past.

The DO API keeps each listing page it rendered until its registry's content counts an edit
(docrsim.http.doapi.memo). A state machine pushes images and indexes, retags, deletes through
the API, runs, cancels and finishes garbage collections and moves the clock; after every step,
each listing of both families (several page sizes and pages, in turn as each of two host
names) is asked for as the memo answers it, and from a second API app on the same world whose
memo is emptied first: the two answers must be the same bytes. The last tests show the memo is really in the way: an edit the content does not count
is served stale.
"""

from __future__ import annotations

import json
import os

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test

from docrsim.core import content as media
from docrsim.core import distribution, images
from docrsim.core.clock import ManualClock
from docrsim.core.gc import Rates
from docrsim.core.state import Simulation
from docrsim.core.store import Tag
from docrsim.http.api_app import create_api_app
from docrsim.http.control import restore
from tests.stateful.support import START, nightly

TOKEN = "dop_v1_memo"
REGISTRIES = ("acme", "beta")
REPOS = ("app", "team/web")
TAGS = ("latest", "v1", "v2")
GC_TYPES = ("untagged manifests only", "unreferenced blobs only", "untagged manifests and unreferenced blobs")
BASELINE = {
    "description": "memo model: two empty registries on Professional",
    "clock": {"start": "2026-01-01T00:00:00Z"},
    "account": {"tier": "professional"},
    "registries": [{"name": name, "region": "nyc3"} for name in REGISTRIES],
}
HEADERS = {"Authorization": f"Bearer {TOKEN}"}
HOSTS = ("http://127.0.0.1:8080", "https://api.digitalocean.com")


def listing_paths(registry: str) -> list[str]:
    paths = [f"/v2/registry/{registry}/repositories", f"/v2/registry/{registry}/repositories?per_page=1&page=2"]
    for family in ("/v2/registry", "/v2/registries"):
        paths += [f"{family}/{registry}/repositoriesV2", f"{family}/{registry}/repositoriesV2?per_page=1"]
        for repo in REPOS:
            named = f"{family}/{registry}/repositories/{repo.replace('/', '%2F')}"
            paths += [f"{named}/tags", f"{named}/tags?per_page=1&page=2", f"{named}/digests", f"{named}/digests?per_page=2"]
    return paths


class MemoModel(RuleBasedStateMachine):
    @initialize()
    def start(self):
        self.sim = Simulation(clock=ManualClock(START), gc_rates=Rates(
            scan_manifests_per_second=2, delete_objects_per_second=2, delete_bytes_per_second=10**9))
        restore(self.sim, [BASELINE])
        self.client = create_api_app(self.sim).test_client()
        # A second API app on the same world, whose memo is emptied before each page it renders.
        fresh_app = create_api_app(self.sim)
        self.fresh_client, self.fresh_memo = fresh_app.test_client(), fresh_app.config["DOCRSIM_PAGES"]
        self.checks = 0

    def api(self, method: str, path: str, body=None, host: str = HOSTS[0]):
        return self.client.open(path, method=method, base_url=host, headers=HEADERS, json=body)

    # -- content changes ----------------------------------------------------------------------
    @rule(registry=st.sampled_from(REGISTRIES), repo=st.sampled_from(REPOS), tag=st.none() | st.sampled_from(TAGS),
          label=st.integers(0, 4), layers=st.integers(1, 2))
    def push_image(self, registry, repo, tag, label, layers):
        with self.sim.transaction() as now:
            try:
                images.push_image(self.sim, registry, repo, tag=tag, layers=layers, layer_size=64 + label,
                                           now=now, label=f"image-{label}")
            except Exception:  # noqa: BLE001 - read-only during a run: nothing changes
                return

    @rule(registry=st.sampled_from(REGISTRIES), repo=st.sampled_from(REPOS), tag=st.none() | st.sampled_from(TAGS),
          data=st.data())
    def push_index(self, registry, repo, tag, data):
        linked = self.linked(registry, repo)
        if not linked:
            return
        children = data.draw(st.lists(st.sampled_from(linked), min_size=1, max_size=2, unique=True))
        with self.sim.transaction() as now:
            content = self.sim.account.registry(registry).content
            body = json.dumps({"schemaVersion": 2, "mediaType": media.OCI_INDEX, "manifests": [
                {"mediaType": content.manifests[d].media_type, "digest": d, "size": content.manifests[d].size}
                for d in children]}).encode()
            try:
                distribution.put_manifest(self.sim, registry, repo, body, now, media_type=media.OCI_INDEX, tag=tag,
                                          expected_digest=None)
            except Exception:  # noqa: BLE001 - read-only during a run
                return

    @rule(registry=st.sampled_from(REGISTRIES), repo=st.sampled_from(REPOS), tag=st.sampled_from(TAGS), data=st.data())
    def retag(self, registry, repo, tag, data):
        linked = self.linked(registry, repo)
        if linked:
            digest = data.draw(st.sampled_from(linked))
            with self.sim.transaction() as now:
                if not self.sim.gc.is_read_only(registry):
                    self.sim.account.registry(registry).content.tag_manifest(repo, tag, digest, now)

    @rule(registry=st.sampled_from(REGISTRIES), repo=st.sampled_from(REPOS), data=st.data(),
          size=st.integers(1, 10**6))
    def declare_uncompressed_size(self, registry, repo, data, size):
        """A fixture may declare a stored layer's uncompressed size: its manifests weigh more."""
        with self.sim.transaction():
            content = self.sim.account.registry(registry).content
            blobs = [d for d in content.blobs.digests() if content.links.linked(repo, d)]
            if blobs:
                digest = data.draw(st.sampled_from(sorted(blobs)))
                content.blobs.put_synthetic(digest, content.blobs.size(digest), content.blobs.size(digest) + size)

    @rule(registry=st.sampled_from(REGISTRIES), repo=st.sampled_from(REPOS), tag=st.sampled_from(TAGS),
          family=st.sampled_from(("/v2/registry", "/v2/registries")))
    def delete_tag(self, registry, repo, tag, family):
        self.api("DELETE", f"{family}/{registry}/repositories/{repo.replace('/', '%2F')}/tags/{tag}")

    @rule(registry=st.sampled_from(REGISTRIES), repo=st.sampled_from(REPOS), data=st.data())
    def delete_manifest(self, registry, repo, data):
        linked = self.linked(registry, repo)
        if linked:
            digest = data.draw(st.sampled_from(linked))
            self.api("DELETE", f"/v2/registries/{registry}/repositories/{repo.replace('/', '%2F')}/digests/{digest}")

    @rule(registry=st.sampled_from(REGISTRIES), repo=st.sampled_from(REPOS))
    def delete_repository(self, registry, repo):
        self.api("DELETE", f"/v2/registries/{registry}/repositories/{repo.replace('/', '%2F')}")

    @rule(registry=st.sampled_from(REGISTRIES), gc_type=st.sampled_from(GC_TYPES))
    def start_gc(self, registry, gc_type):
        self.api("POST", f"/v2/registry/{registry}/garbage-collection", {"type": gc_type})

    @rule(registry=st.sampled_from(REGISTRIES))
    def cancel_gc(self, registry):
        answer = self.api("GET", f"/v2/registry/{registry}/garbage-collection")
        if answer.status_code == 200:
            uuid = answer.get_json()["garbage_collection"]["uuid"]
            self.api("PUT", f"/v2/registry/{registry}/garbage-collection/{uuid}", {"cancel": True})

    @rule(seconds=st.sampled_from((0.5, 1, 2, 5, 60, 901)))
    def advance(self, seconds):
        self.sim.clock.advance(seconds)  # time is lazy: the next listing settles the runs

    def linked(self, registry: str, repo: str) -> list[str]:
        with self.sim.transaction():
            found = self.sim.account.registry(registry).content.repositories.get(repo)
            return sorted(found.manifests) if found else []

    # -- the property -------------------------------------------------------------------------
    @invariant()
    def every_page_is_the_page_the_content_renders(self):
        self.checks += 1
        host = HOSTS[self.checks % 2]  # the memo keeps a page per host name; each is checked every other step
        for registry in REGISTRIES:
            for path in listing_paths(registry):
                kept = self.api("GET", path, host=host)
                self.fresh_memo.clear()
                fresh = self.fresh_client.get(path, base_url=host, headers=HEADERS)
                assert kept.status_code == fresh.status_code, (host, path)
                if kept.status_code == 200:
                    assert kept.get_data() == fresh.get_data(), (host, path)
                else:  # an error names its own request
                    assert {**kept.get_json(), "request_id": None} == {**fresh.get_json(), "request_id": None}
                assert kept.headers["Content-Type"] == fresh.headers["Content-Type"]


def test_listings_answered_from_memory_match_a_fresh_render():
    run_state_machine_as_test(MemoModel, settings=settings(
        max_examples=300 if nightly() else int(os.environ.get("MEMO_EXAMPLES", 25)),
        stateful_step_count=40 if nightly() else 20, deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    ))


@pytest.fixture
def served():
    sim = Simulation(clock=ManualClock(START))
    restore(sim, [BASELINE])
    with sim.transaction() as now:
        images.push_image(sim, "acme", "app", tag="v1", layers=1, layer_size=10, now=now)
    app = create_api_app(sim)
    return sim, app, app.test_client()


def tag_names(client) -> list[str]:
    answer = client.get("/v2/registries/acme/repositories/app/tags", headers=HEADERS)
    assert answer.status_code == 200, answer.text
    return [t["tag"] for t in answer.get_json()["tags"]]


def test_an_edit_the_content_does_not_count_would_be_served_stale(served):
    """Why every edit of the store counts: one behind its back is not seen until the next."""
    sim, app, client = served
    assert tag_names(client) == ["v1"]
    with sim.transaction() as now:
        repo = sim.account.registry("acme").content.repositories["app"]
        repo.tags["v2"] = Tag(manifest_digest=repo.tags["v1"].manifest_digest, updated_at=now)  # uncounted
    assert tag_names(client) == ["v1"]  # the kept page
    app.config["DOCRSIM_PAGES"].clear()
    assert sorted(tag_names(client)) == ["v1", "v2"]


def test_a_counted_edit_renders_the_page_again(served):
    sim, _app, client = served
    assert tag_names(client) == ["v1"]
    with sim.transaction() as now:
        content = sim.account.registry("acme").content
        content.tag_manifest("app", "v2", content.repositories["app"].tags["v1"].manifest_digest, now)
    assert sorted(tag_names(client)) == ["v1", "v2"]


def test_a_refused_request_is_judged_every_time(served):
    _sim, _app, client = served
    for _ in range(2):
        answer = client.get("/v2/registries/acme/repositories/app/tags?per_page=0", headers=HEADERS)
        assert answer.status_code == 422, answer.text
        answer = client.get("/v2/registries/acme/repositories/app/tags", headers={"Authorization": "Bearer "})
        assert answer.status_code == 401, answer.text


def test_a_registry_keeps_at_most_its_byte_budget(served, monkeypatch):
    from docrsim.http.doapi import memo

    sim, app, client = served
    monkeypatch.setattr(memo, "BYTES_PER_REGISTRY", 1500)
    for page in range(1, 40):
        assert client.get(f"/v2/registries/acme/repositoriesV2?page={page}", headers=HEADERS).status_code == 200
        pages = app.config["DOCRSIM_PAGES"]._by_content[sim.account.registry("acme").content]
        assert pages.size == sum(map(len, pages.bodies.values())) <= 1500
