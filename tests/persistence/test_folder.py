"""The state folder's rules, in process: what a save writes, when it compacts, what a failed
write tells the client, what a compaction cut short leaves behind."""

from __future__ import annotations

import errno
import os

import pytest
import requests

from docrsim.core.clock import ManualClock
from docrsim.core.persistence import folder as folder_module
from docrsim.core.persistence.folder import BLOBS, LOG, WORLD, StateFolder
from docrsim.core.state import Simulation
from docrsim.http.control import restore
from docrsim.scenarios import library
from docrsim.server import Server

AUTH = {"Authorization": "Bearer dop_v1_folder"}
TAGS = "/v2/registries/acme/repositories/web/tags"


@pytest.fixture
def served(tmp_path):
    sim = Simulation(clock=ManualClock())
    restore(sim, [library.read("small-app")])
    folder = StateFolder.open(tmp_path / "state")
    folder.start(sim)
    server = Server(sim, api_port=0, registry_port=0, state_folder=folder).start()
    yield server, folder
    server.stop()
    folder.close()


def loaded(path) -> dict:
    sim = Simulation(clock=ManualClock())
    assert StateFolder(path).load(sim)
    return sim.export_state()


def records(folder: StateFolder) -> list[bytes]:
    return (folder.path / LOG).read_bytes().splitlines()[1:]


def test_a_read_writes_nothing_and_a_change_one_record(served):
    server, folder = served
    assert records(folder) == []
    assert requests.get(server.api_url + TAGS, headers=AUTH).status_code == 200
    assert records(folder) == []
    assert requests.delete(server.api_url + TAGS + "/v1", headers=AUTH).status_code == 204
    (record,) = records(folder)
    assert b'["acme","untag","web","v1"]' in record
    assert loaded(folder.path) == server.sim.export_state()


def test_a_failed_write_is_told_to_the_client_and_the_change_saved_with_the_next(served, monkeypatch):
    server, folder = served
    real_write = os.write

    def disk_full(fd, data):
        if fd == folder._log_fd:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", disk_full)
    answer = requests.delete(server.api_url + TAGS + "/v1", headers=AUTH)
    assert answer.status_code == 500
    assert answer.json()["id"] == "server_error"
    assert "No space left on device" in answer.json()["message"]
    assert "kept in memory and saved with the next one" in answer.json()["message"]
    assert records(folder) == []
    monkeypatch.setattr(os, "write", real_write)
    assert requests.delete(server.api_url + TAGS + "/latest", headers=AUTH).status_code == 204
    (record,) = records(folder)
    assert b'"untag","web","v1"' in record and b'"untag","web","latest"' in record
    assert loaded(folder.path) == server.sim.export_state()


def test_a_registry_host_refusal_is_an_oci_error(served, monkeypatch):
    server, folder = served
    monkeypatch.setattr(folder, "_append", lambda line: (_ for _ in ()).throw(OSError(errno.EIO, "I/O error")))
    answer = requests.post(server.api_url + "/v2/registries/acme/garbage-collection", headers=AUTH,
                           json={"type": "unreferenced blobs only"})
    assert answer.status_code == 500 and answer.json()["id"] == "server_error"
    # The run is kept in memory, unsaved: the next request on either host tries again, and
    # says so in its own host's envelope while the disk still fails.
    answer = requests.get(server.registry_url + "/v2/")
    assert answer.status_code == 500
    (error,) = answer.json()["errors"]
    assert error["code"] == "UNKNOWN" and "I/O error" in error["message"]


def test_a_replaced_world_is_compacted_and_freed_blob_files_go(served):
    server, folder = served
    blob_files = {p.name for p in (folder.path / BLOBS / "sha256").iterdir()}
    assert blob_files
    assert requests.post(server.api_url + "/_docrsim/reset", json={"fixture": {"registries": []}}).status_code == 204
    assert records(folder) == []  # compacted: world.json holds the new world
    assert loaded(folder.path) == server.sim.export_state()
    assert list((folder.path / BLOBS / "sha256").iterdir()) == []


