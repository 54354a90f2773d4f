"""doctl without -u: its defaults are DOCR's production addresses."""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest

pytestmark = pytest.mark.skipif(shutil.which("doctl") is None,
                                reason="doctl is not on the PATH (it is not packaged where docrsim's CI installs from)")


@pytest.fixture
def home(tmp_path, monkeypatch):
    """doctl keeps its own configuration under $HOME: the test's, not the user's."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))


def doctl(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["doctl", *args], capture_output=True, text=True, timeout=120)


def test_doctl_manages_a_registry_by_production_names(production, home, tmp_path):
    assert doctl("registry", "create", "acme").returncode == 0
    got = doctl("registry", "get", "-o", "json")
    assert got.returncode == 0, got.stderr
    assert json.loads(got.stdout)[0]["name"] == "acme"
    assert "registry.digitalocean.com/acme" in doctl("registry", "get").stdout

    config = tmp_path / "docker"
    login = subprocess.run(["doctl", "registry", "login"], capture_output=True, text=True, timeout=120,
                           env={**os.environ, "DOCKER_CONFIG": str(config)})
    assert login.returncode == 0, login.stderr
    assert "registry.digitalocean.com" in json.loads((config / "config.json").read_text())["auths"]
    production.push_image("acme", "web", "v1")
    listed = subprocess.run(["skopeo", "list-tags", "docker://registry.digitalocean.com/acme/web"],
                            capture_output=True, text=True, timeout=120, env={**os.environ, "DOCKER_CONFIG": str(config)})
    assert listed.returncode == 0 and '"v1"' in listed.stdout, listed.stderr

    repositories = doctl("registry", "repository", "list-v2", "-o", "json")
    assert [r["name"] for r in json.loads(repositories.stdout)] == ["web"]
    started = doctl("registry", "garbage-collection", "start", "--force", "-o", "json")
    assert started.returncode == 0, started.stderr
    assert json.loads(started.stdout)[0]["registry_name"] == "acme"
