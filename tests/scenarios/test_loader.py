"""Scenario files: the shipped ones load, bad ones are refused naming the offending path,
and a refused load changes nothing."""

import hashlib
import json
from pathlib import Path

import pytest

from docrsim.core import digests
from docrsim.core.clock import SystemClock, parse_instant
from docrsim.core.content import DOCKER_MANIFEST, OCI_INDEX, parse_manifest
from docrsim.core.errors import Conflict, DomainError
from docrsim.core.graph import unreferenced_blobs, untagged_manifests
from docrsim.core.state import Simulation
from docrsim.scenarios import ScenarioError, apply, read_file

HERE = Path(__file__).resolve().parent
BAD = HERE / "bad"
FIXTURES = HERE.parents[1] / "fixtures"

def expectation(path: Path) -> str:
    first = path.read_text().splitlines()[0]
    assert first.startswith("# expect: "), f"{path.name} must start with '# expect: <fragment>'"
    return first[len("# expect: "):]


def catalogue():
    return [pytest.param(p, id=p.name) for p in sorted(BAD.glob("*.yaml"))]


def load(sim, path, *, replace=True):
    return apply(sim, read_file(path), replace=replace)


# -- the catalogue of bad scenarios -----------------------------------------------------------

def test_the_catalogue_is_large_and_each_entry_distinct():
    files = sorted(BAD.glob("*.yaml"))
    assert len(files) >= 15
    expectations = [expectation(p) for p in files]
    assert len(set(expectations)) == len(expectations)


@pytest.mark.parametrize("path", catalogue())
def test_bad_scenario_is_refused_naming_the_path(path):
    sim = Simulation()
    before = sim.export_state()
    with pytest.raises(ScenarioError) as caught:
        load(sim, path)
    assert expectation(path) in caught.value.message
    assert caught.value.problems and all(isinstance(p, str) for p in caught.value.problems)
    assert sim.export_state() == before


@pytest.mark.parametrize("path", catalogue())
def test_bad_scenario_leaves_a_loaded_world_unchanged(path):
    sim = Simulation()
    load(sim, FIXTURES / "small-app.yaml")
    sim.clock.advance(3600)
    before = sim.export_state()
    for replace in (True, False):
        # (DomainError rather than ScenarioError: the known bugs above still must change nothing.)
        with pytest.raises(DomainError):
            load(sim, path, replace=replace)
        assert sim.export_state() == before


def test_a_late_problem_neither_restarts_the_clock_nor_keeps_earlier_registries():
    sim = Simulation()
    sim.clock.advance(86400)
    before = sim.export_state()
    document = {
        "clock": {"start": "2020-01-01T00:00:00Z"},
        "account": {"tier": "professional"},
        "registries": [{"name": "fine"}, {"name": "also-fine"}, {"name": "broken", "region": "atlantis"}],
    }
    with pytest.raises(ScenarioError, match=r"registries\[2\]\.region"):
        apply(sim, document, replace=True)
    assert sim.export_state() == before


def test_all_problems_are_listed():
    document = {"registries": [{"name": "Bad"}, {"name": "ok", "region": "nowhere"}]}
    with pytest.raises(ScenarioError) as caught:
        apply(Simulation(), document, replace=True)
    assert any(p.startswith("registries[0].name") for p in caught.value.problems)
    assert any(p.startswith("registries[1].region") for p in caught.value.problems)
    assert "more problem" in caught.value.message


def test_unreadable_file(tmp_path):
    with pytest.raises(ScenarioError, match="cannot read the file"):
        read_file(tmp_path / "missing.yaml")


def test_json_files_are_scenarios_too(tmp_path):
    path = tmp_path / "one.json"
    path.write_text(json.dumps({"registries": [{"name": "from-json", "region": "ams3"}]}))
    sim = Simulation()
    assert load(sim, path) == ["from-json"]
    assert sim.account.registry("from-json").region == "ams3"


def test_an_existing_registry_conflicts_and_nothing_changes():
    sim = Simulation(tier="professional")
    apply(sim, {"registries": [{"name": "acme"}]})
    before = sim.export_state()
    with pytest.raises(Conflict):
        apply(sim, {"registries": [{"name": "newcomer"}, {"name": "acme"}]})
    assert sim.export_state() == before


def test_documents_add_up_without_replace():
    sim = Simulation()
    apply(sim, {"account": {"tier": "professional"}, "registries": [{"name": "first"}]})
    apply(sim, {"registries": [{"name": "second"}]})
    assert sorted(sim.account.registries) == ["first", "second"]
    assert sim.account.tier_slug == "professional"


# -- the shipped scenarios --------------------------------------------------------------------

@pytest.mark.parametrize("path", sorted(FIXTURES.glob("*.yaml")), ids=lambda p: p.name)
def test_every_shipped_fixture_loads(path):
    document = read_file(path)
    sim = Simulation()
    sim.clock.advance(10 * 86400)  # a reset may move a manual clock back to the scenario's start
    names = apply(sim, document, replace=True)
    assert names == [r["name"] for r in document.get("registries", [])]
    assert list(sim.account.registries) == names
    if "tier" in document.get("account", {}):
        assert sim.account.tier_slug == document["account"]["tier"]
    if "start" in document.get("clock", {}):
        assert sim.now() == parse_instant(document["clock"]["start"])
    for registry in sim.account.registries.values():
        assert registry.storage_usage_bytes == registry.content.blobs.total_bytes > 0


