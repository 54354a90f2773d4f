"""oras (the OCI artifact client, oras-py) pushing and pulling artifacts and a referrer."""

from __future__ import annotations

import hashlib
import pytest

oras_client = pytest.importorskip("oras.client")
oras_oci = pytest.importorskip("oras.oci")

from tests.clients.registry_login import docker_credentials, registry_token  # noqa: E402
from tests.conftest import start_live  # noqa: E402


@pytest.fixture
def registry():
    live = start_live([{"account": {"tier": "professional"}, "registries": [{"name": "acme"}]}])
    yield live
    live.server.stop()


def client_for(live, repository: str):
    """oras-py re-asks for a token only after a 403, not after the 401 ``insufficient_scope``
    that docker and skopeo expect, so it is given a push-scoped token up front."""
    host, _, _ = docker_credentials(live, "acme")
    client = oras_client.OrasClient(hostname=host, insecure=True)
    client.auth.set_token_auth(registry_token(live, "acme", repository))
    return host, client


def test_push_and_pull_an_artifact(registry, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "report.txt").write_text("build report\n")
    host, client = client_for(registry, "reports")
    pushed = client.push(files=["report.txt"], target=f"{host}/acme/reports:v1")
    assert pushed.status_code == 201

    out = tmp_path / "out"
    files = client.pull(target=f"{host}/acme/reports:v1", outdir=str(out))
    assert [open(f).read() for f in files] == ["build report\n"]
    tags = registry.http.get(registry.url("/v2/registries/acme/repositories/reports/tags")).json()["tags"]
    assert [t["tag"] for t in tags] == ["v1"]


def test_a_referrer_is_found_through_its_subject(registry, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "image.bin").write_bytes(b"the thing being signed")
    (tmp_path / "sig.txt").write_text("signature")
    host, client = client_for(registry, "signed")
    client.push(files=["image.bin"], target=f"{host}/acme/signed:v1")
    # oras-py's Subject.from_manifest re-serialises the manifest, which can change its digest;
    # describe the subject from the registry's own answer instead.
    token_host = registry.registry_url
    raw = client.do_request(f"{token_host}/v2/acme/signed/manifests/v1", "GET",
                            headers={"Accept": "application/vnd.oci.image.manifest.v1+json"})
    subject = oras_oci.Subject(mediaType=raw.headers["Content-Type"], digest=raw.headers["Docker-Content-Digest"],
                               size=len(raw.content))

    pushed = client.push(files=["sig.txt"], target=f"{host}/acme/signed:sig", subject=subject)
    assert pushed.status_code == 201
    assert pushed.headers.get("OCI-Subject") == subject.digest

    referrers = client.do_request(f"{token_host}/v2/acme/signed/referrers/{subject.digest}", "GET")
    index = referrers.json()
    assert referrers.status_code == 200 and len(index["manifests"]) == 1
    found = index["manifests"][0]
    sig_raw = client.do_request(f"{token_host}/v2/acme/signed/manifests/sig", "GET",
                                headers={"Accept": "application/vnd.oci.image.manifest.v1+json"})
    assert found["digest"] == "sha256:" + hashlib.sha256(sig_raw.content).hexdigest()
    filtered = client.do_request(f"{token_host}/v2/acme/signed/referrers/{subject.digest}?artifactType=none/such", "GET")
    assert filtered.json()["manifests"] == [] and filtered.headers["OCI-Filters-Applied"] == "artifactType"
