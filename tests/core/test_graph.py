"""The reference graph, checked against a model the test keeps for itself.

Random registries are built through the store API (images sharing layers, indexes, referrers,
tags, deletes). The test records what it pushed and linked, derives what ought to be
referenced, reachable and how much each manifest weighs, and compares with docrsim.
"""

import json
from dataclasses import dataclass, field
from datetime import datetime, timezone

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from docrsim.core import digests
from docrsim.core.content import OCI_INDEX, OCI_MANIFEST
from docrsim.core.graph import manifest_sizes, referenced_blobs, unreferenced_blobs, untagged_manifests
from docrsim.core.store import RegistryContent

NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)
LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
CONFIG = "application/vnd.oci.image.config.v1+json"
FOREIGN = "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"
REPOS = ["app", "lib", "tools/x"]
TAGS = ["latest", "v1", "v2", "stable"]


@dataclass(frozen=True)
class Layer:
    digest: str
    size: int
    uncompressed: int | None = None  # for synthetic layers
    data: bytes | None = None  # real bytes, or None
    media_type: str = LAYER


def _real(data: bytes) -> Layer:
    return Layer(digests.compute(data), len(data), data=data)


LAYER_POOL = [
    _real(b"base os layer"),
    _real(b"runtime layer, shared"),
    _real(b"app layer one"),
    _real(b"app layer two!"),
    Layer(digests.synthetic("graph/synthetic-0"), 5000, uncompressed=12000),
    Layer(digests.synthetic("graph/synthetic-1"), 7000),
    # Non-distributable: referenced by the manifest, never held by the registry.
    Layer(digests.compute(b"foreign base"), 4242, media_type=FOREIGN),
]
CONFIGS = [f"config {i}".encode() for i in range(4)]


@dataclass
class Pushed:
    raw_size: int
    media_type: str
    config: Layer | None = None
    layers: tuple = ()
    children: tuple = ()
    subject: str | None = None


@dataclass
class Model:
    blobs: dict = field(default_factory=dict)  # digest -> (size, uncompressed)
    pushed: dict = field(default_factory=dict)  # digest -> Pushed
    links: dict = field(default_factory=dict)  # repo -> set of digests
    tags: dict = field(default_factory=dict)  # repo -> {tag: digest}

    def live(self) -> set:
        return set().union(*self.links.values()) if self.links else set()


