"""The state commands of ``docrsim``: ``state export/import`` and ``gc preview``, run as real subprocesses (every wait has a timeout)."""

from __future__ import annotations

import json
import os
import signal
import socket
import stat
import subprocess
import time
from pathlib import Path

import pytest
import requests

from docrsim.core.persistence import statefile

from tests.served import DOCRSIM, ENV, ROOT, WAIT, ServedProcess
BASE = "/v2/registries/acme"
AUTH = {"Authorization": "Bearer dop_v1_cli"}


def docrsim(*args, timeout=WAIT) -> subprocess.CompletedProcess:
    return subprocess.run([*DOCRSIM, *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout, env=ENV)


class Served(ServedProcess):
    def wait_ready(self) -> str:
        """The API host's URL, once docrsim says it is ready."""
        return super().wait_ready()["API host"]

    def stop(self, signum=signal.SIGTERM) -> tuple[int, list[str], str]:
        """Exit code, the rest of stdout, and stderr."""
        self.proc.send_signal(signum)
        code = self.proc.wait(timeout=WAIT)
        deadline = time.monotonic() + WAIT
        rest = []
        while (line := self._next_line(deadline)) is not None:
            rest.append(line)
        return code, rest, self.proc.stderr.read()


@pytest.fixture
def serve():
    started = []

    def _serve(*args) -> Served:
        started.append(Served(*args))
        return started[-1]

    yield _serve
    for served in started:
        served.kill()


def state_of(api: str) -> dict:
    answer = requests.get(f"{api}/_docrsim/state", timeout=WAIT)
    assert answer.status_code == 200
    return answer.json()


def make_changes(api: str) -> None:
    """Content, a credential and a collection caught while deleting, all through HTTP."""
    put = requests.put(f"{api}/_docrsim/gc-rates", json={"delete_objects_per_second": 1}, timeout=WAIT)
    assert put.status_code == 200
    assert requests.get(f"{api}{BASE}/docker-credentials", headers=AUTH, timeout=WAIT).status_code == 200
    assert requests.delete(f"{api}{BASE}/repositories/web/tags/v1", headers=AUTH, timeout=WAIT).status_code == 204
    started = requests.post(f"{api}{BASE}/garbage-collection", headers=AUTH, timeout=WAIT,
                            json={"type": "untagged manifests and unreferenced blobs"})
    assert started.status_code == 201
    moved = requests.post(f"{api}/_docrsim/clock", json={"advance_seconds": 3.5}, timeout=WAIT)
    assert moved.status_code == 200


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# -- state files ----------------------------------------------------------------------------------
def test_a_state_file_is_replaced_whole_or_not_at_all(tmp_path, monkeypatch):
    path = tmp_path / "world.json"
    statefile.write(path, {"format": "docrsim-state/1", "n": 1})
    statefile.write(path, {"format": "docrsim-state/1", "n": 2})
    assert statefile.read(path)["n"] == 2

    def no_space(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", no_space)
    with pytest.raises(statefile.StateFileError, match="No space left on device"):
        statefile.write(path, {"format": "docrsim-state/1", "n": 3})
    assert statefile.read(path)["n"] == 2
    assert [p.name for p in tmp_path.iterdir()] == ["world.json"]


# -- state export / import --------------------------------------------------------------------------
def test_state_export_and_import_round_trip(scenario, live, tmp_path):
    app = scenario("small-app")
    make_changes(app.api_url)
    saved = tmp_path / "saved.json"
    exported = docrsim("state", "export", "--url", app.api_url, "-o", str(saved))
    assert exported.returncode == 0, exported.stderr
    assert exported.stdout == f"state of {app.api_url} saved to {saved}\n"
    assert json.loads(saved.read_text()) == state_of(app.api_url)
    printed = docrsim("state", "export", "--url", app.api_url)
    assert printed.returncode == 0 and json.loads(printed.stdout) == state_of(app.api_url)

    imported = docrsim("state", "import", str(saved), "--url", live.api_url)
    assert imported.returncode == 0, imported.stderr
    assert imported.stdout == f"state of {live.api_url} replaced with {saved}\n"
    assert state_of(live.api_url) == state_of(app.api_url)


def test_state_commands_read_the_url_from_the_environment(live):
    answer = subprocess.run([*DOCRSIM, "state", "export"], cwd=ROOT, capture_output=True, text=True, timeout=WAIT,
                            env={**ENV, "DOCRSIM_URL": live.api_url})
    assert answer.returncode == 0 and json.loads(answer.stdout)["format"] == "docrsim-state/1"


@pytest.mark.parametrize("content, words", [
    (None, "cannot read the state file"),
    ("{not json", "not JSON"),
    ('{"registries": []}', 'not a docrsim state (it has no "format": "docrsim-state/1")'),
])
def test_state_import_refuses_a_bad_file(live, tmp_path, content, words):
    path = tmp_path / "saved.json"
    if content is not None:
        path.write_text(content)
    answer = docrsim("state", "import", str(path), "--url", live.api_url)
    assert answer.returncode == 2
    assert answer.stderr.startswith(f"docrsim: {path}: {words}")
    assert answer.stderr.count("\n") == 1 and "Traceback" not in answer.stderr


def test_state_import_reports_what_the_server_refused(live, tmp_path):
    path = tmp_path / "saved.json"
    document = state_of(live.api_url)
    document["clock"]["now"] = "whenever"
    path.write_text(json.dumps(document))
    before = state_of(live.api_url)
    answer = docrsim("state", "import", str(path), "--url", live.api_url)
    assert answer.returncode == 1
    assert answer.stderr.startswith(f"docrsim: {live.api_url} refused {path}: not a docrsim state: clock.now: ")
    assert state_of(live.api_url) == before


@pytest.mark.parametrize("command", [["state", "export"], ["state", "import", "FILE"], ["gc", "preview", "acme"]])
def test_commands_say_when_no_docrsim_answers(tmp_path, command):
    path = tmp_path / "saved.json"
    statefile.write(path, {"format": "docrsim-state/1"})
    url = f"http://127.0.0.1:{free_port()}"
    answer = docrsim(*[str(path) if part == "FILE" else part for part in command], "--url", url)
    assert answer.returncode == 3
    assert answer.stderr.startswith(f"docrsim: cannot reach docrsim at {url}: ")
    assert answer.stderr.endswith("(is `docrsim serve` running?)\n")


# -- gc preview -------------------------------------------------------------------------------------
def test_gc_preview_prints_a_table_and_json(scenario):
    app = scenario("small-app")
    preview = requests.get(f"{app.api_url}/_docrsim/registries/acme/garbage", timeout=WAIT).json()
    table = docrsim("gc", "preview", "acme", "--url", app.api_url)
    assert table.returncode == 0, table.stderr
    header, *rows = table.stdout.splitlines()
    assert header.split() == ["TYPE", "OBJECTS", "BYTES"]
    assert len(rows) == 3
    for row, (gc_type, entry) in zip(rows, preview.items()):
        assert row.startswith(gc_type) and row.split()[-2:] == [str(entry["count"]), str(entry["bytes"])]
    as_json = docrsim("gc", "preview", "acme", "--url", app.api_url, "--json")
    assert as_json.returncode == 0 and json.loads(as_json.stdout) == preview


def test_gc_preview_of_an_unknown_registry(scenario):
    app = scenario("small-app")
    answer = docrsim("gc", "preview", "nope/../x", "--url", app.api_url)
    assert answer.returncode == 1
    assert answer.stderr == f"docrsim: {app.api_url} has no registry named 'nope/../x'\n"
