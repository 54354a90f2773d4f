"""How long the garbage collector holds the simulation lock on a large fixture.

    .venv/bin/python benchmarks/gc_lock_holds.py [fixtures/synthetic-10k.yaml] [--freeze]

For each GC type a run is started and driven to its end four ways, timing every hold of the
simulation lock (what blocks other requests):

- poll 1s / poll 10s: the clock moves that much between transactions, like a client polling;
- control API: one ``POST /_docrsim/clock {"advance_seconds": 86400}`` through the real
  Flask app, which steps from GC checkpoint to checkpoint;
- in-process jump: the clock is set a day ahead and a single transaction settles it all (a
  test driving the core directly can do this; nothing bounds that one call).

CPython's cyclic collector occasionally walks the whole heap, and a 10k-manifest fixture makes
that heap large: such a pass can land inside any call. ``--freeze`` moves the loaded fixture
out of the collector's reach (``gc.freeze()``) to show what the engine's own work costs.
"""

from __future__ import annotations

import argparse
import gc
import time
from datetime import timedelta
from pathlib import Path

from docrsim.core.clock import ManualClock, parse_instant
from docrsim.core.gc import GC_TYPES
from docrsim.core.state import Simulation
from docrsim.http.api_app import create_api_app
from docrsim.scenarios import apply, read_file

DAY = 86400


class TimedLock:
    """The simulation's re-entrant lock, remembering its longest outermost hold."""

    def __init__(self, lock):
        self._lock = lock
        self._depth = 0
        self._since = 0.0
        self.holds: list[float] = []

    def acquire(self, *args, **kwargs):
        acquired = self._lock.acquire(*args, **kwargs)
        if acquired:
            self._depth += 1
            if self._depth == 1:
                self._since = time.perf_counter()
        return acquired

    def release(self):
        self._depth -= 1
        if self._depth == 0:
            self.holds.append((time.perf_counter() - self._since) * 1000)
        self._lock.release()

    __enter__ = acquire

    def __exit__(self, *exc):
        self.release()


def drive(document, registry: str, gc_type: str, mode: str, freeze: bool) -> dict:
    sim = Simulation(clock=ManualClock(parse_instant("2026-01-01T00:00:00Z")))
    apply(sim, document, replace=True)
    if freeze:
        gc.collect()
        gc.freeze()
    sim.lock = lock = TimedLock(sim.lock)
    with sim.transaction() as now:
        sim.gc.start(registry, gc_type, now)
    start_ms = lock.holds[-1]
    lock.holds.clear()
    if mode.startswith("poll"):
        step = float(mode.split()[1].rstrip("s"))
        while sim.gc.is_read_only(registry):
            sim.clock.advance(step)
            with sim.transaction():
                pass
    elif mode == "control API":
        client = create_api_app(sim).test_client()
        answer = client.post("/_docrsim/clock", json={"advance_seconds": DAY})
        assert answer.status_code == 200, answer.get_data(as_text=True)
        with sim.transaction():
            pass
    else:
        sim.clock.set(sim.now() + timedelta(seconds=DAY))
        with sim.transaction():
            pass
    with sim.transaction():
        run = sim.gc.runs(registry)[0]
    gc.unfreeze()
    return {"start": start_ms, "worst": max(lock.holds), "holds": len(lock.holds), "run": run}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("fixture", nargs="?",
                        default=str(Path(__file__).resolve().parents[1] / "fixtures/synthetic-10k.yaml"))
    parser.add_argument("--freeze", action="store_true", help="gc.freeze() the loaded fixture before each run")
    args = parser.parse_args()
    document = read_file(args.fixture)
    registry = document["registries"][0]["name"]
    print(f"{'type':43} {'driving':16} {'start ms':>8} {'worst hold ms':>13} {'holds':>6}  result")
    bounded = 0.0
    for gc_type in GC_TYPES:
        for mode in ("poll 1s", "poll 10s", "control API", "in-process jump"):
            r = drive(document, registry, gc_type, mode, args.freeze)
            if mode != "in-process jump":
                bounded = max(bounded, r["start"], r["worst"])
            run = r["run"]
            print(f"{gc_type:43} {mode:16} {r['start']:8.2f} {r['worst']:13.2f} {r['holds']:6}"
                  f"  {run.status}, {run.blobs_deleted} objects, {run.freed_bytes} bytes")
    print(f"worst start or lock hold, polling or through the control API: {bounded:.2f} ms")


if __name__ == "__main__":
    main()
