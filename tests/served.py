"""``docrsim serve`` as a subprocess on free ports, its output read line by line on a thread."""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCRSIM = [sys.executable, "-m", "docrsim"]
ENV = {**os.environ, "PYTHONUNBUFFERED": "1"}
WAIT = 30  # seconds any one wait may take


class ServedProcess:
    def __init__(self, *args):
        self.proc = subprocess.Popen([*DOCRSIM, "serve", "--api-port", "0", "--registry-port", "0", *args],
                                     cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)
        self.lines: queue.Queue = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self):
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def _next_line(self, deadline: float) -> str | None:
        """The next line of output, or None once docrsim has exited."""
        try:
            line = self.lines.get(timeout=max(deadline - time.monotonic(), 0.01))
        except queue.Empty:
            raise AssertionError(f"docrsim said nothing more within {WAIT}s; saw {self.seen}") from None
        if line is not None:
            self.seen.append(line)
        return line

    def wait_ready(self) -> dict[str, str]:
        """The two hosts' URLs (and the proxy's URL and the CA's path, when printed), keyed by
        the labels docrsim prints, once it says it is ready."""
        deadline = time.monotonic() + WAIT
        while (line := self._next_line(deadline)) is not None:
            if line.startswith("docrsim ready"):
                urls = {}
                for seen in self.seen:
                    label, _, value = seen.partition(":")
                    if label in ("API host", "registry host", "proxy", "CA"):
                        urls[label] = value.strip().split(" (", 1)[0]
                return urls
        raise AssertionError(f"docrsim exited early: {self.seen} {self.proc.stderr.read()}")

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=WAIT)
        for stream in (self.proc.stdout, self.proc.stderr):
            stream.close()
