"""The state folder against the HTTP model: after every step, what is on disk is what is live.

The stateful model (tests.stateful.test_http_model) drives both hosts through pushes, deletes,
garbage collections and clock steps, checking every answer. Here the docrsim it talks to keeps
its world in a state folder, and after each step a fresh simulation loads that folder (without
the running one stopping or compacting anything) and must export exactly the state the live
one reports: every change acknowledged is on disk, replayed to the same world.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings
from hypothesis.stateful import invariant, run_state_machine_as_test

from docrsim.core.clock import ManualClock
from docrsim.core.persistence.folder import StateFolder
from docrsim.core.state import Simulation
from docrsim.http.control import restore
from docrsim.server import Server
from tests.stateful import support
from tests.stateful.support import BASELINE, RATES, START, World, nightly
from tests.stateful.test_http_model import HttpModel


class FolderWorld(World):
    """The stateful tests' docrsim, saving to a state folder."""

    def __init__(self, path):
        self.path = path
        self.sim = Simulation(clock=ManualClock(START), gc_rates=RATES)
        restore(self.sim, [BASELINE])
        self.folder = StateFolder.open(path)
        self.folder.start(self.sim)
        self.server = Server(self.sim, api_port=0, registry_port=0, baseline=[BASELINE],
                             state_folder=self.folder).start()
        self.api_url = self.server.api_url
        self.registry_url = self.server.registry_url
        self.service = self.server.endpoints.registry_host
        self.api = self.client()
        self.api.headers["Authorization"] = f"Bearer {support.API_TOKEN}"

    def stop(self) -> None:
        super().stop()
        self.folder.close()


@pytest.fixture(scope="module")
def folder_world(tmp_path_factory):
    instance = FolderWorld(tmp_path_factory.mktemp("state") / "world")
    yield instance
    instance.stop()


def replayed(path) -> dict:
    sim = Simulation(clock=ManualClock(START), gc_rates=RATES)
    assert StateFolder(path).load(sim)
    return sim.export_state()


def test_the_folder_holds_what_was_acknowledged_after_every_step(folder_world):
    class Machine(HttpModel):
        @invariant()
        def folder_matches_live(self):
            assert replayed(self.world.path) == self.world.state(self.api)

    Machine.world = folder_world
    Machine.registry_client = folder_world.client()
    big = nightly()
    run_state_machine_as_test(Machine, settings=settings(
        max_examples=500 if big else int(os.environ.get("STATEFUL_EXAMPLES", 40)),
        stateful_step_count=100 if big else 30, deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.function_scoped_fixture],
    ))
