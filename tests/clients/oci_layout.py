"""Build OCI image layouts on disk from generated layers, for skopeo to copy."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from pathlib import Path

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"


class Layout:
    def __init__(self, root: Path):
        self.root = root
        (root / "blobs" / "sha256").mkdir(parents=True, exist_ok=True)
        (root / "oci-layout").write_text(json.dumps({"imageLayoutVersion": "1.0.0"}))
        self.entries: list[dict] = []

    def blob(self, data: bytes, media_type: str) -> dict:
        digest = hashlib.sha256(data).hexdigest()
        (self.root / "blobs" / "sha256" / digest).write_bytes(data)
        return {"mediaType": media_type, "digest": f"sha256:{digest}", "size": len(data)}

    def image(self, files: dict[str, bytes], *, platform=("linux", "amd64")) -> dict:
        """An image with one gzipped tar layer per file; returns its manifest descriptor.

        Gzipped, as real images are: skopeo would compress a plain tar layer on its way to a
        registry, which changes the manifest and its digest."""
        layers, diff_ids = [], []
        for name, content in files.items():
            buf = io.BytesIO()
            with tarfile.open(fileobj=buf, mode="w") as tar:
                info = tarfile.TarInfo(name)
                info.size = len(content)
                tar.addfile(info, io.BytesIO(content))
            layer = buf.getvalue()
            diff_ids.append("sha256:" + hashlib.sha256(layer).hexdigest())
            compressed = gzip.compress(layer, compresslevel=1, mtime=0)
            layers.append(self.blob(compressed, "application/vnd.oci.image.layer.v1.tar+gzip"))
        config = json.dumps({"os": platform[0], "architecture": platform[1],
                             "rootfs": {"type": "layers", "diff_ids": diff_ids}}).encode()
        manifest = {"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                    "config": self.blob(config, "application/vnd.oci.image.config.v1+json"), "layers": layers}
        return self.blob(json.dumps(manifest).encode(), OCI_MANIFEST)

    def index(self, images: list[tuple[dict, tuple[str, str]]]) -> dict:
        manifests = [{**d, "platform": {"os": p[0], "architecture": p[1]}} for d, p in images]
        return self.blob(json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests}).encode(), OCI_INDEX)

    def tag(self, descriptor: dict, name: str) -> None:
        self.entries.append({**descriptor, "annotations": {"org.opencontainers.image.ref.name": name}})
        (self.root / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": self.entries}))


def tagged_digest(root: Path, name: str) -> str:
    index = json.loads((root / "index.json").read_text())
    return next(m["digest"] for m in index["manifests"]
                if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == name)
