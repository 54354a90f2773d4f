"""Talking to docrsim's proxy and TLS hosts over raw sockets, as clients do underneath."""

from __future__ import annotations

import socket
import ssl


def proxy_request(proxy_port: int, head: str, timeout: float = 10) -> tuple[socket.socket, bytes]:
    """Send ``head`` to the proxy; the open socket and the answer's head (through the blank line)."""
    sock = socket.create_connection(("127.0.0.1", proxy_port), timeout=timeout)
    sock.sendall(head.encode("latin-1"))
    answer = b""
    while b"\r\n\r\n" not in answer:
        chunk = sock.recv(4096)
        if not chunk:
            break
        answer += chunk
    return sock, answer


def read_all(sock: socket.socket) -> bytes:
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


def https_get(sock: socket.socket, name: str, path: str, cafile: str, headers: str = "") -> bytes:
    """A GET over TLS on an open connection (a proxy tunnel or a direct one), verified
    against ``cafile`` for ``name``; the whole answer."""
    context = ssl.create_default_context(cafile=cafile)
    with context.wrap_socket(sock, server_hostname=name) as tls:
        tls.sendall(f"GET {path} HTTP/1.1\r\nHost: {name}\r\n{headers}Connection: close\r\n\r\n".encode())
        return read_all(tls)
