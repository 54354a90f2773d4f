"""Build images from generated layers, for tests that need content without a client.

Layer bytes are derived from a label, so the same call stores the same image every run, and
pushed content obeys the registry host's rules (tier limits, read-only mode).
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime

from docrsim.core import content as media
from docrsim.core import digests, distribution
from docrsim.core.errors import Conflict


def generated_bytes(label: str, size: int) -> bytes:
    """``size`` bytes that only ``label`` produces (SHAKE-256 as a deterministic stream)."""
    return hashlib.shake_256(label.encode()).digest(size) if size else b""


def push_image(sim, registry: str, repository: str, *, tag: str | None, layers: int, layer_size: int,
               now: datetime, label: str | None = None) -> str:
    """Store an OCI image with ``layers`` generated layers and return its manifest digest."""
    if sim.gc.is_read_only(registry):
        raise Conflict(f"registry {registry!r} is read-only while a garbage collection runs")
    distribution.check_repository_allowed(sim, registry, repository)
    label = label or f"{registry}/{repository}:{tag or 'untagged'}"
    descriptors = []
    for index in range(layers):
        data = generated_bytes(f"{label}/layer/{index}", layer_size)
        digest = distribution.store_blob(sim, registry, repository, data, digests.compute(data), now)
        descriptors.append({"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": digest, "size": len(data)})
    config = json.dumps({"os": "linux", "architecture": "amd64", "config": {"Labels": {"org.docrsim.image": label}},
                         "rootfs": {"type": "layers", "diff_ids": [d["digest"] for d in descriptors]}}).encode()
    config_digest = distribution.store_blob(sim, registry, repository, config, digests.compute(config), now)
    manifest = json.dumps({
        "schemaVersion": 2,
        "mediaType": media.OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": len(config)},
        "layers": descriptors,
    }).encode()
    return distribution.put_manifest(sim, registry, repository, manifest, now, media_type=media.OCI_MANIFEST,
                                     tag=tag, expected_digest=None)
