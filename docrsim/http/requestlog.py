"""The request log of ``docrsim serve --verbose``: a line per request both hosts answer, in
docrsim's own terms (the simulated time, the host, the operation id) rather than a WSGI
server's.

The journal entry of a request (``observe.install``) is what a line says, with the real time
the request took. ``text`` lines read::

    2026-01-01T00:00:00.000000Z api      DELETE /v2/registries/acme/repositories/web/tags/v1 registries_delete_repositoryTag 204 1.4ms

(a ``?query`` follows the path, ``-`` stands for no operation id, a fault that acted ends the
line as ``fault=fault-1``); ``json`` lines are the journal's entry objects with
``duration_ms``. Colour marks the status only when the log goes to a terminal.
"""

from __future__ import annotations

import json
import sys
import threading

from docrsim.core.clock import format_exact_instant
from docrsim.core.journal import Entry

FORMATS = ("text", "json")
_COLOURS = {2: "\033[32m", 3: "\033[36m", 4: "\033[33m", 5: "\033[31m"}  # green, cyan, yellow, red
_RESET = "\033[0m"


class RequestLog:
    def __init__(self, stream=None, fmt: str = "text"):
        if fmt not in FORMATS:
            raise ValueError(f"unknown log format {fmt!r}: choose one of {', '.join(FORMATS)}")
        self.stream = stream or sys.stderr
        self.fmt = fmt
        isatty = getattr(self.stream, "isatty", None)
        self.colour = fmt == "text" and bool(isatty and isatty())
        self._lock = threading.Lock()  # both hosts' threads write: whole lines, never interleaved

    def write(self, entry: Entry, seconds: float) -> None:
        line = self.json_line(entry, seconds) if self.fmt == "json" else self.text_line(entry, seconds)
        with self._lock:
            self.stream.write(line + "\n")
            self.stream.flush()

    def text_line(self, entry: Entry, seconds: float) -> str:
        target = _printable(entry.path + (f"?{entry.query}" if entry.query else ""))
        status = str(entry.status)
        if self.colour:
            status = f"{_COLOURS.get(entry.status // 100, '')}{status}{_RESET}"
        parts = [format_exact_instant(entry.at), f"{entry.host:<8}", f"{entry.method:<6}", target,
                 entry.operation_id or "-", status, f"{seconds * 1000:.1f}ms"]
        if entry.fault:
            parts.append(f"fault={entry.fault['id']}")
        return " ".join(parts)

    @staticmethod
    def json_line(entry: Entry, seconds: float) -> str:
        from docrsim.http.observe import entry_body

        return json.dumps({**entry_body(entry), "duration_ms": round(seconds * 1000, 3)}, separators=(",", ":"))


def _printable(text: str) -> str:
    """A path as received may hold control characters (an escape sequence would reach the
    user's terminal): they are written as \\xNN."""
    return text if text.isprintable() else "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in text)
