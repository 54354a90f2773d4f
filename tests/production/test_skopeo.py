"""skopeo with image references as deploy scripts write them: docker://registry.digitalocean.com/..."""

from __future__ import annotations

import os
import subprocess

import pydo
import pytest

from docrsim.network.environment import write_docker_config
from tests.clients.oci_layout import Layout, tagged_digest

pytestmark = pytest.mark.docrsim(fixture="small-app")  # registry "acme"
REF = "docker://registry.digitalocean.com/acme"


def skopeo(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(["skopeo", *args], capture_output=True, text=True, timeout=120,
                          env={**os.environ, **(env or {})})


@pytest.fixture
def image(tmp_path):
    layout = Layout(tmp_path / "src")
    layout.tag(layout.image({"app": b"application files", "data": os.urandom(8192)}), "v1")
    return tmp_path / "src"


def test_copy_in_list_and_copy_back_digest_identical(production, image, tmp_path):
    pushed = skopeo("copy", f"oci:{image}:v1", f"{REF}/deploy:v1")
    assert pushed.returncode == 0, pushed.stderr
    tags = skopeo("list-tags", f"{REF}/deploy")
    assert tags.returncode == 0, tags.stderr
    assert '"v1"' in tags.stdout
    back = skopeo("copy", f"{REF}/deploy:v1", f"oci:{tmp_path / 'back'}:v1")
    assert back.returncode == 0, back.stderr
    assert tagged_digest(tmp_path / "back", "v1") == tagged_digest(image, "v1")
    repositories = {r["name"] for r in production.state()["registries"][0]["repositories"]}
    assert "deploy" in repositories


def test_read_only_credentials_pull_but_do_not_push(production, image, tmp_path):
    assert skopeo("copy", f"oci:{image}:v1", f"{REF}/deploy:v1").returncode == 0
    client = pydo.Client(token=os.environ["DIGITALOCEAN_ACCESS_TOKEN"])
    auths = client.registry.get_docker_credentials(read_write=False)["auths"]
    user, secret = __import__("base64").b64decode(auths["registry.digitalocean.com"]["auth"]).decode().split(":", 1)
    write_docker_config(tmp_path / "ro", user, secret, production.registry_host)
    read_only = {"DOCKER_CONFIG": str(tmp_path / "ro")}
    pulled = skopeo("copy", f"{REF}/deploy:v1", f"oci:{tmp_path / 'pulled'}:v1", env=read_only)
    assert pulled.returncode == 0, pulled.stderr
    refused = skopeo("copy", f"oci:{image}:v1", f"{REF}/deploy:v2", env=read_only)
    assert refused.returncode != 0
    assert "v2" not in skopeo("list-tags", f"{REF}/deploy").stdout


def test_a_push_is_refused_while_a_garbage_collection_holds_the_registry(production, image):
    client = pydo.Client(token=os.environ["DIGITALOCEAN_ACCESS_TOKEN"])
    run = client.registries.run_garbage_collection("acme")["garbage_collection"]
    assert run["status"] != "succeeded"
    refused = skopeo("copy", f"oci:{image}:v1", f"{REF}/during-gc:v1")
    assert refused.returncode != 0
    assert "during-gc" not in {r["name"] for r in production.state()["registries"][0]["repositories"]}
