"""Shared fixtures: a live docrsim on 127.0.0.1, spoken to over real HTTP."""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from hypothesis import settings

from docrsim.core.clock import ManualClock, parse_instant
from docrsim.core.state import Simulation
from docrsim.http.control import restore
from docrsim.scenarios import read_file
from docrsim.server import Server
from tests import spec_conformance

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
# docrsim's CA lives in the user's data folder unless told otherwise: the suite's own, made
# once per run (child processes, the user suites pytester starts, inherit it).
os.environ.setdefault("DOCRSIM_CA_DIR", tempfile.mkdtemp(prefix="docrsim-test-ca-"))
START = parse_instant("2026-01-01T00:00:00Z")


@dataclass
class Live:
    sim: Simulation
    server: Server
    http: requests.Session

    @property
    def api_url(self) -> str:
        return self.server.api_url

    @property
    def registry_url(self) -> str:
        return self.server.registry_url

    def url(self, path: str) -> str:
        return self.api_url + path

    def load(self, name: str) -> None:
        """Replace the world with a shipped scenario (fixtures/<name>.yaml)."""
        restore(self.sim, [read_file(FIXTURES / f"{name}.yaml")])

    def advance(self, seconds: float) -> None:
        self.sim.clock.advance(seconds)


def start_live(documents=(), seed: int = 0, tokens=None) -> Live:
    sim = Simulation(clock=ManualClock(START), seed=seed)
    restore(sim, list(documents))
    server = Server(sim, api_port=0, registry_port=0, baseline=list(documents), tokens=tokens).start()
    session = requests.Session()
    session.headers["Authorization"] = "Bearer dop_v1_docrsim-test"
    # Every response the tests see must be one our OpenAPI document describes.
    session.hooks["response"].append(spec_conformance.hook)
    return Live(sim=sim, server=server, http=session)


@pytest.fixture
def live():
    """A fresh docrsim (manual clock at 2026-01-01T00:00:00Z, seed 0) with no registry."""
    instance = start_live()
    yield instance
    instance.http.close()
    instance.server.stop()


@pytest.fixture
def scenario():
    """Start docrsim on a shipped scenario: ``scenario("small-app")``."""
    started = []

    def _start(name: str, seed: int = 0) -> Live:
        instance = start_live([read_file(FIXTURES / f"{name}.yaml")], seed=seed)
        started.append(instance)
        return instance

    yield _start
    for instance in started:
        instance.http.close()
        instance.server.stop()


# -- Hypothesis profiles ------------------------------------------------------------------------
# `HYPOTHESIS_PROFILE=ci` makes property tests reproducible (a fixed seed) and free of
# wall-clock deadlines, which a busy CI machine would trip; locally the default profile keeps
# exploring new examples on every run.
settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
# `HYPOTHESIS_PROFILE=nightly` explores far more: new examples each run, and the stateful
# tests under tests/stateful raise their example, step and interleaving counts.
settings.register_profile("nightly", deadline=None, print_blob=True, max_examples=2000, stateful_step_count=100)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

# pytester runs small pytest sessions, as a user's suite would, to test the docrsim plugin.
pytest_plugins = ["pytester"]
