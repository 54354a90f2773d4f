"""A threaded WSGI server that keeps HTTP/1.1 connections open between requests.

Python's ``http.server`` reads the next request line wherever the previous request left the
stream, so a request body the application did not read (an error answered before the upload
was consumed) would be taken for the next request. That is why werkzeug's server closes every
connection. Here each request's body is read through a reader that knows where the body ends
(its Content-Length, or the last chunk of a chunked body); what the application left unread is
drained before the next request line, and a connection whose body is too large to drain is
closed instead. The connection stays open otherwise, as HTTP/1.1 clients expect, so a client
pays for one TCP (and TLS) handshake per connection rather than per request.

A thread serves each connection. With a TLS context, a connection whose first byte opens a TLS
handshake speaks TLS, others plain HTTP (``docrsim.network.tls``), on the thread's own time.
"""

from __future__ import annotations

import socket
import socketserver
import ssl
import sys
import threading
from http.server import BaseHTTPRequestHandler
from urllib.parse import unquote

# An unread body up to this size is read and dropped to keep the connection; past it, closing
# the connection is cheaper than receiving the rest.
DRAIN_LIMIT_BYTES = 4 * 1024 * 1024
# A kept-alive connection waits this long for its next request before the server closes it
# (clients keep idle connections for about as long: Go's default is 90 s).
IDLE_TIMEOUT_SECONDS = 120
# The environ key by which an application learns that the body iterable may yield any
# bytes-like buffer (a memoryview of stored bytes), sent as it is, not only bytes.
BUFFERS_ACCEPTED = "docrsim.buffers_accepted"
# Headers and a body up to this size leave in one send, so a small answer is one packet.
_COALESCE_BYTES = 64 * 1024


class BodyError(ValueError):
    """A chunked request body that does not follow the chunked encoding."""


class _LengthBody:
    """A request body of known length: reads stop at its end."""

    def __init__(self, stream, length: int):
        self._stream = stream
        self.remaining = length

    def _take(self, read, size) -> tuple[bytes, int]:
        """What ``read`` gives of ``size`` bytes (None or negative: all) left of the body, and
        how many were asked for."""
        wanted = self.remaining if size is None or size < 0 or size > self.remaining else size
        if wanted <= 0:
            return b"", 0
        data = read(wanted)
        self.remaining -= len(data)
        return data, wanted

    def read(self, size: int = -1) -> bytes:
        data, wanted = self._take(self._stream.read, size)
        if len(data) < wanted:
            self.remaining = 0
            raise ConnectionError("the client closed the connection inside the request body")
        return data

    def readline(self, size: int = -1) -> bytes:
        return self._take(self._stream.readline, size)[0]

    def __iter__(self):
        while line := self.readline():
            yield line

    def drain(self) -> bool:
        """Read what is left; False when too much is left to be worth it."""
        if self.remaining > DRAIN_LIMIT_BYTES:
            return False
        while self.remaining > 0:
            self.read(min(self.remaining, 65536))
        return True


class _ChunkedBody:
    """A chunked request body, decoded: reads end after the last chunk (and its trailers)."""

    def __init__(self, stream):
        self._stream = stream
        self._left = 0  # bytes left in the current chunk
        self.done = False

    def _next_chunk(self) -> None:
        if self._left == 0 and not self.done:
            line = self._stream.readline(1026)
            if not line.endswith(b"\n"):
                raise BodyError("a chunk size line that does not end")
            try:
                self._left = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise BodyError(f"a chunk size that is not hexadecimal: {line[:40]!r}") from None
            if self._left < 0:
                raise BodyError("a negative chunk size")
            if self._left == 0:
                while self._stream.readline(65537) not in (b"\r\n", b"\n", b""):
                    pass  # trailer fields: nothing here reads them
                self.done = True

    def read(self, size: int = -1) -> bytes:
        parts = []
        wanted = sys.maxsize if size is None or size < 0 else size
        while wanted > 0:
            self._next_chunk()
            if self.done:
                break
            data = self._stream.read(min(wanted, self._left))
            if not data:
                raise ConnectionError("the client closed the connection inside a chunk")
            parts.append(data)
            self._left -= len(data)
            wanted -= len(data)
            if self._left == 0 and self._stream.readline(3) not in (b"\r\n", b"\n"):
                raise BodyError("a chunk not followed by its line end")
        return b"".join(parts)

    def readline(self, size: int = -1) -> bytes:
        return self.read(size)  # only multipart parsing asks for lines; chunk-sized pieces do

    def __iter__(self):
        while data := self.read(65536):
            yield data

    def drain(self) -> bool:
        drained = 0
        while data := self.read(65536):
            drained += len(data)
            if drained > DRAIN_LIMIT_BYTES:
                return False
        return True


