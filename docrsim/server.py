"""Serve the API host and the registry host on two ports of one process, as DOCR does."""

from __future__ import annotations

import socket
import threading

from werkzeug.serving import WSGIRequestHandler, make_server

from docrsim.core.state import Simulation
from docrsim.http.api_app import create_api_app
from docrsim.http.endpoints import Endpoints
from docrsim.http.registry import create_registry_app


class _QuietHandler(WSGIRequestHandler):
    """A test double should not flood its user's logs: no line per request, and none for the
    TLS handshakes that clients such as skopeo try before falling back to plain HTTP."""

    def log(self, type, message, *args):
        pass


def _serve(host: str, port: int, app, handler):
    """A threaded WSGI server on a socket bound here, so a busy port raises OSError
    (werkzeug's own binding prints and exits the process instead)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.create_server((host, port), family=family)
    try:
        return make_server(host, sock.getsockname()[1], app, threaded=True, request_handler=handler,
                           fd=sock.fileno())
    finally:
        sock.close()  # the server holds its own duplicate of the descriptor


class Server:
    """Both listeners, each served by its own thread; ``port=0`` picks a free port."""

    def __init__(self, sim: Simulation, *, host="127.0.0.1", api_port=8080, registry_port=5000,
                 baseline=(), tokens=None, verbose=False):
        self.sim = sim
        self.endpoints = Endpoints()
        handler = WSGIRequestHandler if verbose else _QuietHandler
        self.api_app = create_api_app(sim, endpoints=self.endpoints, baseline=baseline, tokens=tokens)
        self.registry_app = create_registry_app(sim, endpoints=self.endpoints)
        self._api = _serve(host, api_port, self.api_app, handler)
        try:
            self._registry = _serve(host, registry_port, self.registry_app, handler)
        except BaseException:
            self._api.server_close()
            raise
        url_host = f"[{host}]" if ":" in host else host
        self.endpoints.api_url = f"http://{url_host}:{self._api.socket.getsockname()[1]}"
        self.endpoints.registry_url = f"http://{url_host}:{self._registry.socket.getsockname()[1]}"
        self._threads: list[threading.Thread] = []

    @property
    def api_url(self) -> str:
        return self.endpoints.api_url

    @property
    def registry_url(self) -> str:
        return self.endpoints.registry_url

    def start(self) -> "Server":
        for name, srv in (("docrsim-api", self._api), ("docrsim-registry", self._registry)):
            # A short poll keeps stop() quick: shutdown waits for the loop's next poll.
            thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        for srv in (self._api, self._registry):
            srv.shutdown()
            srv.server_close()
        for thread in self._threads:
            thread.join(timeout=5)
        self._threads.clear()

    def __enter__(self) -> "Server":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
