"""Serve the API host and the registry host on two ports of one process, as DOCR does.

Two WSGI servers can carry them: docrsim's threaded server (a thread per connection, HTTP/1.1
connections kept alive, TLS beside plain HTTP: ``docrsim.network.keepalive``; the default) and
waitress (one I/O loop and a pool of worker threads; ``pip install waitress``).
"""

from __future__ import annotations

import socket
import ssl
import threading

from docrsim.core.state import Simulation
from docrsim.http.api_app import create_api_app
from docrsim.http.endpoints import Endpoints
from docrsim.http.registry import create_registry_app
from docrsim.network import NetworkSetupError


SERVERS = ("threaded", "waitress")
DEFAULT_SERVER = "threaded"
# waitress hands each request to one of a fixed pool of threads; a request a test deliberately
# slows down (a fault's delay) holds one, so the pool is generous.
WAITRESS_THREADS = 32


def _bind(host: str, port: int) -> socket.socket:
    """A listening socket bound here, so a busy port raises OSError."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    return socket.create_server((host, port), family=family)


class _Threaded:
    """docrsim's threaded server: a thread per connection, kept alive between requests."""

    def __init__(self, host: str, port: int, app):
        from docrsim.network.keepalive import KeepAliveServer

        self._server = KeepAliveServer(_bind(host, port), app)
        self.port = self._server.server_port

    def use_tls(self, context: ssl.SSLContext) -> None:
        """Speak TLS too, from the next connection on."""
        self._server.tls_context = context

    def adopt(self, connection: socket.socket) -> None:
        """Serve a connection accepted elsewhere (the proxy's tunnel) as one accepted here."""
        self._server.process_request(connection, connection.getpeername())

    def serve(self) -> None:
        # A short poll keeps stop() quick: shutdown waits for the loop's next poll.
        self._server.serve_forever(poll_interval=0.05)

    def stop(self) -> None:
        self._server.shutdown()
        self._server.close_connections()
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

    def use_tls(self, context: ssl.SSLContext) -> None:
        raise TlsUnsupported("TLS needs the threaded server: waitress serves plain HTTP only (use --server threaded)")

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


def _save_after_each_request(api_app, registry_app, folder) -> None:
    from docrsim.http import saving
    from docrsim.http.errors import do_error_response
    from docrsim.http.registry.errors import OciError, render

    saving.install(api_app, folder, lambda message: do_error_response(500, "server_error", message))
    saving.install(registry_app, folder, lambda message: render(OciError("UNKNOWN", message, status=500)))


class TlsUnsupported(NetworkSetupError):
    """The chosen WSGI server cannot speak TLS."""


_BACKENDS = {"threaded": _Threaded, "waitress": _Waitress}


