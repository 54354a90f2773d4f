"""A forward proxy for DOCR's production host names, and for nothing else.

Clients that honour ``HTTPS_PROXY`` send ``CONNECT api.digitalocean.com:443`` (or
``registry.digitalocean.com:443``) here; once it has answered 200, the proxy hands the
client's connection itself to the matching docrsim host (which serves it as if the client had
connected there), so TLS runs end to end between the client and that host, with a
certificate from docrsim's CA, and no byte is copied on the way. Where it cannot hand a
connection over (a host in another process, bytes already read past the request), it
connects to the host and relays bytes both ways instead. Plain absolute-form requests
(``GET http://api.digitalocean.com/...``) are passed to the same host, one per connection.

Every other destination is refused with 403 and a body naming it. The proxy never resolves a
name and never opens a connection to anything but the two hosts it was given, so a client
pointed at it cannot reach the network through it (moto's proxy passes such traffic through).
"""

from __future__ import annotations

import socket
import socketserver
import threading
import time
from collections.abc import Callable
from urllib.parse import urlsplit

from docrsim.network.production import HTTP_PORT, HTTPS_PORT, canonical

HEAD_LIMIT_BYTES = 64 * 1024
HEAD_TIMEOUT_SECONDS = 30
_BUFFER_BYTES = 256 * 1024
# Hop-by-hop headers meant for the proxy, not passed on; "Connection: close" goes instead, as
# the proxy carries one plain request per connection.
_HOP_HEADERS = {"connection", "keep-alive", "proxy-connection", "proxy-authorization", "te", "upgrade"}


class _Refusal(Exception):
    def __init__(self, status: int, reason: str, message: str):
        super().__init__(message)
        self.status, self.reason, self.message = status, reason, message


# Takes over a client's connection: the docrsim host serves it from then on, and closes it.
Adopt = Callable[[socket.socket], None]


