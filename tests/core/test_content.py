"""Parsing manifests into the references the reference graph needs."""

import json

import pytest

from docrsim.core import content
from docrsim.core.content import (
    DOCKER_MANIFEST,
    DOCKER_MANIFEST_LIST,
    OCI_INDEX,
    OCI_MANIFEST,
    InvalidManifest,
    parse_manifest,
)
from docrsim.core.digests import compute

OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"


def desc(media_type, label, size=None, **extra):
    data = label.encode()
    return {"mediaType": media_type, "digest": compute(data), "size": len(data) if size is None else size, **extra}


def raw(document) -> bytes:
    return json.dumps(document).encode()


CONFIG = desc(OCI_CONFIG, "config")
LAYERS = [desc(OCI_LAYER, "layer-0"), desc(OCI_LAYER, "layer-1", size=7)]


def image(media_type=OCI_MANIFEST, **extra):
    doc = {"schemaVersion": 2, "config": CONFIG, "layers": LAYERS, **extra}
    if media_type:
        doc["mediaType"] = media_type
    return doc


def index(media_type=OCI_INDEX, children=None, **extra):
    children = children if children is not None else [
        desc(OCI_MANIFEST, "child-amd64", platform={"os": "linux", "architecture": "amd64"}),
        desc(OCI_MANIFEST, "child-arm64", platform={"os": "linux", "architecture": "arm64"}),
    ]
    doc = {"schemaVersion": 2, "manifests": children, **extra}
    if media_type:
        doc["mediaType"] = media_type
    return doc


# -- images -----------------------------------------------------------------------------------

def test_docker_schema2_manifest():
    layers = [desc(DOCKER_LAYER, "d0"), desc(DOCKER_LAYER, "d1")]
    doc = {"schemaVersion": 2, "mediaType": DOCKER_MANIFEST, "config": desc(DOCKER_CONFIG, "dc"), "layers": layers}
    parsed = parse_manifest(raw(doc))
    assert parsed.media_type == DOCKER_MANIFEST
    assert not parsed.is_index
    assert parsed.config.digest == compute(b"dc") and parsed.config.media_type == DOCKER_CONFIG
    assert [lay.digest for lay in parsed.layers] == [compute(b"d0"), compute(b"d1")]
    assert parsed.children == () and parsed.subject is None
    assert [d.digest for d in parsed.blob_references] == [compute(b"dc"), compute(b"d0"), compute(b"d1")]


def test_oci_image_manifest_keeps_sizes_and_order():
    parsed = parse_manifest(raw(image()))
    assert parsed.media_type == OCI_MANIFEST
    assert parsed.config == content.Descriptor(OCI_CONFIG, CONFIG["digest"], len("config"))
    assert [(lay.digest, lay.size) for lay in parsed.layers] == [(LAYERS[0]["digest"], 7), (LAYERS[1]["digest"], 7)]
    # Without artifactType an image's artifact type is its config's media type.
    assert parsed.artifact_type == OCI_CONFIG


def test_image_without_layers_field_has_no_layers():
    doc = image()
    del doc["layers"]
    parsed = parse_manifest(raw(doc))
    assert parsed.layers == () and parsed.blob_references == (parsed.config,)


def test_artifact_with_subject_and_artifact_type():
    subject = desc(OCI_MANIFEST, "the image", size=1234)
    parsed = parse_manifest(raw(image(subject=subject, artifactType="application/vnd.example.sbom+json",
                                      annotations={"org.example": "x"})))
    assert parsed.subject == content.Descriptor(OCI_MANIFEST, subject["digest"], 1234)
    assert parsed.artifact_type == "application/vnd.example.sbom+json"
    assert parsed.annotations == {"org.example": "x"}
    # A subject is not a blob the manifest needs.
    assert subject["digest"] not in {d.digest for d in parsed.blob_references}


