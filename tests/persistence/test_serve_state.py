"""``docrsim serve --state DIR`` as a user runs it: a real subprocess, stopped or killed."""

from __future__ import annotations

import json
import signal
import stat

import pytest
import requests

from docrsim.core.persistence.folder import LOG, WORLD
from tests.served import WAIT
from tests.test_cli_state import AUTH, BASE, docrsim, make_changes, serve, state_of  # noqa: F401 (a fixture)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_serve_keeps_its_world_in_the_state_folder_across_restarts(serve, tmp_path, signum):
    folder = tmp_path / "state"
    first = serve("--clock", "manual", "--fixture", "fixtures/small-app.yaml", "--state", str(folder))
    api = first.wait_ready()
    assert f"state folder:  {folder} (new; every change saved before its response)" in first.seen
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    make_changes(api)
    before = state_of(api)
    code, rest, errors = first.stop(signum)
    assert code == 0 and "Traceback" not in errors
    assert rest == [f"state saved to {folder}", "docrsim stopped"]
    assert sorted(p.name for p in folder.iterdir()) == ["blobs", LOG, "lock", WORLD]  # no temporary file
    assert stat.S_IMODE((folder / WORLD).stat().st_mode) == 0o600  # it holds credentials' secrets
    # Stopped cleanly, the log is folded into world.json: a header and no record.
    assert len((folder / LOG).read_bytes().splitlines()) == 1

    # Another start: the fixture and seed would make another world, but the folder's wins.
    second = serve("--clock", "manual", "--fixture", "fixtures/small-app.yaml", "--seed", "7", "--state", str(folder))
    api = second.wait_ready()
    assert f"state folder:  {folder} (loaded; every change saved before its response)" in second.seen
    assert state_of(api) == before
    run = requests.get(f"{api}{BASE}/garbage-collection", headers=AUTH, timeout=WAIT).json()["garbage_collection"]
    assert run["status"] == "deleting unreferenced blobs"
    # A plain reset still goes back to the fixture (with --seed 7), and that is saved too.
    assert requests.post(f"{api}/_docrsim/reset", timeout=WAIT).status_code == 204
    reset = state_of(api)
    assert reset["seed"] == 7 and reset["registries"][0]["garbage_collections"] == []
    second.kill()  # SIGKILL: nothing runs at exit

    third = serve("--clock", "manual", "--state", str(folder), "--fsync")
    api = third.wait_ready()
    assert f"state folder:  {folder} (loaded; every change saved before its response, synced)" in third.seen
    assert state_of(api) == reset


def changed_then_killed(serve, folder) -> dict:
    """Start on ``folder``, make changes, SIGKILL; the state acknowledged last."""
    first = serve("--clock", "manual", "--fixture", "small-app", "--state", str(folder))
    api = first.wait_ready()
    make_changes(api)
    before = state_of(api)
    first.kill()
    return before


def test_a_killed_server_loses_no_acknowledged_change(serve, tmp_path):
    folder = tmp_path / "state"
    before = changed_then_killed(serve, folder)
    second = serve("--clock", "manual", "--state", str(folder))
    assert state_of(second.wait_ready()) == before
    assert not any("warning" in line for line in second.seen)


def test_a_torn_last_record_is_dropped_with_a_warning(serve, tmp_path):
    folder = tmp_path / "state"
    before = changed_then_killed(serve, folder)
    with open(folder / LOG, "ab") as log:
        log.write(b'0badf00d {"changes":[["acme","untag","web","lat')  # a write a crash cut short
    second = serve("--clock", "manual", "--state", str(folder))
    second.wait_ready()
    code, _, errors = second.stop()
    assert code == 0
    assert f"docrsim: warning: {folder / LOG}: dropped the last record, cut short by a crash" in errors
    third = serve("--clock", "manual", "--state", str(folder))
    assert state_of(third.wait_ready()) == before


def test_a_damaged_record_stops_the_start_and_nothing_is_touched(serve, tmp_path):
    folder = tmp_path / "state"
    first = serve("--clock", "manual", "--fixture", "small-app", "--state", str(folder))
    make_changes(first.wait_ready())
    first.kill()
    lines = (folder / LOG).read_bytes().splitlines(keepends=True)
    assert len(lines) > 3
    lines[2] = lines[2].replace(b'"', b"'", 1)
    (folder / LOG).write_bytes(b"".join(lines))
    files = {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file() and p.name != "lock"}
    result = docrsim("serve", "--api-port", "0", "--registry-port", "0", "--state", str(folder))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr == (f"docrsim: {folder / LOG}: line 3 is damaged (its checksum or JSON is wrong, or it is "
                             "not a header or record where it is); nothing was changed\n")
    assert {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file() and p.name != "lock"} == files


