"""Manifests: parse Docker schema2 manifests and manifest lists, OCI image manifests and OCI
indexes into the references the reference graph needs (config, layers, children, subject)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import NamedTuple

from docrsim.core import digests
from docrsim.core.errors import Invalid

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"

IMAGE_MEDIA_TYPES = frozenset({DOCKER_MANIFEST, OCI_MANIFEST})
INDEX_MEDIA_TYPES = frozenset({DOCKER_MANIFEST_LIST, OCI_INDEX})
MANIFEST_MEDIA_TYPES = IMAGE_MEDIA_TYPES | INDEX_MEDIA_TYPES

# Layers a registry may legitimately not hold: their bytes live elsewhere (foreign URLs).
NON_DISTRIBUTABLE_LAYER_TYPES = frozenset({
    "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
    "application/vnd.oci.image.layer.nondistributable.v1.tar",
    "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
    "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
})


class InvalidManifest(Invalid):
    pass


class Descriptor(NamedTuple):
    # A NamedTuple, not a dataclass: fixtures build hundreds of thousands of these.
    media_type: str
    digest: str
    size: int
    artifact_type: str | None = None
    urls: tuple[str, ...] = ()

    @property
    def non_distributable(self) -> bool:
        return self.media_type in NON_DISTRIBUTABLE_LAYER_TYPES or bool(self.urls)


@dataclass(slots=True)
class ParsedManifest:
    media_type: str
    config: Descriptor | None = None
    layers: tuple[Descriptor, ...] = ()
    children: tuple[Descriptor, ...] = ()
    subject: Descriptor | None = None
    artifact_type: str | None = None
    annotations: dict = field(default_factory=dict)

    @property
    def is_index(self) -> bool:
        return self.media_type in INDEX_MEDIA_TYPES

    @property
    def blob_references(self) -> tuple[Descriptor, ...]:
        """Blobs this manifest needs the registry to hold: its config and layers."""
        refs = (self.config,) if self.config is not None else ()
        return refs + self.layers


def _descriptor(value, where: str) -> Descriptor:
    if not isinstance(value, dict):
        raise InvalidManifest(f"{where}: a descriptor must be an object")
    media_type = value.get("mediaType")
    digest = value.get("digest")
    size = value.get("size")
    if not isinstance(media_type, str) or not media_type:
        raise InvalidManifest(f"{where}.mediaType: required string")
    try:
        digests.parse(digest)
    except Invalid as exc:
        raise InvalidManifest(f"{where}.digest: {exc.message}") from None
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise InvalidManifest(f"{where}.size: must be a non-negative integer")
    urls = value.get("urls") or ()
    if urls and (not isinstance(urls, list) or not all(isinstance(u, str) for u in urls)):
        raise InvalidManifest(f"{where}.urls: must be a list of strings")
    artifact_type = value.get("artifactType")
    return Descriptor(media_type, digest, size, artifact_type if isinstance(artifact_type, str) else None, tuple(urls))


def detect_media_type(document: dict, declared: str | None) -> str:
    """The manifest's media type: its own ``mediaType`` field, else the declared content
    type, else inferred from its shape (OCI allows the field to be absent)."""
    own = document.get("mediaType")
    if own is not None:
        if not isinstance(own, str):
            raise InvalidManifest("mediaType: must be a string")
        # A declared type of any kind must agree with the document's own, as distribution
        # refuses a Content-Type its document contradicts.
        if declared and declared != own:
            raise InvalidManifest(f"mediaType {own!r} does not match the declared content type {declared!r}")
        media_type = own
    elif declared and declared in MANIFEST_MEDIA_TYPES:
        media_type = declared
    elif "manifests" in document:
        media_type = OCI_INDEX
    else:
        media_type = OCI_MANIFEST
    if media_type not in MANIFEST_MEDIA_TYPES:
        raise InvalidManifest(f"unsupported manifest media type {media_type!r}")
    return media_type


def parse_manifest(raw: bytes, declared_media_type: str | None = None) -> ParsedManifest:
    try:
        document = json.loads(raw)
    except (UnicodeDecodeError, ValueError) as exc:
        raise InvalidManifest(f"manifest is not valid JSON: {exc}") from None
    if not isinstance(document, dict):
        raise InvalidManifest("manifest must be a JSON object")
    if document.get("schemaVersion") != 2:
        raise InvalidManifest("schemaVersion: must be 2")
    media_type = detect_media_type(document, declared_media_type)
    subject = _descriptor(document["subject"], "subject") if document.get("subject") is not None else None
    artifact_type = document.get("artifactType")
    annotations = document.get("annotations") or {}
    if not isinstance(annotations, dict):
        raise InvalidManifest("annotations: must be an object")

    if media_type in INDEX_MEDIA_TYPES:
        children = document.get("manifests")
        if not isinstance(children, list):
            raise InvalidManifest("manifests: required list")
        return ParsedManifest(
            media_type=media_type,
            children=tuple(_descriptor(c, f"manifests[{i}]") for i, c in enumerate(children)),
            subject=subject,
            artifact_type=artifact_type if isinstance(artifact_type, str) else None,
            annotations=annotations,
        )

    if "config" not in document:
        raise InvalidManifest("config: required descriptor")
    layers = document.get("layers", [])
    if not isinstance(layers, list):
        raise InvalidManifest("layers: must be a list")
    config = _descriptor(document["config"], "config")
    return ParsedManifest(
        media_type=media_type,
        config=config,
        layers=tuple(_descriptor(layer, f"layers[{i}]") for i, layer in enumerate(layers)),
        subject=subject,
        artifact_type=artifact_type if isinstance(artifact_type, str) else config.media_type,
        annotations=annotations,
    )
