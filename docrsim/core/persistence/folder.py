"""A state folder: the world kept on disk as it changes, so that a killed docrsim loses nothing.

    DIR/world.json          the world as of the last compaction: a ``docrsim-state/1`` document
                            whose blobs that have bytes are listed without them
    DIR/changes.jsonl       every save since then: a header naming the world.json it follows,
                            then a record per save (docrsim.core.persistence.changelog), each
                            one line ``<crc32, 8 hex digits> <JSON>``
    DIR/blobs/<algorithm>/<hex>   a blob's bytes, written once, before the record naming it
    DIR/lock                held (flock) by the docrsim using the folder

The rules:
- ``save()`` runs before every response goes out (the HTTP edge calls it): the content changes
  made since the last save, and the frame if it differs, become one record appended with one
  write. A GC deletion plan in the frame is named by a token, and written (with the record or
  the header that first names it) once per log. Once the response leaves, the record is the operating system's: a killed process
  loses nothing. With ``fsync`` the log and new blob files are also synced to the disk first,
  so a power cut loses nothing either; without it a power cut may lose the last seconds.
- ``compact()`` writes world.json anew (a file beside it, synced, renamed over it) and starts a
  new log, then deletes the blob files the world no longer holds. It runs at start when the log
  had records, at stop, on demand, when the log passes LOG_LIMIT bytes, when one save would
  hold more than PENDING_LIMIT changes, and whenever the world was replaced rather than changed
  (a reset, an import, a scenario loaded), as the store reports changes, not replacements.
- Loading reads world.json, then replays the records of the log whose header names it; a log
  left by a compaction that did not finish is already part of world.json and is not replayed.
  A record goes out with its newline in one write, so a write a crash cut short is a last line
  without one: it is dropped with a warning. A damaged line that has its newline, or a
  world.json or blob file that is not what it should be, stops the load with an error naming
  the file, and nothing in the folder is touched (temporary files of cut-short writes are
  removed only once the folder has loaded).
- Compaction always syncs: the blob files written since the last one first, then world.json,
  so that even without ``fsync`` a power cut cannot leave a world.json naming missing files.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import tempfile
import threading
import zlib
from pathlib import Path

from docrsim.core import digests
from docrsim.core.changes import Changes
from docrsim.core.errors import Invalid
from docrsim.core.persistence import changelog, snapshot, statefile
from docrsim.core.persistence.format import Problem, StateError, check_shape
from docrsim.files import sync_directory, write_atomically

WORLD, LOG, BLOBS, LOCK = "world.json", "changes.jsonl", "blobs", "lock"
UPLOADS = ".uploads"  # under BLOBS: the files upload sessions stream into
LOG_LIMIT = 64 << 20
PENDING_LIMIT = 100_000
_TEMPORARY = ".tmp-"


class StateFolderError(Invalid):
    """A state folder that cannot be used, read or written; the message names the file (as
    does statefile.StateFileError, for a world.json that is no saved world)."""


class StateFolder:
    def __init__(self, path: str | os.PathLike, *, fsync: bool = False):
        self.path = Path(path)
        self.fsync = fsync
        self.warnings: list[str] = []
        self.changes = Changes()
        self.sim = None
        self._lock_fd: int | None = None
        self._log_fd: int | None = None
        self._log_size = 0
        self._on_disk: set[str] = set()
        self._account = None
        self._frame_key: str | None = None
        self._compact_at_start = True
        self._log_follows = False  # whether the log read at load follows the world.json there
        self._header_plans: dict = {}  # the plans the log's header names
        self._unsynced: set[Path] = set()  # blob files not yet synced to the disk (without fsync)
        self._closed = False
        self.spool = _UploadSpool(self.path / BLOBS / UPLOADS)
        # GC deletion plans named by token in the log since the last compaction: the plan's
        # shared export (kept, so that its id names it alone) -> its token; the tokens written.
        self._plan_tokens: dict[int, tuple[dict, str]] = {}
        self._plans_written: set[str] = set()
        self._plans_named = 0  # tokens handed out: each new one is the next number

    # -- opening --------------------------------------------------------------------------------
    @classmethod
    def open(cls, path, *, fsync: bool = False) -> "StateFolder":
        """The folder at ``path``, made if missing (its parent must exist), locked for this process."""
        folder = cls(path, fsync=fsync)
        folder._make()
        folder._lock()
        try:
            folder._survey_blobs()
        except BaseException:
            folder.close()
            raise
        return folder

    def _make(self) -> None:
        path = self.path
        if path.exists() and not path.is_dir():
            raise StateFolderError(
                f"{path}: a file, not a folder: --state keeps the world in a folder; to keep this saved "
                f"world, move it into one as world.json (mkdir DIR && mv {path} DIR/{WORLD})")
        if not path.exists():
            if not path.absolute().parent.is_dir():
                raise StateFolderError(f"{path}: its parent folder does not exist, so the state folder cannot be made")
            try:
                path.mkdir(mode=0o700)
            except OSError as exc:
                raise StateFolderError(f"{path}: cannot make the state folder: {exc.strerror or exc}") from None

    def _lock(self) -> None:
        lock = self.path / LOCK
        try:
            fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise StateFolderError(f"{lock}: cannot open: {exc.strerror or exc}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.read(fd, 32).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise StateFolderError(f"{self.path}: in use by another docrsim (process {holder}); "
                                   "one docrsim at a time keeps a state folder") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._lock_fd = fd

    def _survey_blobs(self) -> None:
        """Note which blob files exist."""
        root = self.path / BLOBS
        if not root.is_dir():
            return
        for algorithm in root.iterdir():
            if algorithm.is_dir():
                self._on_disk.update(f"{algorithm.name}:{file.name}" for file in algorithm.iterdir()
                                     if not file.name.startswith(_TEMPORARY))

    def _remove_temporaries(self) -> None:
        """The temporary files of writes a crash cut short (once the folder has loaded)."""
        leftovers = [*self.path.glob(f".{WORLD}.*.tmp"), *self.path.glob(f".{LOG}.*.tmp"),
                     *self.path.glob(f"{BLOBS}/*/{_TEMPORARY}*"), *self.path.glob(f"{BLOBS}/{UPLOADS}/*")]
        for file in leftovers:
            with contextlib.suppress(OSError):
                file.unlink()

    # -- loading --------------------------------------------------------------------------------
    def load(self, sim) -> bool:
        """Put the world saved here into ``sim``; False when the folder holds none yet."""
        world = self.path / WORLD
        if not world.exists():
            if self._read_log(None):
                raise StateFolderError(f"{self.path / LOG}: changes without the {WORLD} they follow")
            return False
        raw = self._read(world)
        document = statefile.parse(world, raw)
        try:
            check_shape(document)
        except StateError as exc:
            raise StateError(exc.problems, f"{world}: {exc.prefix}") from None
        records = self._read_log(hashlib.sha256(raw).hexdigest())
        where = f"{world}: " if not records else f"{world} with {self.path / LOG}: "
        try:
            replay = changelog.Replay(document)
            replay.apply({"plans": self._header_plans}, "line 1")
            for number, record in records:
                replay.apply(record, f"line {number}")
            document = replay.document()
        except Problem as exc:
            raise StateError([str(exc)], where) from None
        try:
            sim.import_state(document, blob_source=self._read_blob)
        except StateError as exc:
            raise StateError(exc.problems, f"{where}{exc.prefix}") from None
        # Anything but a log that follows this world.json and holds no record yet is folded into
        # a new world.json with a new log: replayed records, a torn tail, a missing or stale log.
        self._compact_at_start = bool(records) or bool(self.warnings) or not self._log_follows
        return True

    @staticmethod
    def _read(path: Path) -> bytes:
        try:
            return path.read_bytes()
        except OSError as exc:
            raise StateFolderError(f"{path}: cannot read: {exc.strerror or exc}") from None

    def _read_log(self, base: str | None) -> list[tuple[int, dict]]:
        """The log's records, numbered by line, if its header names the world.json whose
        SHA-256 is ``base`` (None: any)."""
        path = self.path / LOG
        self._log_follows = False
        if not path.exists():
            return []
        # A record is written with its newline in one write, so a write a crash cut short is
        # the last line, without its newline. A line that has its newline is whole as written:
        # if it does not check out, the file was damaged after, and the start stops.
        lines = self._read(path).split(b"\n")
        torn = lines.pop()
        decoded = []
        for number, line in enumerate(lines, 1):
            record = _decode(line)
            if record is None or (number == 1) != ("base" in record):
                raise StateFolderError(f"{path}: line {number} is damaged (its checksum or JSON is wrong, or it "
                                       "is not a header or record where it is); nothing was changed")
            decoded.append((number, record))
        if torn:
            self.warnings.append(f"{path}: dropped the last record, cut short by a crash while it was "
                                 f"written ({len(torn)} bytes); its response had not been sent")
        if not decoded:
            return []
        (_, header), records = decoded[0], decoded[1:]
        if base is not None and header.get("base") != base:
            self.warnings.append(f"{path}: it follows another {WORLD} than the one there, so its "
                                 f"{len(records)} records were not applied (a compaction that did not "
                                 "finish leaves this, its records already in world.json)")
            return []
        self._log_follows = True
        self._header_plans = header.get("plans", {})
        return records

    def _read_blob(self, digest: str, size: int) -> bytes:
        file = self._blob_path(digest)
        try:
            data = file.read_bytes()
        except FileNotFoundError:
            raise Problem(f"blob {digest}", f"{file}: missing") from None
        except OSError as exc:
            raise Problem(f"blob {digest}", f"{file}: cannot read: {exc.strerror or exc}") from None
        if len(data) != size:
            raise Problem(f"blob {digest}", f"{file}: {len(data)} bytes long, not {size}")
        try:
            digests.verify(data, digest)
        except Invalid:
            raise Problem(f"blob {digest}", f"{file}: its bytes are not those of {digest}") from None
        return data

    def _blob_path(self, digest: str) -> Path:
        algorithm, _, hexdigest = digest.partition(":")
        return self.path / BLOBS / algorithm / hexdigest

    # -- keeping the world ----------------------------------------------------------------------
    def start(self, sim) -> None:
        """Keep ``sim``'s world here from now on (after load(), or with the world it starts with)."""
        self.sim = sim
        self._remove_temporaries()
        if self._compact_at_start:
            self.compact()
            return
        try:
            self._open_log()
        except OSError as exc:
            raise StateFolderError(f"{self.path / LOG}: cannot open: {exc.strerror or exc}") from None
        # Nothing is exported here: what the clock settles from now on is reported and saved
        # with the first save, which also writes the frame (it has none to compare with).
        self._attach(None)

    def save(self) -> None:
        """Append what changed since the last save; StateFolderError if it cannot be written
        (the changes are then kept, to be written with the next save)."""
        sim = self.sim
        with sim.lock:
            if self._closed:  # a request that outlived the stop: the world is compacted already
                return
            if self._replaced() or len(self.changes) > PENDING_LIMIT or self._log_size > LOG_LIMIT:
                self.compact()
                return
            frame = snapshot.export_frame(sim)  # settles the clock first: changes it makes are taken too
            plans = self._name_plans(frame, forget_others=True)
            key = self._key(frame)
            changes = self.changes.take()
            if not changes and key == self._frame_key:
                self._drop_unused_uploads()
                return
            try:
                record = {"changes": [changelog.encode(change) for change in changes]}
                if key != self._frame_key:
                    record["frame"] = frame
                    new = {token: plan for token, plan in plans.items() if token not in self._plans_written}
                    if new:
                        record["plans"] = new
                self._write_blob_files(changes)
                self._append(_encode(record))
                self._plans_written.update(record.get("plans", ()))
            except BaseException as exc:
                self.changes.give_back(changes)
                if not isinstance(exc, OSError):
                    raise
                raise StateFolderError(f"{self.path / LOG}: cannot save the change: {exc.strerror or exc}; "
                                       "it is kept in memory and saved with the next one") from None
            self._frame_key = key
            self._drop_unused_uploads()

    def compact(self) -> None:
        """Write the whole world to world.json and start a new log."""
        sim = self.sim
        with sim.lock:
            # One export (one settling of the clock) for world.json and the new log's frame alike.
            document = snapshot.export_state(sim, blob_bytes=False, shared_plans=True)
            held = set()
            try:
                for registry in sim.account.registries.values():
                    blobs = registry.content.blobs
                    held.update(blobs.digests())
                    for digest in blobs.digests():
                        if digest not in self._on_disk and not blobs.is_synthetic(digest):
                            self._write_blob(digest, blobs.data(digest))
                self._sync_blob_files()  # world.json is synced: the files it needs must be there first
                text = (json.dumps(document, indent=1) + "\n").encode()
                # The frame the new log starts from (its plans named in the header), taken from
                # the document once it is written out: naming them changes the document.
                frame = changelog.frame_of(document)
                self._plan_tokens.clear()
                plans = self._name_plans(frame)
                header = {"base": hashlib.sha256(text).hexdigest(), **({"plans": plans} if plans else {})}
                write_atomically(self.path / WORLD, text, 0o600)
                write_atomically(self.path / LOG, _encode(header), 0o600)
                self._open_log()
            except OSError as exc:
                # Whatever stage it reached, the log on disk may no longer follow world.json:
                # the next save compacts again rather than append to it.
                self._account = None
                raise StateFolderError(f"{self.path}: cannot write the world: {exc.strerror or exc}") from None
            for digest in self._on_disk - held:
                with contextlib.suppress(OSError):
                    self._blob_path(digest).unlink()
                self._on_disk.discard(digest)
            self.spool.drop(lambda digest: True)  # every blob that has bytes has its file now
            self._attach(frame, plans_written=set(plans))

    def close(self) -> None:
        """Stop keeping the world here (call compact() first to fold the log into world.json)."""
        lock = self.sim.lock if self.sim is not None else contextlib.nullcontext()
        with lock:
            self._closed = True
            if self.sim is not None and self.sim.uploads.spool is self.spool:
                self.sim.uploads.spool = None  # uploads from now on are the system's temporary files
        for name in ("_log_fd", "_lock_fd"):
            fd = getattr(self, name)
            if fd is not None:
                os.close(fd)
                setattr(self, name, None)

    # -- the parts ------------------------------------------------------------------------------
    def _name_plans(self, frame: dict, *, forget_others: bool = False) -> dict[str, dict]:
        """Put a token in place of each GC deletion plan of ``frame`` (the same plan, the same
        token, until the next compaction); the plans by token. ``forget_others``: plans no
        longer in the frame (their runs have ended) are no longer held."""
        named, seen = {}, {}
        for place, key in changelog.plan_places(frame):
            plan = place[key]
            known = self._plan_tokens.get(id(plan))
            if known is None or known[0] is not plan:
                self._plans_named += 1
                # The process in the token too: a log a restart goes on with may name plans already.
                known = self._plan_tokens[id(plan)] = (plan, f"plan-{os.getpid()}-{self._plans_named}")
            named[known[1]] = plan
            seen[id(plan)] = known
            place[key] = {changelog.PLAN_TOKEN: known[1]}
        if forget_others:
            self._plan_tokens = seen
        return named

    def _drop_unused_uploads(self) -> None:
        """Uploads' files no blob needs: its file is written already, or it was never stored
        (a push refused after its bytes were checked, as during a garbage collection)."""
        registries = self.sim.account.registries.values()
        self.spool.drop(lambda digest: digest in self._on_disk
                        or not any(digest in r.content.blobs for r in registries))

    def _attach(self, frame: dict | None, plans_written: set[str] = frozenset()) -> None:
        """Have the world's content report its changes here; what it reported so far is saved,
        as is ``frame`` (its plans named, those of ``plans_written`` in the log already; None:
        no frame saved yet, so the next save writes one)."""
        sim = self.sim
        sim.account.changes = self.changes
        sim.uploads.spool = self.spool
        for name, registry in sim.account.registries.items():
            registry.content.record_changes(self.changes.feed(name))
        self.changes.take()
        self._account = sim.account
        self._plans_written = set(plans_written)
        self._frame_key = None if frame is None else self._key(frame)

    def _replaced(self) -> bool:
        """Whether content changed without reporting it: a new world, or a registry put in whole."""
        account = self.sim.account
        return account is not self._account or any(not r.content.recording for r in account.registries.values())

    def _key(self, frame: dict) -> str:
        """What tells one frame from another; the system clock's reading does not count, as
        only a manual clock is put back where it was."""
        if frame["clock"]["kind"] == "system":
            frame = {**frame, "clock": {"kind": "system"}}
        return json.dumps(frame, separators=(",", ":"))

    def _open_log(self) -> None:
        if self._log_fd is not None:
            os.close(self._log_fd)
            self._log_fd = None  # never a closed number another open may be given
        path = self.path / LOG
        self._log_fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        self._log_size = os.fstat(self._log_fd).st_size

    def _append(self, line: bytes) -> None:
        """One record at the end of the log; on failure the log is cut back to where it was,
        so no half record stays in front of the next."""
        fd = self._log_fd
        try:
            view = memoryview(line)
            while view:
                view = view[os.write(fd, view):]
            if self.fsync:
                os.fsync(fd)
        except OSError:
            try:
                os.ftruncate(fd, self._log_size)
            except OSError:
                self._account = None  # a half record may remain: the next save compacts instead
            raise
        self._log_size += len(line)

    def _write_blob_files(self, changes: list[tuple]) -> None:
        for change in changes:
            if change[1] == "blob" and change[4] is not None and change[2] not in self._on_disk:
                self._write_blob(change[2], change[4])
        if self.fsync:
            self._sync_blob_files()

    def _sync_blob_files(self) -> None:
        """Put the blob files written since the last sync, and their folders, on the disk."""
        folders = {self.path, self.path / BLOBS}
        for file in self._unsynced:
            with contextlib.suppress(FileNotFoundError):
                fd = os.open(file, os.O_RDONLY)
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)
            folders.add(file.parent)
        for folder in folders:
            sync_directory(folder)
        self._unsynced.clear()

    def _write_blob(self, digest: str, data: bytes) -> None:
        """A blob's file, written once: to a temporary name, then renamed into place; or the
        file its upload streamed into, renamed into place."""
        final = self._blob_path(digest)
        final.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        uploaded = self.spool.claim(digest)
        if uploaded is not None:
            os.replace(uploaded, final)
            self._on_disk.add(digest)
            self._unsynced.add(final)
            return
        temporary = final.with_name(_TEMPORARY + final.name)
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
        finally:
            os.close(fd)
        os.replace(temporary, final)
        self._on_disk.add(digest)
        self._unsynced.add(final)


