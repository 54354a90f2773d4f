"""Files docrsim writes whole: replaced atomically, so a crash leaves the old file or the new."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


def data_directory() -> Path:
    """docrsim's per-user data folder: ``$XDG_DATA_HOME/docrsim``, else ``~/.local/share/docrsim``."""
    data = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(data) / "docrsim"


def write_atomically(path: str | os.PathLike, data: bytes, mode: int = 0o600) -> None:
    """Replace ``path`` with ``data``: a temporary file beside it (``mode`` from its creation,
    never briefly wider), synced, renamed over it, and the rename synced too. Raises OSError."""
    path = Path(path)
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    sync_directory(path.parent)


def sync_directory(directory: Path) -> None:
    """Make the rename itself durable (POSIX); where directories cannot be opened, skip it."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
