"""oras-py and curl, with nothing but the environment pointing them at docrsim."""

from __future__ import annotations

import json
import os
import subprocess

import pytest
import requests

oras_client = pytest.importorskip("oras.client")

pytestmark = pytest.mark.docrsim(fixture="small-app")  # registry "acme", repository "web"
TOKEN_SERVICE = "https://api.digitalocean.com/v2/registry/auth"


def registry_token(scope: str) -> str:
    token = os.environ["DIGITALOCEAN_ACCESS_TOKEN"]
    answer = requests.get(TOKEN_SERVICE, auth=(token, token),
                          params={"service": "registry.digitalocean.com", "scope": scope})
    answer.raise_for_status()
    return answer.json()["token"]


def test_oras_pushes_and_pulls(production, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "report.txt").write_text("build report\n")
    client = oras_client.OrasClient(hostname="registry.digitalocean.com")
    # oras-py asks for a new token only after a 403, so it gets a push-scoped one up front.
    client.auth.set_token_auth(registry_token("repository:acme/reports:pull,push"))
    assert client.push(files=["report.txt"], target="registry.digitalocean.com/acme/reports:v1").status_code == 201
    files = client.pull(target="registry.digitalocean.com/acme/reports:v1", outdir=str(tmp_path / "out"))
    assert [open(f).read() for f in files] == ["build report\n"]


def curl(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["curl", "-sS", "--fail-with-body", *args], capture_output=True, text=True, timeout=60)


def test_curl_does_the_token_dance(production):
    challenge = subprocess.run(["curl", "-sS", "-o", "/dev/null", "-D", "-", "https://registry.digitalocean.com/v2/acme/web/tags/list"],
                               capture_output=True, text=True, timeout=60)
    assert challenge.returncode == 0, challenge.stderr
    header = next(line.split(":", 1)[1].strip() for line in challenge.stdout.splitlines()
                  if line.lower().startswith("www-authenticate:"))
    assert header == ('Bearer realm="https://api.digitalocean.com/v2/registry/auth",'
                      'service="registry.digitalocean.com",scope="repository:acme/web:pull"')
    token = os.environ["DIGITALOCEAN_ACCESS_TOKEN"]
    issued = curl("-u", f"{token}:{token}",
                  f"{TOKEN_SERVICE}?service=registry.digitalocean.com&scope=repository:acme/web:pull")
    assert issued.returncode == 0, issued.stderr + issued.stdout
    tags = curl("-H", f"Authorization: Bearer {json.loads(issued.stdout)['token']}",
                "https://registry.digitalocean.com/v2/acme/web/tags/list")
    assert tags.returncode == 0, tags.stderr + tags.stdout
    assert json.loads(tags.stdout)["tags"] == ["latest", "v1", "v2"]


def test_curl_without_the_bundle_fails_verification(production, monkeypatch):
    monkeypatch.delenv("CURL_CA_BUNDLE")
    monkeypatch.delenv("SSL_CERT_FILE")
    answer = subprocess.run(["curl", "-sS", "https://api.digitalocean.com/v2/registries"],
                            capture_output=True, text=True, timeout=60)
    assert answer.returncode == 60, answer.stderr  # CURLE_PEER_FAILED_VERIFICATION