def test_non_distributable_layers_are_recognised():
    foreign = desc("application/vnd.docker.image.rootfs.foreign.diff.tar.gzip", "win")
    with_urls = desc(OCI_LAYER, "url-layer", urls=["https://example.invalid/layer"])
    parsed = parse_manifest(raw(image(layers=[foreign, with_urls, LAYERS[0]])))
    assert [lay.non_distributable for lay in parsed.layers] == [True, True, False]
    assert parsed.layers[1].urls == ("https://example.invalid/layer",)


# -- indexes ----------------------------------------------------------------------------------

def test_oci_index_children():
    doc = index()
    parsed = parse_manifest(raw(doc))
    assert parsed.media_type == OCI_INDEX and parsed.is_index
    assert [c.digest for c in parsed.children] == [c["digest"] for c in doc["manifests"]]
    assert parsed.config is None and parsed.layers == () and parsed.blob_references == ()


def test_docker_manifest_list():
    children = [desc(DOCKER_MANIFEST, "c1"), desc(DOCKER_MANIFEST, "c2"), desc(DOCKER_MANIFEST, "c3")]
    parsed = parse_manifest(raw(index(DOCKER_MANIFEST_LIST, children)))
    assert parsed.media_type == DOCKER_MANIFEST_LIST and parsed.is_index
    assert [c.media_type for c in parsed.children] == [DOCKER_MANIFEST] * 3


def test_index_with_subject_and_artifact_type():
    subject = desc(OCI_MANIFEST, "s")
    parsed = parse_manifest(raw(index(subject=subject, artifactType="application/vnd.example.bundle")))
    assert parsed.subject.digest == subject["digest"]
    assert parsed.artifact_type == "application/vnd.example.bundle"


def test_empty_index_is_allowed():
    assert parse_manifest(raw(index(children=[]))).children == ()


# -- media type detection ---------------------------------------------------------------------

@pytest.mark.parametrize("declared", [None, DOCKER_MANIFEST])
def test_own_media_type_field_agrees_with_the_declaration_or_stands_alone(declared):
    assert parse_manifest(raw(image(DOCKER_MANIFEST)), declared).media_type == DOCKER_MANIFEST


@pytest.mark.parametrize("declared", ["application/json", OCI_MANIFEST, "application/vnd.oci.image.config.v1+json"])
def test_a_declaration_the_own_media_type_contradicts_is_refused(declared):
    # distribution refuses a Content-Type that disagrees with the document, generic ones too
    with pytest.raises(InvalidManifest, match="does not match the declared content type"):
        parse_manifest(raw(image(DOCKER_MANIFEST)), declared)


def test_declared_content_type_used_when_the_field_is_absent():
    assert parse_manifest(raw(image(None)), DOCKER_MANIFEST).media_type == DOCKER_MANIFEST
    assert parse_manifest(raw(index(None)), DOCKER_MANIFEST_LIST).media_type == DOCKER_MANIFEST_LIST


@pytest.mark.parametrize("declared", [None, "application/octet-stream"])
def test_shape_decides_when_neither_field_nor_declaration_says(declared):
    assert parse_manifest(raw(image(None)), declared).media_type == OCI_MANIFEST
    assert parse_manifest(raw(index(None)), declared).media_type == OCI_INDEX


def test_field_and_declaration_disagreeing_is_refused():
    with pytest.raises(InvalidManifest, match="does not match the declared content type"):
        parse_manifest(raw(image(OCI_MANIFEST)), DOCKER_MANIFEST)
    with pytest.raises(InvalidManifest, match="does not match"):
        parse_manifest(raw(index(OCI_INDEX)), OCI_MANIFEST)


def test_unsupported_media_type_is_refused():
    with pytest.raises(InvalidManifest, match="unsupported manifest media type"):
        parse_manifest(raw(image("application/vnd.docker.distribution.manifest.v1+json")))


def test_non_string_media_type_is_refused():
    with pytest.raises(InvalidManifest, match="^mediaType"):
        parse_manifest(raw(image(7)))