class _EmptyBody:
    remaining = 0

    def read(self, size: int = -1) -> bytes:
        return b""

    readline = read

    def __iter__(self):
        return iter(())

    def drain(self) -> bool:
        return True


_EMPTY = _EmptyBody()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "docrsim"
    sys_version = ""

    def setup(self):
        self.secure = False
        self.refused = False
        context = self.server.tls_context
        if context is not None:
            from docrsim.network import tls

            try:
                self.request, self.secure = tls.accept(self.request, context)
            except OSError:
                self.refused = True  # a failed handshake (the client does not trust the CA...)
        # Small answers go out at once: no waiting on Nagle's algorithm for the client's ACK.
        try:
            self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass
        self.connection = self.request
        self.rfile = self.connection.makefile("rb", -1)
        self.wfile = _SocketWriter(self.connection)

    def handle(self):
        if self.refused:
            return
        self.close_connection = True
        self.server.track(self, True)
        try:
            self.handle_one_request()
            while not self.close_connection:
                self.handle_one_request()
        except (ConnectionError, TimeoutError, ssl.SSLError, BodyError):
            pass  # the client went away, idled out, or broke the framing: nothing more to say
        finally:
            self.server.track(self, False)

    def handle_one_request(self):
        self.close_connection = True
        if not self.server.idle(self, True):
            return  # the server is stopping
        self.connection.settimeout(IDLE_TIMEOUT_SECONDS)
        try:
            self.raw_requestline = self.rfile.readline(65537)
        finally:
            self.server.idle(self, False)
        if not self.raw_requestline:
            return
        self.connection.settimeout(None)
        if len(self.raw_requestline) > 65536:
            self.requestline = ""
            self.request_version = "HTTP/1.1"
            self.command = ""
            self.send_error(414)
            return
        if not self.parse_request():  # answered 400 (a TLS ClientHello on plain HTTP among others)
            return
        self._run_wsgi()
        if self.server.stopping:
            self.close_connection = True

    def _body(self):
        te = self.headers.get("Transfer-Encoding", "")
        if te:
            if te.strip().lower() != "chunked":
                self.send_error(501, "Only the chunked transfer coding is understood")
                return None
            return _ChunkedBody(self.rfile)
        length = self.headers.get("Content-Length")
        if length is None:
            return _EMPTY
        try:
            value = int(length)
            if value < 0:
                raise ValueError
        except ValueError:
            self.send_error(400, "Bad Content-Length")
            return None
        return _LengthBody(self.rfile, value) if value else _EMPTY

    def make_environ(self, body) -> dict:
        target = self.path
        path, _, query = target.partition("?")
        if "://" in path:  # absolute-form request target (a proxy client)
            path = "/" + path.split("://", 1)[1].partition("/")[2]
        environ = {
            "REQUEST_METHOD": self.command,
            "SCRIPT_NAME": "",
            "PATH_INFO": unquote(path, encoding="latin-1"),
            "QUERY_STRING": query,
            "REQUEST_URI": target,
            "RAW_URI": target,
            "SERVER_NAME": self.server.server_name,
            "SERVER_PORT": str(self.server.server_port),
            "SERVER_PROTOCOL": self.request_version,
            "REMOTE_ADDR": self.client_address[0] if self.client_address else "",
            "REMOTE_PORT": str(self.client_address[1]) if self.client_address else "",
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": "https" if self.secure else "http",
            "wsgi.input": body,
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": True,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
            BUFFERS_ACCEPTED: True,
        }
        if isinstance(body, _ChunkedBody):
            environ["wsgi.input_terminated"] = True  # read to the end: the length is not known
        for name, value in self.headers.items():
            key = name.upper().replace("-", "_")
            if "_" in name:
                continue  # a header spelt with "_" would pass for one spelt with "-"
            if key == "CONTENT_TYPE" or key == "CONTENT_LENGTH":
                environ[key] = value
                continue
            key = "HTTP_" + key
            environ[key] = f"{environ[key]},{value}" if key in environ else value
        return environ

    def _run_wsgi(self):
        body = self._body()
        if body is None:
            return
        environ = self.make_environ(body)
        state = {"status": None, "headers": None, "sent": False, "chunked": False}
        head_only = self.command == "HEAD"

        def start_response(status, headers, exc_info=None):
            if exc_info:
                try:
                    if state["sent"]:
                        raise exc_info[1].with_traceback(exc_info[2])
                finally:
                    exc_info = None
            elif state["status"] is not None:
                raise AssertionError("start_response called twice")
            state["status"], state["headers"] = status, headers
            return write

        def send_head(first: bytes) -> bytes:
            """The status line and headers, as bytes to send before (or with) the body."""
            code = int(state["status"][:3])
            names = set()
            lines = [f"{self.request_version if self.request_version == 'HTTP/1.0' else 'HTTP/1.1'} "
                     f"{state['status']}\r\n"]
            for name, value in state["headers"]:
                names.add(name.lower())
                lines.append(f"{name}: {value}\r\n")
            if "date" not in names:
                lines.append(f"Date: {self.date_time_string()}\r\n")
            if "server" not in names:
                lines.append("Server: docrsim\r\n")
            no_body = head_only or code < 200 or code in (204, 304)
            if "content-length" not in names and not no_body:
                if self.request_version == "HTTP/1.1":
                    state["chunked"] = True
                    lines.append("Transfer-Encoding: chunked\r\n")
                else:
                    self.close_connection = True  # the body ends where the connection does
            if self.close_connection or self.server.stopping:
                lines.append("Connection: close\r\n")
                self.close_connection = True
            elif self.request_version == "HTTP/1.0":
                lines.append("Connection: keep-alive\r\n")
            lines.append("\r\n")
            self.status_code = code
            return "".join(lines).encode("latin-1")

        def write(data: bytes) -> None:
            if state["status"] is None:
                raise AssertionError("write() before start_response")
            if not state["sent"]:
                head = send_head(data)
                state["sent"] = True
                if head_only:
                    self.wfile.write(head)
                    return
                if state["chunked"]:
                    data = b"%x\r\n%s\r\n" % (len(data), data) if data else b""
                if len(data) <= _COALESCE_BYTES:
                    self.wfile.write(head + data)
                else:
                    self.wfile.write(head)
                    self.wfile.write(data)
                return
            if head_only or not data:
                return
            if state["chunked"]:
                self.wfile.write(b"%x\r\n" % len(data))
                self.wfile.write(data)
                self.wfile.write(b"\r\n")
            else:
                self.wfile.write(data)

        try:
            result = self.server.app(environ, start_response)
            try:
                for data in result:
                    if data:
                        write(data)
                if not state["sent"]:
                    write(b"")
                if state["chunked"] and not head_only:
                    self.wfile.write(b"0\r\n\r\n")
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()
        except (ConnectionError, TimeoutError, ssl.SSLError):
            self.close_connection = True
            raise
        except Exception:
            self.close_connection = True
            import traceback

            traceback.print_exc(file=sys.stderr)
            if not state["sent"]:
                self.send_error(500)
            return
        if not self.close_connection and not body.drain():
            self.close_connection = True

    def finish(self):
        try:
            self.wfile.flush()
        except OSError:
            pass
        try:
            self.rfile.close()
        except OSError:
            pass
        if self.secure:
            # The TLS socket took the connection's descriptor over from the one socketserver
            # accepted, so socketserver's own shutdown and close no longer reach it: end it here.
            try:
                self.request.shutdown(socket.SHUT_WR)
            except OSError:
                pass
            self.request.close()

    def log_message(self, format, *args):
        pass  # no line of the server's own: docrsim logs requests itself (http/requestlog.py)


