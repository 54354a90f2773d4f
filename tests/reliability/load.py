"""What the load test runs: distinct images built as OCI layouts, ``skopeo copy`` pushes and
pulls as real processes, DO API readers on threads, and the server's memory from /proc."""

from __future__ import annotations

import filecmp
import json
import random
import re
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

from tests.clients.oci_layout import Layout, tagged_digest

REGISTRY = "acme"
GC_TYPE = "untagged manifests and unreferenced blobs"
GC_ORDER = ("requested", "waiting for write JWTs to expire", "scanning manifests",
            "deleting unreferenced blobs", "succeeded")
COPY_TIMEOUT = 300  # seconds one skopeo copy may take
PAUSE = 0.02  # seconds each reader waits between rounds, to bound the load it adds


@dataclass
class Image:
    """One image of the load: its own repository, a tag, and every object it stores."""

    repository: str
    tag: str
    layout: Path
    digest: str  # the manifest's
    objects: dict[str, int]  # digest -> size: the manifest, its config and its layers

    def ref(self, registry: str = REGISTRY) -> str:
        return f"{registry}/{self.repository}:{self.tag}"

    @property
    def stored_bytes(self) -> int:
        return sum(self.objects.values())


def build_images(root: Path, count: int, unit: int, seed: int) -> list[Image]:
    """``count`` images of distinct random content (seeded), image i holding two layers of
    (i + 1) * unit / 2 bytes each."""
    rng = random.Random(seed)
    images = []
    for i in range(count):
        layout = Layout(root / f"img-{i}")
        half = (i + 1) * unit // 2
        descriptor = layout.image({"a": rng.randbytes(half), "b": rng.randbytes(half)})
        layout.tag(descriptor, "v1")
        objects = {descriptor["digest"]: descriptor["size"]}
        manifest = layout.root / "blobs" / "sha256" / descriptor["digest"].removeprefix("sha256:")
        body = json.loads(manifest.read_bytes())
        for entry in (body["config"], *body["layers"]):
            objects[entry["digest"]] = entry["size"]
        images.append(Image(f"img-{i}", "v1", layout.root, descriptor["digest"], objects))
    return images


def skopeo_copy(source: str, destination: str, creds: str) -> subprocess.Popen:
    return subprocess.Popen(
        ["skopeo", "copy", "--src-tls-verify=false", "--dest-tls-verify=false",
         "--src-creds", creds, "--dest-creds", creds, source, destination],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


@dataclass
class Push:
    """One ``skopeo copy`` of an image into the registry, waited for on a thread."""

    image: Image
    process: subprocess.Popen
    returncode: int | None = None
    stderr: str = ""
    ended: float = 0.0  # time.monotonic() when it exited
    done: threading.Event = field(default_factory=threading.Event)

    @classmethod
    def start(cls, image: Image, host: str, creds: str, registry: str = REGISTRY) -> Push:
        source, destination = f"oci:{image.layout}:{image.tag}", f"docker://{host}/{image.ref(registry)}"
        push = cls(image, skopeo_copy(source, destination, creds))
        threading.Thread(target=push._wait, daemon=True).start()
        return push

    def _wait(self):
        try:
            _, self.stderr = self.process.communicate(timeout=COPY_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            _, self.stderr = self.process.communicate()
        self.returncode = self.process.returncode
        self.ended = time.monotonic()
        self.done.set()

    @property
    def landed(self) -> bool:
        return self.returncode == 0


def pull_matches(image: Image, host: str, creds: str, into: Path) -> None:
    """Copy the image back out; it must arrive under the same digest, every object's bytes
    identical to the ones pushed."""
    pulled = skopeo_copy(f"docker://{host}/{image.ref()}", f"oci:{into}:{image.tag}", creds)
    _, stderr = pulled.communicate(timeout=COPY_TIMEOUT)
    assert pulled.returncode == 0, f"{image.ref()} does not pull: {stderr}"
    assert tagged_digest(into, image.tag) == image.digest
    for digest in image.objects:
        name = Path("blobs") / "sha256" / digest.removeprefix("sha256:")
        assert filecmp.cmp(image.layout / name, into / name, shallow=False), f"{image.ref()}: {digest} differs"


class Readers:
    """DO API readers on threads, each in a loop until stopped: the registry, its repositories
    and each one's tags, the garbage collections. Every answer must be a 200 and every tag on
    the digest its image was pushed with; what they saw of the runs' statuses is kept in order."""

    def __init__(self, api: str, token: str, images: list[Image], threads: int = 3):
        self.api = api
        self.token = token
        self.digests = {image.repository: image.digest for image in images}
        self.stop = threading.Event()
        self.errors: list[str] = []
        self.requests = 0
        self.statuses: list[str] = []
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._loop, args=(i,), daemon=True) for i in range(threads)]

    def __enter__(self) -> Readers:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for thread in self._threads:
            thread.join(timeout=30)

    def _get(self, session: requests.Session, path: str) -> dict | None:
        try:
            answer = session.get(self.api + path, timeout=30)
        except requests.RequestException as exc:
            with self._lock:
                self.errors.append(f"GET {path}: {exc}")
            return None
        with self._lock:
            self.requests += 1
            if answer.status_code != 200:
                self.errors.append(f"GET {path}: {answer.status_code} {answer.text[:200]}")
                return None
        return answer.json()

    def _loop(self, index: int):
        with requests.Session() as session:
            # A token each: the DO API's hourly rate limit counts per token.
            session.headers["Authorization"] = f"Bearer {self.token}-reader-{index}"
            while not self.stop.wait(PAUSE):
                if index % 3 == 0:
                    self._get(session, f"/v2/registries/{REGISTRY}")
                    listed = self._get(session, f"/v2/registries/{REGISTRY}/repositoriesV2?per_page=200") or {}
                    for name in [r["name"] for r in listed.get("repositories", [])]:
                        tags = self._get(session, f"/v2/registries/{REGISTRY}/repositories/{name}/tags") or {}
                        wrong = [t for t in tags.get("tags", []) if t["manifest_digest"] != self.digests.get(name)]
                        if wrong:
                            with self._lock:
                                self.errors.append(f"{name}: tags on another digest: {wrong}")
                elif index % 3 == 1:
                    runs = self._get(session, f"/v2/registry/{REGISTRY}/garbage-collections") or {}
                    with self._lock:
                        self.statuses.extend(r["status"] for r in reversed(runs.get("garbage_collections", [])))
                else:
                    self._get(session, "/v2/registries")
                    self._get(session, f"/v2/registry/{REGISTRY}/repositories")


def memory(pid: int, field_name: str) -> int:
    """A Vm* figure of a process (VmRSS, VmHWM), in bytes."""
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(rf"{field_name}:\s+(\d+) kB", status)[1]) * 1024