# -- rejections -------------------------------------------------------------------------------

@pytest.mark.parametrize("body", [b"", b"{", b"not json", b"\xff\xfe{}", b'{"schemaVersion": 2,}'])
def test_bad_json_is_refused(body):
    with pytest.raises(InvalidManifest, match="not valid JSON"):
        parse_manifest(body)


@pytest.mark.parametrize("body", [b"[]", b"2", b'"manifest"', b"null"])
def test_json_that_is_not_an_object_is_refused(body):
    with pytest.raises(InvalidManifest, match="JSON object"):
        parse_manifest(body)


@pytest.mark.parametrize("version", [None, 1, 3, "2", True])
def test_schema_version_must_be_2(version):
    doc = image()
    if version is None:
        del doc["schemaVersion"]
    else:
        doc["schemaVersion"] = version
    with pytest.raises(InvalidManifest, match="schemaVersion"):
        parse_manifest(raw(doc))


def test_image_needs_a_config():
    doc = image()
    del doc["config"]
    with pytest.raises(InvalidManifest, match="^config: required"):
        parse_manifest(raw(doc))


def test_index_needs_a_manifests_list():
    with pytest.raises(InvalidManifest, match="^manifests: required list"):
        parse_manifest(raw({"schemaVersion": 2, "mediaType": OCI_INDEX}))
    with pytest.raises(InvalidManifest, match="^manifests"):
        parse_manifest(raw(index(children={"a": 1})))


def test_layers_must_be_a_list():
    with pytest.raises(InvalidManifest, match="^layers: must be a list"):
        parse_manifest(raw(image(layers={"0": LAYERS[0]})))


@pytest.mark.parametrize(
    "bad, where",
    [
        ({**LAYERS[0], "digest": "sha256:1234"}, "layers[1].digest"),
        ({**LAYERS[0], "digest": "md5:d41d8cd98f00b204e9800998ecf8427e"}, "layers[1].digest"),
        ({**LAYERS[0], "digest": None}, "layers[1].digest"),
        ({**LAYERS[0], "size": -1}, "layers[1].size"),
        ({**LAYERS[0], "size": "7"}, "layers[1].size"),
        ({**LAYERS[0], "size": True}, "layers[1].size"),
        ({**LAYERS[0], "size": 7.5}, "layers[1].size"),
        ({k: v for k, v in LAYERS[0].items() if k != "size"}, "layers[1].size"),
        ({**LAYERS[0], "mediaType": ""}, "layers[1].mediaType"),
        ({**LAYERS[0], "urls": "https://x"}, "layers[1].urls"),
        ("sha256:abc", "layers[1]"),
    ],
)
def test_bad_layer_descriptor_is_refused_naming_where(bad, where):
    with pytest.raises(InvalidManifest) as caught:
        parse_manifest(raw(image(layers=[LAYERS[0], bad])))
    assert caught.value.message.startswith(where + ":") or caught.value.message.startswith(where + ".")


def test_bad_config_child_and_subject_descriptors_name_where():
    with pytest.raises(InvalidManifest, match=r"^config\.digest"):
        parse_manifest(raw(image(config={**CONFIG, "digest": "sha256:xyz"})))
    children = [desc(OCI_MANIFEST, "ok"), {**desc(OCI_MANIFEST, "bad"), "size": -5}]
    with pytest.raises(InvalidManifest, match=r"^manifests\[1\]\.size"):
        parse_manifest(raw(index(children=children)))
    with pytest.raises(InvalidManifest, match=r"^subject\.digest"):
        parse_manifest(raw(image(subject={"mediaType": OCI_MANIFEST, "digest": "nope", "size": 1})))


def test_annotations_must_be_an_object():
    with pytest.raises(InvalidManifest, match="^annotations"):
        parse_manifest(raw(image(annotations=["a"])))
