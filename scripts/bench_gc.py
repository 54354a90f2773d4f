"""Time the garbage collector's calls on a large fixture: the worst single start/settle.

    .venv/bin/python scripts/bench_gc.py [fixtures/synthetic-10k.yaml] [--step SECONDS ...]

For each GC type, a run is driven to its end three ways: polling (the clock moves
``--step`` seconds between transactions, like a client polling the run); stepping from
checkpoint to checkpoint, as ``POST /_docrsim/clock {"until_idle": true}`` does; and one
jump straight to ``idle_at()`` followed by a single settle. Each call is timed under the
simulation lock, as a server request would hold it.

CPython's cyclic collector occasionally walks the whole heap, and a 10k-manifest fixture makes
that heap large: such a pass can land inside any call. ``--freeze`` moves the loaded fixture
out of the collector's reach (``gc.freeze()``) to show what the engine's own work costs.
"""

from __future__ import annotations

import argparse
import gc
import time
from pathlib import Path

from docrsim.core.clock import ManualClock, parse_instant
from docrsim.core.gc import GC_TYPES
from docrsim.core.state import Simulation
from docrsim.scenarios import apply, read_file


def timed(fn):
    started = time.perf_counter()
    result = fn()
    return result, (time.perf_counter() - started) * 1000


def settle(sim) -> float:
    def run():
        with sim.transaction():
            pass
    return timed(run)[1]


def drive(document, registry: str, gc_type: str, step, freeze: bool = False) -> dict:
    sim = Simulation(clock=ManualClock(parse_instant("2026-01-01T00:00:00Z")))
    apply(sim, document, replace=True)
    if freeze:
        gc.collect()
        gc.freeze()
    with sim.lock:
        _, start_ms = timed(lambda: sim.gc.start(registry, gc_type, sim.now()))
    worst = {"start": start_ms, "settle": 0.0, "idle_at": 0.0}
    calls = 0
    while sim.gc.is_read_only(registry):
        if step == "checkpoints":
            with sim.lock:
                target, ms = timed(sim.gc.next_checkpoint)
            worst["idle_at"] = max(worst["idle_at"], ms)
            sim.clock.set(target)
        elif step is None:
            with sim.lock:
                target, ms = timed(sim.gc.idle_at)
            worst["idle_at"] = max(worst["idle_at"], ms)
            sim.clock.set(target)
        else:
            sim.clock.advance(step)
        worst["settle"] = max(worst["settle"], settle(sim))
        calls += 1
    run = sim.gc.runs(registry)[0]
    return {**worst, "calls": calls, "status": run.status, "blobs_deleted": run.blobs_deleted}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("fixture", nargs="?", default=str(Path(__file__).resolve().parents[1] / "fixtures/synthetic-10k.yaml"))
    parser.add_argument("--step", type=float, action="append", help="polling step in seconds (repeatable; default 1 and 10)")
    parser.add_argument("--freeze", action="store_true", help="gc.freeze() the loaded fixture before each run")
    args = parser.parse_args()
    document = read_file(args.fixture)
    registry = document["registries"][0]["name"]
    steps = args.step or [1.0, 10.0]
    print(f"{'type':45} {'driving':12} {'start ms':>9} {'settle ms':>10} {'look-ahead':>10} {'calls':>6}  result")
    overall = 0.0
    for gc_type in GC_TYPES:
        for step in [*steps, "checkpoints", None]:
            r = drive(document, registry, gc_type, step, args.freeze)
            gc.unfreeze()
            label = "one jump" if step is None else step if isinstance(step, str) else f"poll {step:g}s"
            if step is not None:
                overall = max(overall, r["start"], r["settle"], r["idle_at"])
            print(f"{gc_type:45} {label:12} {r['start']:9.2f} {r['settle']:10.2f} {r['idle_at']:10.2f} {r['calls']:6}"
                  f"  {r['status']}, {r['blobs_deleted']} objects")
    print(f"worst single call when polling or stepping by checkpoints: {overall:.2f} ms")


if __name__ == "__main__":
    main()
