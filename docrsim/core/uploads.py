"""Blob upload sessions: bytes stream to a temporary file and are hashed as they arrive.

Streaming needs no lock; only the final commit into the store does. The file keeps memory
flat however large the blob, so a blob is held in memory once: when it enters the store.

Where the files are is the ``spool``'s to say, when there is one: a state folder gives a file
of its own, and takes it back once the session is over, so that a blob's bytes that must go to
disk anyway are written there once, while they stream in (docrsim.core.persistence.folder).
"""

from __future__ import annotations

import hashlib
import tempfile
import threading
from dataclasses import dataclass, field
from datetime import datetime

from docrsim.core import digests
from docrsim.core.errors import DomainError, NotFound

CHUNK = 1024 * 1024


class UploadUnknown(NotFound):
    pass


class RangeMismatch(DomainError):
    """A chunk that does not start where the upload ends."""

    def __init__(self, message: str, size: int):
        super().__init__(message)
        self.size = size


@dataclass(eq=False)
class UploadSession:
    uuid: str
    registry: str
    repository: str
    started_at: datetime
    size: int = 0
    # new_file() -> an open binary file; done(file, digest or None, size) once the session is over
    spool: object = None
    _sha256: "hashlib._Hash" = field(default_factory=hashlib.sha256)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _verified: str | None = None  # the digest content() found the bytes to have

    def __post_init__(self):
        self._file = self.spool.new_file() if self.spool is not None else tempfile.TemporaryFile()

    def append(self, stream, start: int | None = None, length: int | None = None) -> int:
        """Write ``stream`` at the end of the upload; ``start`` (from Content-Range) must be
        where the upload currently ends. Returns the new size."""
        with self._lock:
            if self._verified is not None or self._file.closed:
                # Its bytes are checked and on their way into the store: nothing may be added.
                raise UploadUnknown(f"upload {self.uuid} is complete")
            if start is not None and start != self.size:
                raise RangeMismatch(f"chunk starts at {start}, but the upload holds {self.size} bytes", self.size)
            remaining = length
            while remaining is None or remaining > 0:
                chunk = stream.read(CHUNK if remaining is None else min(CHUNK, remaining))
                if not chunk:
                    break
                self._file.write(chunk)
                self._sha256.update(chunk)
                self.size += len(chunk)
                if remaining is not None:
                    remaining -= len(chunk)
            return self.size

    def content(self, declared: str) -> bytes:
        """The uploaded bytes, if they hash to ``declared``; DigestMismatch otherwise."""
        algorithm, _ = digests.parse(declared)
        with self._lock:
            if algorithm == "sha256":
                actual = "sha256:" + self._sha256.hexdigest()
            else:
                hasher = digests.hasher(algorithm)
                self._file.seek(0)
                for chunk in iter(lambda: self._file.read(CHUNK), b""):
                    hasher.update(chunk)
                actual = f"{algorithm}:{hasher.hexdigest()}"
            if actual != declared:
                raise digests.DigestMismatch(f"uploaded content hashes to {actual}, not the declared {declared}")
            self._verified = declared
            self._file.seek(0)
            return self._file.read()

    def close(self) -> None:
        with self._lock:
            if self._file.closed:
                return
            self._file.close()
            if self.spool is not None:
                self.spool.done(self._file, self._verified, self.size)


class Uploads:
    def __init__(self):
        self._sessions: dict[str, UploadSession] = {}
        self._lock = threading.Lock()
        self.spool = None  # where sessions from now on keep their bytes (see the module's docstring)

    def start(self, uuid: str, registry: str, repository: str, now: datetime) -> UploadSession:
        session = UploadSession(uuid=uuid, registry=registry, repository=repository, started_at=now,
                                spool=self.spool)
        with self._lock:
            self._sessions[uuid] = session
        return session

    def unlisted(self, registry: str, repository: str, now: datetime) -> UploadSession:
        """A session for a monolithic upload (one request bringing all the bytes and their
        digest). No client can address it, so it has no id and is not listed: drawing an id
        before the bytes are checked would let a refused upload move the id stream."""
        return UploadSession(uuid="", registry=registry, repository=repository, started_at=now, spool=self.spool)

    def get(self, uuid: str, registry: str, repository: str) -> UploadSession:
        with self._lock:
            session = self._sessions.get(uuid)
        if session is None or (session.registry, session.repository) != (registry, repository):
            raise UploadUnknown(f"no upload {uuid} in {registry}/{repository}")
        return session

    def discard(self, uuid: str) -> None:
        with self._lock:
            session = self._sessions.pop(uuid, None)
        if session is not None:
            session.close()

    def clear(self) -> None:
        with self._lock:
            sessions, self._sessions = list(self._sessions.values()), {}
        for session in sessions:
            session.close()

    def __len__(self) -> int:
        return len(self._sessions)
