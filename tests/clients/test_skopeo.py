"""skopeo, a real registry client, pushing to and pulling from docrsim's registry host."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tracemalloc
from urllib.parse import parse_qs

import pytest

from docrsim.core.journal import Query
from tests.clients.oci_layout import Layout, tagged_digest
from tests.clients.registry_login import docker_credentials
from tests.conftest import start_live

pytestmark = pytest.mark.skipif(
    shutil.which("skopeo") is None and not os.environ.get("DOCRSIM_REQUIRE_TOOLS"),
    reason="skopeo is not installed (make test installs it)",
)


def skopeo(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["skopeo", *args], capture_output=True, text=True, timeout=120)


@pytest.fixture
def registry():
    live = start_live([{"account": {"tier": "basic"}, "registries": [{"name": "acme"}]}])
    yield live
    live.server.stop()


def push(layout_dir, tag: str, creds, ref: str, *extra: str) -> subprocess.CompletedProcess:
    host, user, secret = creds
    return skopeo("copy", *extra, "--dest-tls-verify=false", "--dest-creds", f"{user}:{secret}",
                  f"oci:{layout_dir}:{tag}", f"docker://{host}/{ref}")


def test_copy_in_inspect_list_and_copy_back(registry, tmp_path):
    layout = Layout(tmp_path / "src")
    layout.tag(layout.image({"app": b"application files", "data": os.urandom(4096)}), "v1")
    creds = docker_credentials(registry, "acme")
    host, user, secret = creds
    assert push(tmp_path / "src", "v1", creds, "acme/app:v1").returncode == 0

    raw = skopeo("inspect", "--raw", "--tls-verify=false", "--creds", f"{user}:{secret}", f"docker://{host}/acme/app:v1")
    assert raw.returncode == 0, raw.stderr
    served = raw.stdout.removesuffix("\n").encode()  # skopeo ends its output with a newline
    assert "sha256:" + hashlib.sha256(served).hexdigest() == tagged_digest(tmp_path / "src", "v1")
    tags = skopeo("list-tags", "--tls-verify=false", "--creds", f"{user}:{secret}", f"docker://{host}/acme/app")
    assert '"v1"' in tags.stdout

    back = skopeo("copy", "--src-tls-verify=false", "--src-creds", f"{user}:{secret}",
                  f"docker://{host}/acme/app:v1", f"oci:{tmp_path / 'back'}:v1")
    assert back.returncode == 0, back.stderr
    assert tagged_digest(tmp_path / "back", "v1") == tagged_digest(tmp_path / "src", "v1")

    # The push landed in the model the DO API lists.
    manifests = registry.http.get(registry.url("/v2/registries/acme/repositories/app/digests")).json()["manifests"]
    assert [m["digest"] for m in manifests] == [tagged_digest(tmp_path / "src", "v1")] and manifests[0]["tags"] == ["v1"]


def test_multi_arch_index_and_retag(registry, tmp_path):
    layout = Layout(tmp_path / "src")
    amd = layout.image({"bin": b"amd64 build"}, platform=("linux", "amd64"))
    arm = layout.image({"bin": b"arm64 build"}, platform=("linux", "arm64"))
    layout.tag(layout.index([(amd, ("linux", "amd64")), (arm, ("linux", "arm64"))]), "1.0")
    creds = docker_credentials(registry, "acme")
    host, user, secret = creds
    pushed = push(tmp_path / "src", "1.0", creds, "acme/tool:1.0", "--all")
    assert pushed.returncode == 0, pushed.stderr

    retag = skopeo("copy", "--all", "--src-tls-verify=false", "--dest-tls-verify=false",
                   "--src-creds", f"{user}:{secret}", "--dest-creds", f"{user}:{secret}",
                   f"docker://{host}/acme/tool:1.0", f"docker://{host}/acme/tool:latest")
    assert retag.returncode == 0, retag.stderr
    manifests = registry.http.get(registry.url("/v2/registries/acme/repositories/tool/digests")).json()["manifests"]
    by_digest = {m["digest"]: m for m in manifests}
    index = by_digest[tagged_digest(tmp_path / "src", "1.0")]
    assert sorted(index["tags"]) == ["1.0", "latest"]
    assert by_digest[amd["digest"]]["tags"] == [] and by_digest[arm["digest"]]["tags"] == []
    assert len(manifests) == 3


def pulled_digest(creds, ref: str, layout_dir) -> str:
    """Copy ``ref`` (``name:tag``) back into an OCI layout; the digest it arrives with."""
    host, user, secret = creds
    back = skopeo("copy", "--src-tls-verify=false", "--src-creds", f"{user}:{secret}",
                  f"docker://{host}/{ref}", f"oci:{layout_dir}:{ref.rpartition(':')[2]}")
    assert back.returncode == 0, back.stderr
    return tagged_digest(layout_dir, ref.rpartition(":")[2])


def image_blobs(root, tag: str) -> tuple[str, set[str]]:
    """The config digest and the layer digests of the layout's image tagged ``tag``."""
    digest = tagged_digest(root, tag).removeprefix("sha256:")
    manifest = json.loads((root / "blobs" / "sha256" / digest).read_text())
    return manifest["config"]["digest"], {layer["digest"] for layer in manifest["layers"]}