class _UploadSpool:
    """Files in the folder for upload sessions to stream into (docrsim.core.uploads): once a
    session is over, a file whose bytes were verified is kept under their digest until the
    blob's file is written, which is then a rename instead of a second write of the bytes."""

    def __init__(self, folder: Path):
        self.folder = folder
        self._lock = threading.Lock()
        self._verified: dict[str, str] = {}  # digest -> path of a closed session's file

    def new_file(self):
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        return tempfile.NamedTemporaryFile(dir=self.folder, prefix=_TEMPORARY, delete=False)

    def done(self, file, digest: str | None, size: int) -> None:
        with self._lock:
            # Kept only when the file holds exactly the bytes that were checked.
            if digest is not None and digest not in self._verified and _size_of(file.name) == size:
                self._verified[digest] = file.name
                return
        with contextlib.suppress(OSError):
            os.unlink(file.name)

    def claim(self, digest: str) -> str | None:
        with self._lock:
            return self._verified.pop(digest, None)

    def drop(self, unneeded) -> None:
        """Delete the kept files of the digests ``unneeded(digest)`` says."""
        with self._lock:
            dropped = [self._verified.pop(d) for d in [d for d in self._verified if unneeded(d)]]
        for path in dropped:
            with contextlib.suppress(OSError):
                os.unlink(path)


def _size_of(path: str) -> int | None:
    try:
        return os.path.getsize(path)
    except OSError:
        return None


def _encode(record: dict) -> bytes:
    text = json.dumps(record, separators=(",", ":")).encode()
    return b"%08x %s\n" % (zlib.crc32(text), text)


def _decode(line: bytes) -> dict | None:
    """A log line's record, or None when it is damaged."""
    if len(line) < 10 or line[8:9] != b" ":
        return None
    text = line[9:]
    try:
        if int(line[:8], 16) != zlib.crc32(text):
            return None
        record = json.loads(text)
    except ValueError:
        return None
    return record if isinstance(record, dict) else None