class Server:
    """Both listeners, each served by its own thread; ``port=0`` picks a free port.

    ``state_folder`` (a StateFolder, started) has every request's changes saved there before
    its response leaves. ``tls=True`` makes both hosts speak TLS beside plain HTTP, with a certificate from the CA
    kept in ``ca_dir`` (``docrsim.network.authority``), and their URLs https; ``proxy_port``
    (0 for a free port) also starts the forward proxy for DOCR's production host names, which
    needs TLS and so turns it on. Both can also be turned on later, while serving; the URLs
    then keep the scheme they had."""

    def __init__(self, sim: Simulation, *, host="127.0.0.1", api_port=8080, registry_port=5000,
                 baseline=(), tokens=None, request_log=None, server=DEFAULT_SERVER,
                 tls=False, ca_dir=None, proxy_port: int | None = None, state_folder=None):
        if server not in _BACKENDS:
            raise ValueError(f"unknown WSGI server {server!r}: choose one of {', '.join(SERVERS)}")
        self.sim = sim
        self.server = server
        self.host = host
        self.endpoints = Endpoints(host=f"[{host}]" if ":" in host else host)
        backend = _BACKENDS[server]
        self.api_app = create_api_app(sim, endpoints=self.endpoints, baseline=baseline, tokens=tokens)
        self.registry_app = create_registry_app(sim, endpoints=self.endpoints)
        for app in (self.api_app, self.registry_app):  # a RequestLog (http/requestlog.py), or None
            app.config["DOCRSIM_REQUEST_LOG"] = request_log
        if state_folder is not None:  # a docrsim.core.persistence.folder.StateFolder
            _save_after_each_request(self.api_app, self.registry_app, state_folder)
        self._api = backend(host, api_port, self.api_app)
        try:
            self._registry = backend(host, registry_port, self.registry_app)
        except BaseException:
            self._api.close()
            raise
        self.endpoints.api_port = self._api.port
        self.endpoints.registry_port = self._registry.port
        self._threads: list[threading.Thread] = []
        self.authority = None
        self.proxy = None
        try:
            if tls or proxy_port is not None:
                self.enable_tls(ca_dir)
                self.endpoints.scheme = "https"
            if proxy_port is not None:
                self.start_proxy(proxy_port)
        except BaseException:
            self._close_listeners()
            raise

    @property
    def api_url(self) -> str:
        return self.endpoints.api_url

    @property
    def registry_url(self) -> str:
        return self.endpoints.registry_url

    @property
    def proxy_url(self) -> str | None:
        return self.endpoints.proxy_url

    # -- production addresses -------------------------------------------------------------------
    def enable_tls(self, ca_dir=None):
        """Both hosts speak TLS too (plain HTTP keeps working on the same ports); returns the
        CA. Raises TlsUnsupported on waitress, AuthorityError for an unusable CA folder."""
        if self.authority is not None:
            return self.authority
        from docrsim.network.authority import CertificateAuthority

        authority = CertificateAuthority.load_or_create(ca_dir)
        context = authority.server_context()
        for listener in (self._api, self._registry):
            listener.use_tls(context)
        self.authority = authority
        self.endpoints.ca_certificate = str(authority.certificate_path)
        self.endpoints.ca_bundle = str(authority.bundle_path)
        self.endpoints.tls = True
        return authority

    def start_proxy(self, port: int = 0, ca_dir=None) -> str:
        """Start the forward proxy (turning TLS on first); returns its URL."""
        if self.proxy is not None:
            return self.proxy.url
        from docrsim.network.production import API_HOST, REGISTRY_HOST
        from docrsim.network.proxy import ForwardProxy

        self.enable_tls(ca_dir)
        # The hosts are reached where they listen; a wildcard address through loopback.
        target = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1", "localhost": "127.0.0.1"}.get(
            self.host, self.host)
        self.proxy = ForwardProxy(self.host, port, {API_HOST: (target, self._api.port),
                                                    REGISTRY_HOST: (target, self._registry.port)},
                                  adopt={API_HOST: self._api.adopt, REGISTRY_HOST: self._registry.adopt})
        self.endpoints.proxy_port = self.proxy.port
        if self._threads:
            self.proxy.start()
        return self.proxy.url

    # -- lifecycle ------------------------------------------------------------------------------
    def start(self) -> "Server":
        for name, srv in (("docrsim-api", self._api), ("docrsim-registry", self._registry)):
            thread = threading.Thread(target=srv.serve, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)
        if self.proxy is not None:
            self.proxy.start()
        return self

    def stop(self) -> None:
        if self.proxy is not None:
            self.proxy.stop()
        if not self._threads:  # never started: nothing serves, so nothing would answer a shutdown
            for srv in (self._api, self._registry):
                srv.close()
            return
        for srv in (self._api, self._registry):
            srv.stop()
        for thread in self._threads:
            thread.join(timeout=5)
        self._threads.clear()

    def _close_listeners(self) -> None:
        if self.proxy is not None:
            self.proxy.stop()
        for srv in (self._api, self._registry):
            srv.close()

    def __enter__(self) -> "Server":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