def test_compaction_on_demand_folds_the_log_into_world_json(served):
    server, folder = served
    assert requests.delete(server.api_url + TAGS + "/v1", headers=AUTH).status_code == 204
    assert len(records(folder)) == 1
    answer = requests.post(server.api_url + "/_docrsim/state/compact")
    assert answer.status_code == 200, answer.text
    assert answer.json()["folder"] == str(folder.path)
    assert records(folder) == []
    assert loaded(folder.path) == server.sim.export_state()


def test_compaction_on_demand_needs_a_state_folder():
    sim = Simulation(clock=ManualClock())
    server = Server(sim, api_port=0, registry_port=0).start()
    try:
        answer = requests.post(server.api_url + "/_docrsim/state/compact")
        assert answer.status_code == 409 and "--state" in answer.json()["message"]
    finally:
        server.stop()


def test_a_log_left_by_an_unfinished_compaction_is_not_replayed(served, monkeypatch):
    """The new world.json is in place but the crash came before the new log: the old log's
    records are already in world.json, and applying them again would be wrong."""
    server, folder = served
    assert requests.delete(server.api_url + TAGS + "/v1", headers=AUTH).status_code == 204
    old_log = (folder.path / LOG).read_bytes()
    folder.compact()
    (folder.path / LOG).write_bytes(old_log)  # as if the crash came between the two renames
    sim = Simulation(clock=ManualClock())
    reader = StateFolder(folder.path)
    assert reader.load(sim)
    assert sim.export_state() == server.sim.export_state()
    assert "follows another world.json than the one there, so its 1 records were not applied" in reader.warnings[0]


def test_a_save_with_very_many_changes_compacts_instead(served, monkeypatch):
    server, folder = served
    monkeypatch.setattr(folder_module, "PENDING_LIMIT", 1)
    for tag in ("v1", "latest"):
        assert requests.delete(server.api_url + TAGS + f"/{tag}", headers=AUTH).status_code == 204
    server.sim.account.registry("acme")  # the world is the same
    with server.sim.lock:
        content = server.sim.account.registry("acme").content
        content.delete_repository("web")
        content.delete_repository("tools/migrate")
    folder.save()
    assert records(folder) == []
    assert loaded(folder.path) == server.sim.export_state()


def test_a_registry_put_in_whole_is_compacted(served):
    """A scenario loaded into the running world adds registries the store did not report."""
    server, folder = served
    answer = requests.post(server.api_url + "/_docrsim/fixtures",
                           json={"account": {"tier": "professional"}, "registries": [{"name": "beta"}]})
    assert answer.status_code in (200, 201), answer.text
    assert records(folder) == []
    assert loaded(folder.path) == server.sim.export_state()
    assert [r["name"] for r in loaded(folder.path)["registries"]] == ["acme", "beta"]


def test_world_json_lists_blob_bytes_as_files(served):
    server, folder = served
    folder.compact()
    import json

    world = json.loads((folder.path / WORLD).read_text())
    blobs = [b for r in world["registries"] for b in r["blobs"]]
    assert blobs and not any("base64" in b for b in blobs)
    real = [b for b in blobs if not b["synthetic"]]
    assert {p.name for p in (folder.path / BLOBS / "sha256").iterdir()} == {b["digest"][7:] for b in real}


def test_a_missing_log_is_started_anew_and_what_follows_is_kept(served):
    """As after a kill between the first compaction's two renames: world.json, no log."""
    server, folder = served
    server.stop()
    folder.close()
    (folder.path / LOG).unlink()
    sim = Simulation(clock=ManualClock())
    again = StateFolder.open(folder.path)
    assert again.load(sim)
    again.start(sim)
    again_server = Server(sim, api_port=0, registry_port=0, state_folder=again).start()
    try:
        assert requests.delete(again_server.api_url + TAGS + "/v1", headers=AUTH).status_code == 204
        assert loaded(folder.path) == sim.export_state()
    finally:
        again_server.stop()
        again.close()
    served[0].start = lambda: None  # the fixture's own stop() still runs on the first server


def test_a_damaged_last_line_that_has_its_newline_is_no_torn_write(served):
    server, folder = served
    assert requests.delete(server.api_url + TAGS + "/v1", headers=AUTH).status_code == 204
    log = folder.path / LOG
    data = bytearray(log.read_bytes())
    data[-5] ^= 1  # inside the last record, its newline kept
    log.write_bytes(bytes(data))
    with pytest.raises(folder_module.StateFolderError, match="line 2 is damaged"):
        StateFolder(folder.path).load(Simulation(clock=ManualClock()))


