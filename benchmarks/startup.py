"""Test-double overhead: how long docrsim takes to be ready, to reset, and to load scenarios.

    .venv/bin/python benchmarks/startup.py [--runs 5]

Prints one line per figure: the median and the worst of the runs, in milliseconds.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCRSIM = [sys.executable, "-m", "docrsim"]


def serve_ready(fixture: str) -> float:
    """Wall time from launching `docrsim serve` to its ready line."""
    start = time.perf_counter()
    process = subprocess.Popen([*DOCRSIM, "serve", "--api-port", "0", "--registry-port", "0", "--clock", "manual",
                                "--fixture", str(ROOT / "fixtures" / f"{fixture}.yaml")],
                               stdout=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        for line in process.stdout:
            if "ready" in line:
                return time.perf_counter() - start
        raise RuntimeError("docrsim serve ended before it was ready")
    finally:
        process.terminate()
        process.wait()


def timed(action) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs

    from docrsim import Simulator
    from docrsim.core.state import Simulation
    from docrsim.scenarios import apply, library

    figures: dict[str, list[float]] = {}

    def record(name, seconds):
        figures.setdefault(name, []).append(seconds * 1000)

    synthetic = library.documents("synthetic-10k")[0]
    for _ in range(runs):
        record("docrsim serve ready, synthetic-10k (process start to ready line)", serve_ready("synthetic-10k"))
        record("load synthetic-10k (10,000 manifests) into a new world", timed(lambda: apply(Simulation(), synthetic, replace=True)))
        started = time.perf_counter()
        simulator = Simulator(fixture="small-app").start()
        record("Simulator(fixture='small-app').start(): built, loaded, listening", time.perf_counter() - started)
        record("Simulator reset, small-app", timed(simulator.reset))
        record("Simulator reset, empty", timed(lambda: simulator.reset({})))
        simulator.stop()

    width = max(map(len, figures))
    print(f"{'figure':<{width}}  {'median ms':>10}  {'worst ms':>10}   ({runs} runs)")
    for name, values in figures.items():
        print(f"{name:<{width}}  {statistics.median(values):>10.1f}  {max(values):>10.1f}")


if __name__ == "__main__":
    main()
