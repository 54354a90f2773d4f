"""Generated images are written straight into JSON text: the text must be, byte for byte,
what encoding the document would give, so every digest is the document's."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from docrsim.core import digests
from docrsim.core.content import parse_manifest
from docrsim.core.state import Simulation
from docrsim.scenarios import apply, synthetic

DIGESTS = st.lists(st.binary(max_size=8).map(digests.compute), max_size=12)


def encoded(document) -> str:
    return json.dumps(document, separators=(",", ":"))


@given(label=st.text(), layers=DIGESTS)
def test_a_config_is_the_encoding_of_its_document(label, layers):
    document = {"os": "linux", "architecture": "amd64", "config": {"Labels": {"org.docrsim.image": label}},
                "rootfs": {"type": "layers", "diff_ids": layers}}
    assert synthetic.config_text(label, layers) == encoded(document)


@given(config=st.binary(max_size=8).map(digests.compute), config_size=st.integers(0, 2**40), layers=DIGESTS,
       layer_size=st.integers(0, 2**40))
def test_a_manifest_is_the_encoding_of_its_document(config, config_size, layers, layer_size):
    document = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": {"mediaType": synthetic.CONFIG_MEDIA_TYPE, "digest": config, "size": config_size},
                "layers": [{"mediaType": synthetic.LAYER_MEDIA_TYPE, "digest": d, "size": layer_size} for d in layers]}
    assert synthetic.manifest_text(config, config_size, layers, layer_size) == encoded(document)


def test_generated_content_hashes_and_parses_as_pushed_content_would():
    sim = Simulation()
    apply(sim, {"registries": [{"name": "gen", "generate": {"repositories": 2, "images_per_repository": 3,
                                                            "layers_per_image": 2, "untagged_every": 3}}]},
          replace=True)
    content = sim.account.registry("gen").content
    assert sorted(content.repositories) == ["repo-0", "repo-1"]
    for repo in content.repositories.values():
        assert sorted(repo.tags) == ["v0", "v1"]
        for digest in repo.manifests:
            raw = content.blobs.data(digest)
            assert digests.compute(raw) == digest
            document = json.loads(raw)
            config = content.blobs.data(document["config"]["digest"])
            assert digests.compute(config) == document["config"]["digest"]
            label = json.loads(config)["config"]["Labels"]["org.docrsim.image"]
            assert label.startswith(f"gen/{repo.name}/")
            assert [layer["digest"] for layer in document["layers"]] == \
                [digests.synthetic(f"{label}/{k}") for k in range(2)]
            assert json.loads(config)["rootfs"]["diff_ids"] == [layer["digest"] for layer in document["layers"]]
            assert content.manifests[digest].parsed == parse_manifest(raw, document["mediaType"])