class World:
    def __init__(self):
        self.content = RegistryContent()
        self.model = Model()
        self.signatures = 0

    # -- operations through the store API, mirrored in the model --------------------------------
    def put_blob(self, layer: Layer) -> None:
        if layer.media_type == FOREIGN:
            return
        if layer.data is not None:
            self.content.blobs.put(layer.data)
        else:
            self.content.blobs.put_synthetic(layer.digest, layer.size, layer.uncompressed)
        self.model.blobs[layer.digest] = (layer.size, layer.uncompressed or layer.size)

    def put_manifest(self, repo: str, document: dict, tag: str | None, pushed: Pushed) -> str:
        raw = json.dumps(document).encode()
        digest = self.content.put_manifest(repo, raw, NOW, tag=tag)
        assert digest == digests.compute(raw)
        pushed.raw_size = len(raw)
        self.model.pushed[digest] = pushed
        self.model.blobs[digest] = (len(raw), len(raw))
        self.model.links.setdefault(repo, set()).add(digest)
        self.model.tags.setdefault(repo, {})
        if tag is not None:
            self.model.tags[repo][tag] = digest
        return digest

    def descriptor(self, digest: str) -> dict:
        p = self.model.pushed[digest]
        return {"mediaType": p.media_type, "digest": digest, "size": p.raw_size}

    def push_image(self, repo, config: bytes, layers, tag, subject=None, artifact_type=None) -> str:
        cfg = _real(config)
        for blob in (cfg, *layers):
            self.put_blob(blob)
        document = {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": CONFIG, "digest": cfg.digest, "size": cfg.size},
            "layers": [{"mediaType": x.media_type, "digest": x.digest, "size": x.size} for x in layers],
        }
        if artifact_type:
            document["artifactType"] = artifact_type
        subject_digest = None
        if subject is not None:
            document["subject"] = subject
            subject_digest = subject["digest"]
        return self.put_manifest(repo, document, tag,
                                 Pushed(0, OCI_MANIFEST, cfg, tuple(layers), subject=subject_digest))

    def push_index(self, repo, children, tag) -> str:
        document = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [self.descriptor(c) for c in children]}
        return self.put_manifest(repo, document, tag, Pushed(0, OCI_INDEX, children=tuple(children)))

    def push_referrer(self, repo, subject: dict) -> str:
        self.signatures += 1
        signature = _real(f"signature {self.signatures}".encode())
        return self.push_image(repo, b"signature config", [signature], None, subject=subject,
                               artifact_type="application/vnd.example.signature")

    def tag(self, repo, tag, digest):
        self.content.tag_manifest(repo, tag, digest, NOW)
        self.model.tags[repo][tag] = digest

    def delete_tag(self, repo, tag):
        self.content.delete_tag(repo, tag)
        del self.model.tags[repo][tag]

    def delete_manifest(self, repo, digest):
        self.content.delete_manifest(repo, digest)
        self.model.links[repo].discard(digest)
        self.model.tags[repo] = {t: d for t, d in self.model.tags[repo].items() if d != digest}

    def delete_repository(self, repo):
        self.content.delete_repository(repo)
        del self.model.links[repo]
        del self.model.tags[repo]

    # -- what the model says ----------------------------------------------------------------------
    def expected_referenced(self) -> set:
        marked = set()
        for digest in self.model.live():
            p = self.model.pushed[digest]
            marked.add(digest)
            if p.config is not None:
                marked.add(p.config.digest)
            marked.update(layer.digest for layer in p.layers)
        return marked

    def expected_reachable(self, repo) -> set:
        links = self.model.links[repo]
        reached, frontier = set(), {d for d in self.model.tags[repo].values()}
        while frontier:
            reached |= frontier
            following = set()
            for digest in frontier:
                following.update(c for c in self.model.pushed[digest].children if c in links)
            following.update(d for d in links if self.model.pushed[d].subject in frontier)
            frontier = following - reached
        return reached

    def expected_sizes(self, digest, ancestors=frozenset()) -> tuple[int, int]:
        p = self.model.pushed[digest]
        if p.media_type == OCI_INDEX:
            compressed = uncompressed = 0
            for child in p.children:
                if child in self.model.live() and child not in ancestors:
                    c, u = self.expected_sizes(child, ancestors | {digest})
                else:
                    c = u = self.model.pushed[child].raw_size
                compressed += c
                uncompressed += u
            return compressed, uncompressed
        refs = (p.config, *p.layers)
        compressed = sum(r.size for r in refs)
        uncompressed = sum(self.model.blobs[r.digest][1] if r.digest in self.model.blobs else r.size for r in refs)
        return compressed, uncompressed

    def check(self):
        content, model = self.content, self.model
        # The store holds what the model says it should.
        assert set(content.repositories) == set(model.links)
        for name, repo in content.repositories.items():
            assert set(repo.manifests) == model.links[name]
            assert {t: v.manifest_digest for t, v in repo.tags.items()} == model.tags[name]
        assert set(content.manifests) == model.live()
        assert {d: content.blobs.size(d) for d in content.blobs.digests()} == {d: s for d, (s, _) in model.blobs.items()}
        assert content.blobs.total_bytes == sum(s for s, _ in model.blobs.values())

        referenced = self.expected_referenced()
        assert referenced_blobs(content) == referenced
        assert unreferenced_blobs(content) == sorted(set(model.blobs) - referenced)

        garbage = untagged_manifests(content)
        expected_garbage = [
            (repo, d) for repo in sorted(model.links) for d in sorted(model.links[repo] - self.expected_reachable(repo))
        ]
        assert garbage == expected_garbage

        # The two protection rules, stated directly.
        garbage = set(garbage)
        for repo, tags in model.tags.items():
            for digest in tags.values():
                for child in model.pushed[digest].children:
                    if child in model.links[repo]:
                        assert (repo, child) not in garbage, "a tagged index must protect its children"
        for repo, links in model.links.items():
            for digest in links:
                subject = model.pushed[digest].subject
                if subject in links and (repo, subject) not in garbage:
                    assert (repo, digest) not in garbage, "a referrer of a protected manifest is protected"

        for digest in model.live():
            sizes = manifest_sizes(content, content.manifests[digest])
            assert (sizes.compressed, sizes.uncompressed) == self.expected_sizes(digest)