class ForwardProxy:
    """Listens on ``host:port`` (0 picks a free port) and carries each name in ``routes``
    (production host name -> ``(address, port)`` of the docrsim host serving it); a name in
    ``adopt`` has its tunnels handed to that host's server instead of relayed."""

    def __init__(self, host: str, port: int, routes: dict[str, tuple[str, int]],
                 adopt: dict[str, Adopt] | None = None):
        self.routes = {canonical(name): target for name, target in routes.items()}
        self.adopt = {canonical(name): take for name, take in (adopt or {}).items()}
        self._server = _Server(host, port, self)
        self.port = self._server.server_address[1]
        self.host = host
        self._thread: threading.Thread | None = None
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def start(self) -> "ForwardProxy":
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="docrsim-proxy", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._server.server_close()
        with self._open_lock:
            open_now = list(self._open)
            self._open.clear()
        for sock in open_now:  # live tunnels: shut, which wakes the threads blocked reading them
            _shut(sock)
            _close(sock)

    def describe_routes(self) -> str:
        return " and ".join(f"{name}:{HTTPS_PORT}" for name in sorted(self.routes))

    # -- one client connection ------------------------------------------------------------------
    def _serve(self, client: socket.socket) -> None:
        self._track(client)
        try:
            head, early = _read_head(client)
            if head is None:
                return
            version = "HTTP/1.1"
            try:
                method, target, version, headers = _parse_head(head)
                if method == "CONNECT":
                    address, take = self._tunnel_route(target)
                    if take is not None and not early:
                        client.sendall(f"{version} 200 Connection established\r\n\r\n".encode())
                        self._hand_over(client, take)
                        return
                    upstream = _connect(address)
                    client.sendall(f"{version} 200 Connection established\r\n\r\n".encode())
                    if early:
                        upstream.sendall(early)
                else:
                    upstream, head = self._open_forward(method, target, version, headers)
                    upstream.sendall(head + early)
            except _Refusal as refusal:
                _answer(client, version, refusal)
                return
            self._track(upstream)
            try:
                client.settimeout(None)
                _relay(client, upstream)
            finally:
                self._untrack(upstream)
        except OSError:
            pass  # the client or the host went away: nothing to tell anyone
        except Exception:  # noqa: BLE001 - a request nobody foresaw is answered, never a traceback
            _answer(client, "HTTP/1.1", _Refusal(400, "Bad Request", "docrsim's proxy cannot read this request"))
        finally:
            if client in self._open:
                self._untrack(client)

    def _hand_over(self, client: socket.socket, take: Adopt) -> None:
        """The host serves the connection from now on (and closes it); if it cannot take it,
        the proxy still closes it."""
        client.settimeout(None)
        self._release(client)
        self._server.handed_over.add(client)
        try:
            take(client)
        except BaseException:
            self._server.handed_over.discard(client)
            _close(client)
            raise

    def _route(self, name: str, port: int, scheme_port: int, what: str) -> tuple[str, int]:
        target = self.routes.get(canonical(name)) if port == scheme_port else None
        if target is None:
            raise _Refusal(403, "Forbidden",
                           f"docrsim's proxy refuses {what}: it carries only {self.describe_routes()}, "
                           f"to this docrsim, and connects nowhere else")
        return target

    def _tunnel_route(self, target: str) -> tuple[tuple[str, int], Adopt | None]:
        """The host's address for a CONNECT (refused unless it names a carried host on port
        443), and the host's taker of connections when it has one."""
        name, port = _authority(target, default_port=None)
        return self._route(name, port, HTTPS_PORT, f"CONNECT to {target}"), self.adopt.get(canonical(name))

    def _open_forward(self, method: str, target: str, version: str, headers: list[tuple[str, str]]):
        if target.startswith("/") or "://" not in target:
            raise _Refusal(400, "Bad Request",
                           f"this is docrsim's forward proxy: it takes CONNECT {self.describe_routes().split(' and ')[0]} "
                           f"(set HTTPS_PROXY to it) or absolute URLs, not {method} {target}")
        try:
            url = urlsplit(target)
        except ValueError:
            raise _Refusal(400, "Bad Request", f"not a URL: {target[:200]!r}") from None
        if url.scheme.lower() != "http":
            raise _Refusal(400, "Bad Request", f"docrsim's proxy carries https through CONNECT, not {method} {target}")
        name, port = _authority(url.netloc, default_port=HTTP_PORT)
        address = self._route(name, port, HTTP_PORT, f"{method} {target}")
        path = url.path or "/"
        if url.query:
            path += "?" + url.query
        kept = [(k, v) for k, v in headers if k.lower() not in _HOP_HEADERS]
        if not any(k.lower() == "host" for k, _ in kept):
            kept.insert(0, ("Host", url.netloc))
        lines = [f"{method} {path} {version}", *(f"{k}: {v}" for k, v in kept), "Connection: close", "", ""]
        return _connect(address), "\r\n".join(lines).encode("latin-1")

    def _track(self, sock: socket.socket) -> None:
        with self._open_lock:
            self._open.add(sock)

    def _untrack(self, sock: socket.socket) -> None:
        self._release(sock)
        _close(sock)

    def _release(self, sock: socket.socket) -> None:
        """No longer the proxy's to close: gone, or handed to a host."""
        with self._open_lock:
            self._open.discard(sock)


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

    def __init__(self, host: str, port: int, proxy: ForwardProxy):
        self.address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        super().__init__((host, port), _Handler)  # binds here: a busy port raises OSError
        self.proxy = proxy
        self.handed_over: set[socket.socket] = set()

    def shutdown_request(self, request):
        # A connection handed to a host is the host's to close, not ours once the handler ends.
        if request in self.handed_over:
            self.handed_over.discard(request)
            return
        super().shutdown_request(request)


class _Handler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        self.server.proxy._serve(self.request)