class _SocketWriter:
    """Writes go straight to the socket (whole: sendall); the handler sizes them itself."""

    def __init__(self, sock):
        self._sock = sock

    def write(self, data) -> int:
        self._sock.sendall(data)
        return len(data)

    def flush(self) -> None:
        pass


class KeepAliveServer(socketserver.ThreadingMixIn, socketserver.TCPServer):
    """Serves ``app`` on an already bound, listening socket; ``tls_context`` may be set while
    serving and applies from the next connection on."""

    daemon_threads = True
    block_on_close = False

    def __init__(self, sock: socket.socket, app):
        self.address_family = sock.family
        super().__init__(sock.getsockname()[:2], _Handler, bind_and_activate=False)
        self.socket.close()
        self.socket = sock
        self.server_address = sock.getsockname()
        self.server_name = self.server_address[0]
        self.server_port = self.server_address[1]
        self.app = app
        self.tls_context: ssl.SSLContext | None = None
        self.stopping = False
        self._lock = threading.Lock()
        self._handlers: dict[_Handler, bool] = {}  # each open connection's handler: idle or not

    def track(self, handler: _Handler, open_: bool) -> None:
        with self._lock:
            if open_:
                self._handlers[handler] = False
            else:
                self._handlers.pop(handler, None)

    def idle(self, handler: _Handler, waiting: bool) -> bool:
        """Mark a connection as waiting for its next request (or not); False once stopping."""
        with self._lock:
            if waiting and self.stopping:
                return False
            if handler in self._handlers:
                self._handlers[handler] = waiting
            return True

    def close_connections(self) -> None:
        """Stop: idle connections close now, busy ones after their current answer."""
        with self._lock:
            self.stopping = True
            idle = [handler for handler, waiting in self._handlers.items() if waiting]
        for handler in idle:
            try:
                handler.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def handle_error(self, request, client_address):
        pass  # a connection's failure is the client's business: nothing to print
