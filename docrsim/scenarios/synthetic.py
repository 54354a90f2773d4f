"""Bulk synthetic content, a scenario's ``generate``: thousands of images at start-up.

Each image is a config blob with real bytes and synthetic layers (a digest and a size, no
bytes). The config and the manifest are written straight into their JSON text rather than
built as objects and encoded: the text is exactly what ``json.dumps(document,
separators=(",", ":"))`` gives for the same document (tests/scenarios/test_synthetic.py holds
the two side by side), so every digest is what the document hashes to. The manifest's parsed
form is known from what was written, so nothing is read back either.
"""

from __future__ import annotations

import gc as python_gc
import hashlib
import json
from datetime import datetime

from docrsim.core import content as media
from docrsim.core import digests
from docrsim.core.store import RegistryContent

CONFIG_MEDIA_TYPE = "application/vnd.oci.image.config.v1+json"
LAYER_MEDIA_TYPE = "application/vnd.oci.image.layer.v1.tar+gzip"
_SYNTHETIC_PREFIX = b"docrsim-synthetic\0"  # as digests.synthetic


class RepositoryClash(ValueError):
    """A generated repository name is taken by a declared repository."""


def repository_names(spec: dict) -> list[str]:
    prefix = spec.get("repository_prefix", "repo")
    width = len(str(spec["repositories"] - 1))
    return [f"{prefix}-{r:0{width}d}" for r in range(spec["repositories"])]


def config_text(label: str, layer_digests: list[str]) -> str:
    """An image config naming its image (a label) and its layers, as JSON text."""
    diff_ids = ",".join(f'"{digest}"' for digest in layer_digests)
    return ('{"os":"linux","architecture":"amd64","config":{"Labels":{"org.docrsim.image":'
            f'{json.dumps(label)}}}}},"rootfs":{{"type":"layers","diff_ids":[{diff_ids}]}}}}')


def manifest_text(config_digest: str, config_size: int, layer_digests: list[str], layer_size: int) -> str:
    """An OCI image manifest of a config and layers of one size, as JSON text."""
    layers = ",".join(f'{{"mediaType":"{LAYER_MEDIA_TYPE}","digest":"{digest}","size":{layer_size}}}'
                      for digest in layer_digests)
    return (f'{{"schemaVersion":2,"mediaType":"{media.OCI_MANIFEST}","config":{{"mediaType":"{CONFIG_MEDIA_TYPE}",'
            f'"digest":"{config_digest}","size":{config_size}}},"layers":[{layers}]}}')


def generate(content: RegistryContent, registry_name: str, spec: dict, now: datetime, on_repository=None) -> None:
    """Add ``spec``'s repositories of images to ``content``; ``on_repository(index, count)``
    is called before each repository (progress)."""
    # Hundreds of thousands of new objects and no reference cycle among them: the cyclic
    # collector would only walk the growing heap again and again while they are made.
    collecting = python_gc.isenabled()
    python_gc.disable()
    try:
        _generate(content, registry_name, spec, now, on_repository)
    finally:
        if collecting:
            python_gc.enable()


def _generate(content: RegistryContent, registry_name: str, spec: dict, now: datetime, on_repository) -> None:
    layers_per_image = spec.get("layers_per_image", 4)
    layer_size = spec.get("layer_size", 1048576)
    untagged_every = spec.get("untagged_every", 0)
    names = repository_names(spec)
    blobs = content.blobs
    for index, repo in enumerate(names):
        if on_repository is not None:
            on_repository(index, len(names))
        if repo in content.repositories:
            raise RepositoryClash(f"generated repository {repo!r} clashes with a declared one")
        content.ensure_repository(repo, now)
        for i in range(spec["images_per_repository"]):
            label = f"{registry_name}/{repo}/{i}"
            layer_digests = [
                "sha256:" + hashlib.sha256(_SYNTHETIC_PREFIX + f"{label}/{k}".encode()).hexdigest()
                for k in range(layers_per_image)]
            for digest in layer_digests:
                blobs.put_generated(digest, layer_size)
            config = config_text(label, layer_digests).encode()
            config_digest = blobs.put(config)
            raw = manifest_text(config_digest, len(config), layer_digests, layer_size).encode()
            parsed = media.ParsedManifest(
                media_type=media.OCI_MANIFEST,
                config=media.Descriptor(CONFIG_MEDIA_TYPE, config_digest, len(config)),
                layers=tuple(media.Descriptor(LAYER_MEDIA_TYPE, digest, layer_size) for digest in layer_digests),
                artifact_type=CONFIG_MEDIA_TYPE,
            )
            tag = None if untagged_every and (i + 1) % untagged_every == 0 else f"v{i}"
            content.put_parsed_manifest(repo, raw, digests.compute(raw), parsed, now, tag=tag)
    if on_repository is not None:
        on_repository(len(names), len(names))
