"""Serve the API host and the registry host on two ports of one process, as DOCR does."""

from __future__ import annotations

import threading

from werkzeug.serving import WSGIRequestHandler, make_server

from docrsim.core.state import Simulation
from docrsim.http.api_app import create_api_app
from docrsim.http.endpoints import Endpoints
from docrsim.http.registry_app import create_registry_app


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args, **kwargs):  # a test double should not flood its user's logs
        pass


class Server:
    """Both listeners, each served by its own thread; ``port=0`` picks a free port."""

    def __init__(self, sim: Simulation, *, host="127.0.0.1", api_port=8080, registry_port=5000,
                 baseline=(), verbose=False):
        self.sim = sim
        self.endpoints = Endpoints()
        handler = WSGIRequestHandler if verbose else _QuietHandler
        self.api_app = create_api_app(sim, endpoints=self.endpoints, baseline=baseline)
        self.registry_app = create_registry_app(sim, endpoints=self.endpoints)
        self._api = make_server(host, api_port, self.api_app, threaded=True, request_handler=handler)
        try:
            self._registry = make_server(host, registry_port, self.registry_app, threaded=True,
                                         request_handler=handler)
        except BaseException:
            self._api.server_close()
            raise
        url_host = f"[{host}]" if ":" in host else host
        self.endpoints.api_url = f"http://{url_host}:{self._api.server_port}"
        self.endpoints.registry_url = f"http://{url_host}:{self._registry.server_port}"
        self._threads: list[threading.Thread] = []

    @property
    def api_url(self) -> str:
        return self.endpoints.api_url

    @property
    def registry_url(self) -> str:
        return self.endpoints.registry_url

    def start(self) -> "Server":
        for name, srv in (("docrsim-api", self._api), ("docrsim-registry", self._registry)):
            thread = threading.Thread(target=srv.serve_forever, name=name, daemon=True)
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