def test_a_system_clock_is_not_moved_by_a_scenario_start():
    sim = Simulation(clock=SystemClock())
    apply(sim, read_file(FIXTURES / "small-app.yaml"), replace=True)
    assert sim.now().year >= 2026 and sim.account.registry("acme")


def sha(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def test_small_app_has_garbage_of_every_kind():
    sim = Simulation()
    load(sim, FIXTURES / "small-app.yaml")
    registry = sim.account.registry("acme")
    content = registry.content
    assert (registry.region, registry.created_at) == ("nyc3", parse_instant("2025-12-01T09:00:00Z"))
    web = content.repository("web")
    assert len(web.manifests) == 4 and set(web.tags) == {"v1", "v2", "latest"}
    v2 = web.tags["v2"].manifest_digest
    assert web.tags["latest"].manifest_digest == v2
    signature = [d for d in web.manifests if content.manifests[d].parsed.subject is not None]
    assert len(signature) == 1 and content.manifests[signature[0]].parsed.subject.digest == v2
    # The shared base layer is stored once; the re-tagged build is the only untagged garbage.
    assert sha("base layer shared by every web build") in content.blobs
    garbage = untagged_manifests(content)
    assert len(garbage) == 1
    retagged = content.manifests[garbage[0][1]].parsed
    assert sha("web build that was re-tagged away") in {layer.digest for layer in retagged.layers}
    assert unreferenced_blobs(content) == [sha("layer of an image deleted before this scenario begins")]
    migrate = content.resolve("tools/migrate", "2025.12")
    assert migrate.media_type == DOCKER_MANIFEST
    base = migrate.parsed.layers[0]
    assert content.blobs.is_synthetic(base.digest) and content.blobs.size(base.digest) == 31457280


def test_multi_arch_tagged_index_protects_children_and_the_old_build_is_garbage():
    sim = Simulation()
    load(sim, FIXTURES / "multi-arch.yaml")
    content = sim.account.registry("multiarch").content
    current = content.resolve("tool", "1.0")
    assert current.media_type == OCI_INDEX and len(current.parsed.children) == 3
    garbage = {d for _, d in untagged_manifests(content)}
    assert not garbage & {c.digest for c in current.parsed.children}
    old = [d for d in garbage if content.manifests[d].parsed.is_index]
    assert len(old) == 1 and len(garbage) == 3
    assert {c.digest for c in content.manifests[old[0]].parsed.children} == garbage - set(old)


@pytest.fixture(scope="module")
def bulk():
    sim = Simulation()
    load(sim, FIXTURES / "synthetic-10k.yaml")
    return sim.account.registry("bulk").content


def test_synthetic_10k_counts(bulk):
    assert len(bulk.manifests) == 10_000
    assert len(bulk.repositories) == 100
    config_and_layers = {ref.digest for m in bulk.manifests.values() for ref in m.parsed.blob_references}
    assert len(config_and_layers) == 100_000
    # Every stored blob is one of those or a manifest's own bytes.
    assert set(bulk.blobs.digests()) == config_and_layers | set(bulk.manifests)
    layers = {layer.digest for m in bulk.manifests.values() for layer in m.parsed.layers}
    assert len(layers) == 90_000
    assert all(bulk.blobs.is_synthetic(d) and bulk.blobs.size(d) == 1_048_576 for d in layers)
    assert len(untagged_manifests(bulk)) == 2_000  # every fifth image


def check_shortcut(content):
    for digest, manifest in content.manifests.items():
        raw = content.blobs.data(digest)
        assert digests.compute(raw) == digest and manifest.size == len(raw)
        assert parse_manifest(raw) == manifest.parsed, digest


def test_generated_manifests_equal_their_parsed_bytes(bulk):
    check_shortcut(bulk)


@pytest.mark.parametrize("spec", [
    {"repositories": 3, "images_per_repository": 4, "layers_per_image": 0, "untagged_every": 2},
    {"repositories": 11, "images_per_repository": 1, "layer_size": 0, "repository_prefix": "svc"},
    {"repositories": 1, "images_per_repository": 7, "layers_per_image": 2, "untagged_every": 1},
])
def test_generate_shortcut_for_other_shapes(spec):
    sim = Simulation()
    apply(sim, {"account": {"tier": "professional"}, "registries": [{"name": "gen", "generate": spec}]}, replace=True)
    content = sim.account.registry("gen").content
    assert len(content.manifests) == spec["repositories"] * spec["images_per_repository"]
    check_shortcut(content)
    prefix = spec.get("repository_prefix", "repo")
    assert all(name.startswith(prefix + "-") for name in content.repositories)
    every = spec.get("untagged_every", 0)
    expected_untagged = spec["repositories"] * (spec["images_per_repository"] // every) if every else 0
    assert len(untagged_manifests(content)) == expected_untagged
