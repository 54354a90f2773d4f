"""Progress on long loads: ``docrsim serve`` draws how far a bulk scenario or a saved state
has got on a terminal (stderr a pseudo-terminal here), and writes nothing when stderr is not
one."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import time

from docrsim import Simulator
from docrsim.core import progress
from tests.served import DOCRSIM, ENV, ROOT, WAIT


def serve_until_ready(*args, terminal: bool) -> str:
    """Start serve, wait for its ready line, stop it; what it wrote to stderr."""
    if terminal:
        controller, stderr = pty.openpty()
    else:
        controller, stderr = None, subprocess.PIPE
    proc = subprocess.Popen([*DOCRSIM, "serve", "--api-port", "0", "--registry-port", "0", *args], cwd=ROOT, env=ENV,
                            stdout=subprocess.PIPE, stderr=stderr, text=True)
    seen = b""
    try:
        deadline = time.monotonic() + 120
        for line in proc.stdout:
            if line.startswith("docrsim ready") or time.monotonic() > deadline:
                break
        proc.terminate()
        proc.wait(timeout=WAIT)
        if terminal:
            os.close(stderr)
            while select.select([controller], [], [], 1)[0]:
                try:
                    chunk = os.read(controller, 65536)
                except OSError:  # the other end is closed: all has been read
                    break
                if not chunk:
                    break
                seen += chunk
            return seen.decode()
        return proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=WAIT)
        if controller is not None:
            os.close(controller)
        proc.stdout.close()
        if proc.stderr:
            proc.stderr.close()


def test_a_bulk_scenario_shows_its_progress_on_a_terminal():
    seen = serve_until_ready("--fixture", "synthetic-10k", terminal=True)
    assert "generating bulk: repositories: 100/100 (100%)" in seen, seen
    assert seen.endswith("\r\033[K")  # the line is cleared once the load is over


def test_a_saved_state_shows_its_progress_on_a_terminal(tmp_path):
    state = tmp_path / "state"
    state.mkdir()
    with Simulator(fixture="small-app") as sim:
        blobs = len(sim.sim.account.registry("acme").content.blobs)
        from docrsim.core.persistence import statefile

        statefile.write(state / "world.json", sim.sim.export_state())
    seen = serve_until_ready("--state", str(state), terminal=True)
    assert "checking the saved state …" in seen
    assert f"rebuilding acme: blobs: {blobs}/{blobs} (100%)" in seen


def test_nothing_when_stderr_is_not_a_terminal():
    assert serve_until_ready("--fixture", "synthetic-10k", terminal=False) == ""


def test_the_steps_reach_a_reporter_set_around_the_work(capfd):
    steps = []
    with progress.reporting(lambda *step: steps.append(step)):
        with Simulator(fixture="synthetic-10k"):
            pass
    assert steps[0] == ("generating bulk: repositories", 0, 100)
    assert steps[-1] == ("generating bulk: repositories", 100, 100)
    assert capfd.readouterr() == ("", "")  # the Simulator itself draws nothing