OPERATIONS = ["image", "image", "image", "index", "referrer", "tag", "untag", "delete", "delete_repo", "dangling"]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_random_registries_match_the_model(data):
    world = World()
    steps = data.draw(st.integers(min_value=1, max_value=30), label="steps")
    for _ in range(steps):
        op = data.draw(st.sampled_from(OPERATIONS), label="op")
        repo = data.draw(st.sampled_from(REPOS), label="repo")
        links = sorted(world.model.links.get(repo, ()))
        maybe_tag = st.one_of(st.none(), st.sampled_from(TAGS))
        if op == "image":
            layers = data.draw(st.lists(st.sampled_from(LAYER_POOL), max_size=4, unique=True), label="layers")
            config = data.draw(st.sampled_from(CONFIGS), label="config")
            world.push_image(repo, config, layers, data.draw(maybe_tag, label="tag"))
        elif op == "index" and links:
            children = data.draw(st.lists(st.sampled_from(links), min_size=1, max_size=3, unique=True), label="children")
            world.push_index(repo, children, data.draw(maybe_tag, label="tag"))
        elif op == "referrer":
            if links and data.draw(st.booleans(), label="present subject"):
                subject = world.descriptor(data.draw(st.sampled_from(links), label="subject"))
            else:
                subject = {"mediaType": OCI_MANIFEST, "digest": digests.compute(b"never pushed"), "size": 10}
            world.push_referrer(repo, subject)
        elif op == "tag" and links:
            world.tag(repo, data.draw(st.sampled_from(TAGS), label="tag"), data.draw(st.sampled_from(links)))
        elif op == "untag" and world.model.tags.get(repo):
            world.delete_tag(repo, data.draw(st.sampled_from(sorted(world.model.tags[repo])), label="untag"))
        elif op == "delete" and links:
            world.delete_manifest(repo, data.draw(st.sampled_from(links), label="delete"))
        elif op == "delete_repo" and repo in world.model.links:
            world.delete_repository(repo)
        elif op == "dangling":
            world.put_blob(_real(f"dangling {data.draw(st.integers(0, 3))}".encode()))
        world.check()


# -- the same rules on small hand-built registries ------------------------------------------

def test_tagged_index_protects_its_untagged_children_and_their_referrers():
    world = World()
    amd64 = world.push_image("app", CONFIGS[0], LAYER_POOL[:2], None)
    arm64 = world.push_image("app", CONFIGS[1], LAYER_POOL[1:3], None)
    index = world.push_index("app", [amd64, arm64], "1.0")
    signature = world.push_referrer("app", world.descriptor(arm64))
    assert untagged_manifests(world.content) == []
    # Untag the index: now all four are garbage.
    world.delete_tag("app", "1.0")
    assert set(untagged_manifests(world.content)) == {("app", d) for d in (amd64, arm64, index, signature)}
    world.check()


def test_a_child_tagged_in_another_repository_is_not_protected_here():
    world = World()
    child = world.push_image("app", CONFIGS[0], [], None)
    world.push_image("lib", CONFIGS[0], [], "v1")  # the same bytes, tagged elsewhere
    assert untagged_manifests(world.content) == [("app", child)]


def test_sizes_of_an_image_and_an_index():
    world = World()
    synthetic = LAYER_POOL[4]  # 5000 bytes, 12000 uncompressed
    small = LAYER_POOL[0]
    image = world.push_image("app", b"cfg!", [small, synthetic], "v1")
    other = world.push_image("app", b"cfg?", [small], None)
    index = world.push_index("app", [image, other], "multi")
    content = world.content
    image_sizes = manifest_sizes(content, content.manifests[image])
    assert (image_sizes.compressed, image_sizes.uncompressed) == (4 + len(small.data) + 5000, 4 + len(small.data) + 12000)
    index_sizes = manifest_sizes(content, content.manifests[index])
    assert index_sizes.compressed == (4 + len(small.data) + 5000) + (4 + len(small.data))
    assert index_sizes.uncompressed == (4 + len(small.data) + 12000) + (4 + len(small.data))
