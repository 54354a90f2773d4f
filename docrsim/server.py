"""Serve the API host and the registry host on two ports of one process, as DOCR does.

Two WSGI servers can carry them: werkzeug's threaded server (a thread per connection; the
default) and waitress (one I/O loop and a pool of worker threads; ``pip install waitress``).
"""

from __future__ import annotations

import socket
import threading

from werkzeug.serving import WSGIRequestHandler, make_server

from docrsim.core.state import Simulation
from docrsim.http.api_app import create_api_app
from docrsim.http.endpoints import Endpoints
from docrsim.http.registry import create_registry_app


class _QuietHandler(WSGIRequestHandler):
    """werkzeug's own lines stay out of the user's logs: none per request (``--verbose`` writes
    docrsim's, http/requestlog.py), and none for the TLS handshakes that clients such as skopeo
    try before falling back to plain HTTP."""

    def log(self, type, message, *args):
        pass


SERVERS = ("werkzeug", "waitress")
DEFAULT_SERVER = "werkzeug"
# waitress hands each request to one of a fixed pool of threads; a request a test deliberately
# slows down (a fault's delay) holds one, so the pool is generous.
WAITRESS_THREADS = 32


def _bind(host: str, port: int) -> socket.socket:
    """A listening socket bound here, so a busy port raises OSError (werkzeug's own binding
    prints and exits the process instead)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    return socket.create_server((host, port), family=family)


class _Werkzeug:
    """werkzeug's threaded WSGI server: a thread per connection."""

    def __init__(self, host: str, port: int, app):
        sock = _bind(host, port)
        try:
            self._server = make_server(host, sock.getsockname()[1], app, threaded=True,
                                       request_handler=_QuietHandler,
                                       fd=sock.fileno())
        finally:
            sock.close()  # the server holds its own duplicate of the descriptor
        self.port = self._server.socket.getsockname()[1]

    def serve(self) -> None:
        # A short poll keeps stop() quick: shutdown waits for the loop's next poll.
        self._server.serve_forever(poll_interval=0.05)

    def stop(self) -> None:
        self._server.shutdown()
        self.close()

    def close(self) -> None:
        """Release the socket of a server that never served."""
        self._server.server_close()


class _Waitress:
    """waitress: one I/O loop buffering requests and responses, a pool of worker threads."""

    def __init__(self, host: str, port: int, app):
        from waitress.server import create_server

        sock = _bind(host, port)
        self.port = sock.getsockname()[1]
        self._server = create_server(app, map={}, sockets=[sock], threads=WAITRESS_THREADS, ident="docrsim")
        self._done = threading.Event()

    def serve(self) -> None:
        try:
            self._server.run()
        finally:
            self._done.set()

    def stop(self) -> None:
        from waitress import wasyncore

        self._server.task_dispatcher.shutdown(cancel_pending=True, timeout=1)
        # Closed from inside the loop (a thunk its trigger runs): the emptied map ends run().
        self._server.trigger.pull_trigger(lambda: wasyncore.close_all(self._server._map))
        self._done.wait(timeout=5)

    def close(self) -> None:
        """Release the socket of a server that never served."""
        from waitress import wasyncore

        self._server.task_dispatcher.shutdown(cancel_pending=True, timeout=1)
        wasyncore.close_all(self._server._map)


_BACKENDS = {"werkzeug": _Werkzeug, "waitress": _Waitress}


class Server:
    """Both listeners, each served by its own thread; ``port=0`` picks a free port."""

    def __init__(self, sim: Simulation, *, host="127.0.0.1", api_port=8080, registry_port=5000,
                 baseline=(), tokens=None, request_log=None, server=DEFAULT_SERVER):
        if server not in _BACKENDS:
            raise ValueError(f"unknown WSGI server {server!r}: choose one of {', '.join(SERVERS)}")
        self.sim = sim
        self.server = server
        self.endpoints = Endpoints()
        backend = _BACKENDS[server]
        self.api_app = create_api_app(sim, endpoints=self.endpoints, baseline=baseline, tokens=tokens)
        self.registry_app = create_registry_app(sim, endpoints=self.endpoints)
        for app in (self.api_app, self.registry_app):  # a RequestLog (http/requestlog.py), or None
            app.config["DOCRSIM_REQUEST_LOG"] = request_log
        self._api = backend(host, api_port, self.api_app)
        try:
            self._registry = backend(host, registry_port, self.registry_app)
        except BaseException:
            self._api.close()
            raise
        url_host = f"[{host}]" if ":" in host else host
        self.endpoints.api_url = f"http://{url_host}:{self._api.port}"
        self.endpoints.registry_url = f"http://{url_host}:{self._registry.port}"
        self._threads: list[threading.Thread] = []

    @property
    def api_url(self) -> str:
        return self.endpoints.api_url

    @property
    def registry_url(self) -> str:
        return self.endpoints.registry_url

    def start(self) -> "Server":
        for name, srv in (("docrsim-api", self._api), ("docrsim-registry", self._registry)):
            thread = threading.Thread(target=srv.serve, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        if not self._threads:  # never started: nothing serves, so nothing would answer a shutdown
            for srv in (self._api, self._registry):
                srv.close()
            return
        for srv in (self._api, self._registry):
            srv.stop()
        for thread in self._threads:
            thread.join(timeout=5)
        self._threads.clear()

    def __enter__(self) -> "Server":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