def _read_head(client: socket.socket) -> tuple[bytes | None, bytes]:
    """The request head (up to the blank line) and whatever arrived after it, within one
    deadline for the whole head, however slowly it trickles in."""
    deadline = time.monotonic() + HEAD_TIMEOUT_SECONDS
    data = b""
    while b"\r\n\r\n" not in data and len(data) <= HEAD_LIMIT_BYTES:
        left = deadline - time.monotonic()
        if left <= 0:
            return None, b""
        client.settimeout(left)
        chunk = client.recv(8192)
        if not chunk:
            return None, b""
        data += chunk
    head, _, early = data.partition(b"\r\n\r\n")
    if len(head) > HEAD_LIMIT_BYTES:
        _answer(client, "HTTP/1.1", _Refusal(431, "Request Header Fields Too Large",
                                             f"the request head is longer than the {HEAD_LIMIT_BYTES} bytes "
                                             f"docrsim's proxy reads"))
        return None, b""
    return head, early


def _parse_head(head: bytes):
    lines = head.decode("latin-1").split("\r\n")
    if any("\n" in line or "\r" in line for line in lines):
        raise _Refusal(400, "Bad Request", "a bare CR or LF inside a request line or header")
    parts = lines[0].split(" ")
    if len(parts) != 3 or parts[2] not in ("HTTP/1.0", "HTTP/1.1"):
        raise _Refusal(400, "Bad Request", f"not an HTTP/1.x request line: {lines[0][:200]!r}")
    headers = []
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if not sep or not name.strip():
            raise _Refusal(400, "Bad Request", f"not a header line: {line[:200]!r}")
        headers.append((name.strip(), value.strip()))
    return parts[0], parts[1], parts[2], headers


def _authority(text: str, default_port: int | None) -> tuple[str, int]:
    """``host:port`` (``[v6]:port``) as a name and a port number."""
    host, sep, port = text.rpartition(":")
    if not sep or "]" in port:
        host, port = text, ""
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if not port:
        if default_port is None:
            raise _Refusal(400, "Bad Request", f"CONNECT needs host:port, not {text!r}")
        return host, default_port
    if not (port.isascii() and port.isdigit()):
        raise _Refusal(400, "Bad Request", f"not a port number in {text[:200]!r}")
    return host, int(port)


def _connect(address: tuple[str, int]) -> socket.socket:
    try:
        return socket.create_connection(address, timeout=HEAD_TIMEOUT_SECONDS)
    except OSError as exc:
        raise _Refusal(502, "Bad Gateway", f"docrsim's host at {address[0]}:{address[1]} does not answer: "
                                           f"{exc.strerror or exc}") from None


def _answer(client: socket.socket, version: str, refusal: _Refusal) -> None:
    body = (refusal.message + "\n").encode()
    head = (f"{version} {refusal.status} {refusal.reason}\r\nContent-Type: text/plain; charset=utf-8\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode()
    try:
        client.sendall(head + body)
    except OSError:
        pass


def _relay(client: socket.socket, upstream: socket.socket) -> None:
    """Bytes both ways, each direction on its own thread so neither waits on the other, until
    the host has finished: once it has closed, nothing the client still sends has anyone to
    read it, so the client's side is shut too."""
    upstream.settimeout(None)

    def back() -> None:
        _pump(upstream, client)
        try:
            client.shutdown(socket.SHUT_RD)  # wakes the other direction's recv
        except OSError:
            pass

    thread = threading.Thread(target=back, name="docrsim-proxy-relay", daemon=True)
    thread.start()
    _pump(client, upstream)
    thread.join()


def _pump(source: socket.socket, sink: socket.socket) -> None:
    buffer = bytearray(_BUFFER_BYTES)
    view = memoryview(buffer)
    try:
        while True:
            count = source.recv_into(buffer)
            if not count:
                break
            sink.sendall(view[:count])
    except OSError:
        pass
    try:
        sink.shutdown(socket.SHUT_WR)
    except OSError:
        pass


def _shut(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


def _close(sock: socket.socket) -> None:
    try:
        sock.close()
    except OSError:
        pass