def into(registry, repository: str) -> dict[str, list[tuple[str, str, int]]]:
    """What the registry host was asked about each blob in ``repository`` since the journal
    was cleared: (method, query, status) by digest."""
    with registry.sim.lock:
        entries, _ = registry.sim.journal.select(Query(hosts=("registry",)))
    asked: dict[str, list[tuple[str, str, int]]] = {}
    prefix = f"/v2/acme/{repository}/blobs/"
    for entry in entries:
        if not entry.path.startswith(prefix):
            continue
        query = parse_qs(entry.query)
        digest = (query.get("mount") or query.get("digest") or [entry.path.removeprefix(prefix)])[0]
        asked.setdefault(digest, []).append((entry.method, entry.query, entry.status))
    return asked


def test_copying_an_image_into_a_second_repository_uploads_or_mounts_each_blob(registry, tmp_path):
    layout = Layout(tmp_path / "src")
    layout.tag(layout.image({"app": b"application files", "data": os.urandom(4096)}), "v1")
    config, layers = image_blobs(tmp_path / "src", "v1")
    creds = docker_credentials(registry, "acme")
    host, user, secret = creds
    assert push(tmp_path / "src", "v1", creds, "acme/first:v1").returncode == 0
    usage = registry.sim.account.registry("acme").storage_usage_bytes

    with registry.sim.lock:
        registry.sim.journal.clear()
    second = push(tmp_path / "src", "v1", creds, "acme/second:v1")
    assert second.returncode == 0, second.stderr
    asked = into(registry, "second")
    for digest in {config, *layers}:
        answers = asked.get(digest, [])
        # Not "already exists": the blob is unknown there until uploaded (or, when skopeo's
        # cache knows it is in acme/first, mounted from there).
        assert ("HEAD", "", 200) not in answers[:1], (digest, answers)
        landed = [a for a in answers if a[0] in ("PUT", "POST") and a[2] == 201]
        assert landed, (digest, answers)
    assert registry.sim.account.registry("acme").storage_usage_bytes == usage  # bytes held once

    assert pulled_digest(creds, "acme/second:v1", tmp_path / "back") == tagged_digest(tmp_path / "src", "v1")


def test_copying_between_repositories_mounts_the_blobs_from_where_they_are(registry, tmp_path):
    layout = Layout(tmp_path / "src")
    layout.tag(layout.image({"tool": os.urandom(2048)}), "v1")
    config, layers = image_blobs(tmp_path / "src", "v1")
    creds = docker_credentials(registry, "acme")
    host, user, secret = creds
    assert push(tmp_path / "src", "v1", creds, "acme/origin:v1").returncode == 0

    with registry.sim.lock:
        registry.sim.journal.clear()
    copied = skopeo("copy", "--src-tls-verify=false", "--dest-tls-verify=false",
                    "--src-creds", f"{user}:{secret}", "--dest-creds", f"{user}:{secret}",
                    f"docker://{host}/acme/origin:v1", f"docker://{host}/acme/copy:v1")
    assert copied.returncode == 0, copied.stderr
    asked = into(registry, "copy")
    for digest in layers:
        # skopeo knows the layers are in acme/origin (it pulls from there, and its cache saw
        # the push) and asks for a mount from there, which links them at once.
        mounts = [a for a in asked.get(digest, []) if a[0] == "POST" and "from=acme%2Forigin" in a[1]]
        assert mounts and mounts[-1][2] == 201, (digest, asked.get(digest))
    # The config is not reused but copied: unknown in acme/copy, it is uploaded there.
    assert asked[config][0] == ("HEAD", "", 404) and asked[config][-1][2] == 201, asked[config]

    assert pulled_digest(creds, "acme/copy:v1", tmp_path / "back") == tagged_digest(tmp_path / "src", "v1")