def test_a_manifest_pushed_under_two_media_types_replays_as_stored(served):
    """A body without mediaType takes its type from Content-Type; the bytes keep the first."""
    server, folder = served
    sim = server.sim
    raw = b'{"schemaVersion":2,"config":{"mediaType":"application/vnd.oci.image.config.v1+json",' \
          b'"digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},"layers":[]}'
    with sim.transaction() as now:
        content = sim.account.registry("acme").content
        content.blobs.put(b"{}")
        content.link_blob("web", "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a")
        content.link_blob("other", "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a")
        content.put_manifest("web", raw, now, media_type="application/vnd.oci.image.manifest.v1+json", tag="x")
        content.put_manifest("other", raw, now, media_type="application/vnd.docker.distribution.manifest.v2+json",
                             tag="y")
    folder.save()
    assert loaded(folder.path) == sim.export_state()


def test_a_compaction_that_fails_half_way_is_done_again_by_the_next_save(served, monkeypatch):
    server, folder = served
    real = folder_module.write_atomically

    def log_fails(path, data, mode):
        if path.name == LOG:
            raise OSError(errno.ENOSPC, "No space left on device")
        real(path, data, mode)

    monkeypatch.setattr(folder_module, "write_atomically", log_fails)
    assert requests.post(server.api_url + "/_docrsim/state/compact").status_code == 500
    monkeypatch.setattr(folder_module, "write_atomically", real)
    assert requests.delete(server.api_url + TAGS + "/v1", headers=AUTH).status_code == 204
    assert loaded(folder.path) == server.sim.export_state()


def test_a_request_that_outlives_the_stop_writes_nothing(served):
    server, folder = served
    folder.compact()
    folder.close()
    before = (folder.path / LOG).read_bytes()
    with server.sim.transaction():
        server.sim.account.registry("acme").content.delete_tag("web", "v1")
    folder.save()
    assert (folder.path / LOG).read_bytes() == before


def test_an_uploaded_blob_is_written_once_as_it_streams_in(served, monkeypatch):
    """The file an upload streams into becomes the blob's file: renamed, not written again."""
    import hashlib

    server, folder = served
    token = requests.get(server.api_url + "/v2/registry/auth", auth=("t", "t"), params={
        "service": server.endpoints.registry_host, "scope": "repository:acme/web:pull,push"}).json()["token"]
    bearer = {"Authorization": f"Bearer {token}"}
    claimed = []
    claim = folder.spool.claim
    monkeypatch.setattr(folder.spool, "claim", lambda digest: claimed.append(claim(digest)) or claimed[-1])
    data = os.urandom(3 * 1024 * 1024)
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    started = requests.post(server.registry_url + "/v2/acme/web/blobs/uploads/", headers=bearer)
    assert started.status_code == 202, started.text
    location = started.headers["Location"]
    location = location if location.startswith("http") else server.registry_url + location
    patched = requests.patch(location, data=data, headers={**bearer, "Content-Type": "application/octet-stream"})
    assert patched.status_code == 202, patched.text
    location = patched.headers["Location"]
    location = location if location.startswith("http") else server.registry_url + location
    done = requests.put(location, params={"digest": digest}, headers=bearer)
    assert done.status_code == 201, done.text
    (path,) = claimed
    assert path is not None and not os.path.exists(path)  # renamed into place
    assert (folder.path / BLOBS / "sha256" / digest[7:]).read_bytes() == data
    assert list((folder.path / BLOBS / folder_module.UPLOADS).iterdir()) == []
    assert loaded(folder.path) == server.sim.export_state()


def collecting(tmp_path, clock, deletes_per_second: float):
    """A generated registry of 40 images, half untagged, kept in a state folder, and a
    garbage collection of it just started."""
    from docrsim.core.gc import Rates

    sim = Simulation(clock=clock, gc_rates=Rates(scan_manifests_per_second=100,
                                                 delete_objects_per_second=deletes_per_second))
    restore(sim, [{"account": {"tier": "professional"}, "registries": [{"name": "bulk", "generate": {
        "repositories": 2, "images_per_repository": 20, "layers_per_image": 2, "layer_size": 1024,
        "untagged_every": 2}}]}])
    folder = StateFolder.open(tmp_path / "state")
    folder.start(sim)
    with sim.transaction() as now:
        sim.gc.start("bulk", "untagged manifests and unreferenced blobs", now)
    return sim, folder


