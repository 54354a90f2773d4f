"""The worlds the reliability tests start from, built once and kept as exact state documents."""

from __future__ import annotations

import copy
from functools import lru_cache

from docrsim.core.clock import ManualClock
from docrsim.core.state import Simulation
from docrsim.http.control import restore
from docrsim.scenarios import read_file
from tests.conftest import FIXTURES, START


def _fuzz_document() -> dict:
    """small-app's ``acme`` on Professional, beside ``beta``: a registry with one image and a
    push token still valid, so a garbage collection started on it waits for that token."""
    document = copy.deepcopy(read_file(FIXTURES / "small-app.yaml"))
    document["account"]["tier"] = "professional"
    document["registries"].append({
        "name": "beta",
        "region": "fra1",
        "created_at": "2025-12-10T00:00:00Z",
        "repositories": [{"name": "api", "manifests": [
            {"tags": ["1.0"], "pushed_at": "2025-12-11T00:00:00Z", "layers": [{"content": "beta api layer"}]},
        ]}],
        "write_tokens": [{"issued_at": "2025-12-31T23:55:00Z"}],
    })
    return document


@lru_cache(maxsize=1)
def fuzz_world() -> tuple[dict, dict[str, list[str]]]:
    """(state document, known values of each path parameter) of the world fuzzing starts from:
    the document above, an active garbage collection on ``beta``, a docker credential and a
    fault rule whose path no request can have (so deleting a fault has one to find)."""
    sim = Simulation(clock=ManualClock(START), seed=0)
    restore(sim, [_fuzz_document()])
    with sim.transaction() as now:
        run = sim.gc.start("beta", "untagged manifests and unreferenced blobs", now)
        sim.credentials.mint("dop_v1_" + sim.ids.hex(32), registry="acme", read_write=True,
                             expiry_seconds=0, now=now)
        rule = sim.faults.add({"path": "/never/matched", "status": 503}, now)
    state = sim.export_state()
    acme = sim.account.registry("acme").content
    known = {
        "registry_name": ["acme", "beta"],
        "repository_name": ["web", "tools%2Fmigrate", "api"],
        "repository_tag": ["v1", "latest", "1.0"],
        "manifest_digest": sorted(acme.repositories["web"].manifests),
        "garbage_collection_uuid": [run.uuid],
        "fault_id": [rule.id],
    }
    return state, known