def test_push_is_refused_during_gc_and_accepted_after(registry, tmp_path):
    layout = Layout(tmp_path / "src")
    layout.tag(layout.image({"a": b"first image"}), "v1")
    layout.tag(layout.image({"a": b"second image"}), "v2")
    creds = docker_credentials(registry, "acme")
    assert push(tmp_path / "src", "v1", creds, "acme/app:v1").returncode == 0

    started = registry.http.post(registry.url("/v2/registries/acme/garbage-collection"))
    assert started.status_code == 201
    registry.advance(60)
    run = registry.http.get(registry.url("/v2/registries/acme/garbage-collection")).json()["garbage_collection"]
    # The push above took a write token, so the run waits for it to expire.
    assert run["status"] == "waiting for write JWTs to expire"

    refused = push(tmp_path / "src", "v2", creds, "acme/app:v2")
    assert refused.returncode != 0
    assert "unauthorized" in refused.stderr.lower() or "denied" in refused.stderr.lower()

    registry.http.post(registry.url("/_docrsim/clock"), json={"until_idle": True})
    done = registry.http.get(registry.url("/v2/registries/acme/garbage-collections")).json()["garbage_collections"][0]
    assert done["status"] == "succeeded"
    accepted = push(tmp_path / "src", "v2", creds, "acme/app:v2")
    assert accepted.returncode == 0, accepted.stderr


def test_read_only_credentials_cannot_push(registry, tmp_path):
    layout = Layout(tmp_path / "src")
    layout.tag(layout.image({"a": b"content"}), "v1")
    refused = push(tmp_path / "src", "v1", docker_credentials(registry, "acme", read_write=False), "acme/app:v1")
    assert refused.returncode != 0
    assert registry.http.get(registry.url("/v2/registries/acme/repositoriesV2")).json()["meta"]["total"] == 0


def test_a_large_layer_is_streamed_and_held_once(registry, tmp_path):
    size = 48 * 1024 * 1024
    layout = Layout(tmp_path / "src")
    layout.tag(layout.image({"big": os.urandom(size)}), "v1")
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        pushed = push(tmp_path / "src", "v1", docker_credentials(registry, "acme"), "acme/big:v1")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert pushed.returncode == 0, pushed.stderr
    # The upload streams to a file and is read into the store once; a second full copy
    # anywhere on the way would push the peak past twice the layer's size.
    assert size < peak < 1.5 * size
    stored = registry.sim.account.registry("acme").content.blobs
    layer = max(stored.digests(), key=stored.size)
    assert stored.size(layer) > size and hashlib.sha256(stored.data(layer)).hexdigest() == layer.split(":")[1]


def test_each_token_skopeo_takes_for_a_push_is_a_write_token(registry, tmp_path):
    """skopeo asks for a token before each request of a push (the README explains what that
    means for a garbage collection started just after): all of them are write tokens."""
    layout = Layout(tmp_path / "src")
    layout.tag(layout.image({f"layer-{i}": os.urandom(1000) for i in range(5)}), "v1")
    creds = docker_credentials(registry, "acme")
    assert push(tmp_path / "src", "v1", creds, "acme/app:v1").returncode == 0
    journal = registry.http.get(registry.url("/_docrsim/journal"),
                                params={"operation_id": "registry_auth_token", "limit": 1000}).json()["entries"]
    with registry.sim.lock:
        outstanding = registry.sim.gc.ledger.outstanding("acme", registry.sim.now())
    assert len(outstanding) == len(journal) > 6  # more than one a blob (five layers and a config)