def test_a_deletion_plan_is_written_once_while_its_run_goes_through_it(tmp_path):
    """A run's plan never changes once made; its progress does, with every clock step."""
    from docrsim.core import timekeeping

    sim, folder = collecting(tmp_path, ManualClock(), deletes_per_second=1)
    try:
        folder.save()

        def run() -> dict:
            return sim.export_state()["registries"][0]["garbage_collections"][0]

        while not run()["status"].startswith("deleting"):
            timekeeping.advance(sim, 60)
            folder.save()
        for _ in range(8):
            timekeeping.advance(sim, 1)
            folder.save()
            assert loaded(folder.path) == sim.export_state()
        assert run()["status"].startswith("deleting") and run()["progress"]["steps_done"] > 3
        log = (folder.path / LOG).read_bytes()
        assert log.count(b'"plans":') == 1 and log.count(b'"saved_plan"') > 3
        folder.compact()
        header = (folder.path / LOG).read_bytes()
        assert header.count(b"\n") == 1 and b'"plans":' in header  # the new log starts naming it
        timekeeping.advance(sim, 1)
        folder.save()
        assert loaded(folder.path) == sim.export_state()
    finally:
        folder.close()


class TickingClock(ManualClock):
    """A manual clock that, while ``ticking``, moves on a little each time it is read, as the
    system clock does between two looks."""

    ticking = False

    def now(self):
        if self.ticking:
            self.advance(0.5)
        return super().now()


def test_a_compaction_while_time_passes_saves_one_instant(tmp_path):
    """world.json and the new log's frame must come from one settling of the clock: GC steps
    falling due between two would be counted done in the run and missing from the content."""
    from docrsim.core import timekeeping

    clock = TickingClock()
    sim, folder = collecting(tmp_path, clock, deletes_per_second=4)
    try:
        for _ in range(200):
            if sim.export_state()["registries"][0]["garbage_collections"][0]["status"].startswith("deleting"):
                break
            timekeeping.advance(sim, 1)
            folder.save()
        else:
            raise AssertionError("the run never reached its deletion phase")
        clock.ticking = True
        folder.compact()
        folder.save()
        clock.ticking = False
        folder.save()
        assert loaded(folder.path) == sim.export_state()
    finally:
        folder.close()


def test_a_chunk_after_the_bytes_were_checked_is_refused(served):
    """A PATCH racing the PUT that completes its upload must not add to the file the blob's
    file is made from."""
    import hashlib
    import io

    from docrsim.core import distribution
    from docrsim.core.uploads import UploadUnknown

    server, folder = served
    sim = server.sim
    data = b"checked bytes\n" * 64
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    with sim.transaction() as now:
        session = sim.uploads.start(sim.ids.uuid(), "acme", "web", now)
    session.append(io.BytesIO(data))
    checked = session.content(digest)
    with pytest.raises(UploadUnknown, match="is complete"):
        session.append(io.BytesIO(b"late"), start=session.size)
    with sim.transaction() as now:
        distribution.store_blob(sim, "acme", "web", checked, digest, now)
    sim.uploads.discard(session.uuid)
    folder.save()
    assert (folder.path / BLOBS / "sha256" / digest[7:]).read_bytes() == data
    assert loaded(folder.path) == sim.export_state()


def test_uploads_refused_after_their_bytes_were_checked_leave_no_file(served):
    server, folder = served
    import hashlib
    import io

    sim = server.sim
    for n in range(3):
        data = b"refused %d" % n
        with sim.transaction() as now:
            session = sim.uploads.unlisted("acme", "web", now)
        session.append(io.BytesIO(data))
        session.content("sha256:" + hashlib.sha256(data).hexdigest())
        session.close()  # as when the store refuses it (a registry in read-only mode)
    folder.save()
    assert list((folder.path / BLOBS / folder_module.UPLOADS).iterdir()) == []