def test_a_bad_world_stops_the_start_and_is_left_alone(tmp_path):
    folder = tmp_path / "state"
    folder.mkdir()
    (folder / WORLD).write_text('{"format": "docrsim-state/1", "clock": 1}')
    result = docrsim("serve", "--api-port", "0", "--registry-port", "0", "--state", str(folder))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.startswith(f"docrsim: {folder / WORLD}: not a docrsim state: ")
    assert (folder / WORLD).read_text() == '{"format": "docrsim-state/1", "clock": 1}'
    assert not (folder / LOG).exists()


def test_a_blob_file_that_is_not_its_blob_is_named(serve, tmp_path):
    folder = tmp_path / "state"
    first = serve("--clock", "manual", "--fixture", "small-app", "--state", str(folder))
    first.wait_ready()
    first.stop()
    blob = next(p for p in (folder / "blobs" / "sha256").iterdir())
    blob.write_bytes(b"x" + blob.read_bytes()[1:])
    result = docrsim("serve", "--api-port", "0", "--registry-port", "0", "--state", str(folder))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert f"{blob}: its bytes are not those of sha256:{blob.name}" in result.stderr


@pytest.mark.parametrize("make, words", [
    (lambda p: p.write_text("{}"), "a file, not a folder: --state keeps the world in a folder; to keep this saved "
                                   "world, move it into one as world.json"),
    (lambda p: None, "its parent folder does not exist"),
], ids=["a file", "no parent"])
def test_serve_refuses_a_state_folder_it_cannot_use(tmp_path, make, words):
    path = tmp_path / "world.json"
    make(path)
    if "parent" in words:
        path = tmp_path / "no" / "state"
    result = docrsim("serve", "--api-port", "0", "--registry-port", "0", "--state", str(path))
    assert result.returncode == 2 and words in result.stderr and "Traceback" not in result.stderr


def test_one_docrsim_at_a_time_keeps_a_folder(serve, tmp_path):
    folder = tmp_path / "state"
    first = serve("--state", str(folder))
    first.wait_ready()
    result = docrsim("serve", "--api-port", "0", "--registry-port", "0", "--state", str(folder))
    assert result.returncode == 2
    assert f"{folder}: in use by another docrsim (process {first.proc.pid})" in result.stderr


def test_fsync_needs_a_state_folder():
    result = docrsim("serve", "--api-port", "0", "--registry-port", "0", "--fsync")
    assert result.returncode == 2 and "--fsync needs --state" in result.stderr


def test_an_old_state_file_moved_into_a_folder_is_loaded(serve, tmp_path):
    """A saved document with its blobs as base64 (state export) is a world.json as it is."""
    first = serve("--clock", "manual", "--fixture", "small-app")
    api = first.wait_ready()
    make_changes(api)
    document = state_of(api)
    folder = tmp_path / "state"
    folder.mkdir()
    (folder / WORLD).write_text(json.dumps(document))
    second = serve("--clock", "manual", "--state", str(folder))
    api = second.wait_ready()
    assert state_of(api) == document
    # It starts a log of its own that follows it: a change made now survives a kill.
    assert requests.get(f"{api}{BASE}/docker-credentials", headers=AUTH, timeout=WAIT).status_code == 200
    changed = state_of(api)
    assert len(changed["credentials"]) == len(document["credentials"]) + 1
    second.kill()
    third = serve("--clock", "manual", "--state", str(folder))
    assert state_of(third.wait_ready()) == changed


def test_state_compact_folds_the_log_into_world_json(serve, tmp_path):
    folder = tmp_path / "state"
    served = serve("--clock", "manual", "--fixture", "small-app", "--state", str(folder))
    api = served.wait_ready()
    make_changes(api)
    assert len((folder / LOG).read_bytes().splitlines()) > 1
    result = docrsim("state", "compact", "--url", api)
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"state of {api} compacted into {folder}/world.json\n"
    assert len((folder / LOG).read_bytes().splitlines()) == 1


def test_state_compact_is_refused_without_a_folder(serve):
    api = serve().wait_ready()
    result = docrsim("state", "compact", "--url", api)
    assert result.returncode == 1
    assert "did not compact its state: HTTP 409: this docrsim keeps no state folder" in result.stderr
