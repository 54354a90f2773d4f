"""Runs tests/production, where unmodified clients reach docrsim as api.digitalocean.com and
registry.digitalocean.com, inside a network namespace that holds nothing but loopback, so no
request of theirs can leave the machine whatever it does. Where no namespace can be made (no
root, or a kernel that refuses), the same tests run guarded instead: each checks first that
HTTPS_PROXY is docrsim's loopback proxy (see tests/production/conftest.py)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 900


def can_isolate() -> bool:
    if shutil.which("unshare") is None:
        return False
    return subprocess.run(["unshare", "--net", "true"], capture_output=True).returncode == 0


def test_unmodified_clients_by_production_names():
    args = ["tests/production", "-q", "-p", "no:cacheprovider", "-rs"]
    if can_isolate():
        command = ["unshare", "--net", "--", sys.executable, "-m", "tests.production.in_namespace", *args]
        env = os.environ
    else:
        command = [sys.executable, "-m", "pytest", *args]
        env = {**os.environ, "DOCRSIM_ISOLATION": "guarded"}
    run = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=TIMEOUT)
    print(run.stdout[-20000:], run.stderr[-5000:])
    assert run.returncode == 0, run.stdout[-20000:] + run.stderr[-5000:]
    passed = re.search(r"(\d+) passed", run.stdout)
    assert passed and int(passed[1]) >= 10, run.stdout[-2000:]
