"""A saved state with several problems: ``state import`` and ``serve --state`` list every one
(run as real subprocesses), where they used to name the first and count the rest."""

from __future__ import annotations

import json
import subprocess

import pytest

from docrsim import Simulator
from tests.served import DOCRSIM, ENV, ROOT, WAIT, ServedProcess


def docrsim(*args) -> subprocess.CompletedProcess:
    return subprocess.run([*DOCRSIM, *args], cwd=ROOT, capture_output=True, text=True, timeout=WAIT, env=ENV)


@pytest.fixture
def broken_state(tmp_path):
    """small-app's saved state with three values of the wrong type."""
    with Simulator(fixture="small-app") as sim:
        document = sim.state()
    document["seed"] = []
    document["registries"][0]["region"] = 3
    document["registries"][0]["created_at"] = 5
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(document))
    return path


PROBLEMS = [
    "not a docrsim state: registries[0].created_at: 5 is not of type 'string'",
    "not a docrsim state: registries[0].region: 3 is not of type 'string'",
    "not a docrsim state: seed: [] is not of type 'integer', 'string'",
]


def test_state_import_lists_every_problem(broken_state):
    served = ServedProcess("--fixture", "small-app")
    try:
        api = served.wait_ready()["API host"]
        result = docrsim("state", "import", str(broken_state), "--url", api)
    finally:
        served.kill()
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert lines[0] == f"docrsim: {api} refused {broken_state}: 3 problems"
    assert lines[1:] == [f"docrsim: {broken_state}: {problem}" for problem in PROBLEMS]


def test_serve_state_lists_every_problem(broken_state, tmp_path):
    folder = tmp_path / "state"
    folder.mkdir()
    world = folder / "world.json"
    broken_state.rename(world)
    result = docrsim("serve", "--api-port", "0", "--registry-port", "0", "--state", str(folder))
    assert result.returncode == 2
    lines = result.stderr.splitlines()
    assert lines == [f"docrsim: {world}: {problem}" for problem in PROBLEMS]
