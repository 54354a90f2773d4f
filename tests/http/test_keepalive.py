"""Both hosts keep HTTP/1.1 connections open between requests, whatever the previous request
left unread, and close them when asked to or when the server stops."""

from __future__ import annotations

import json
import socket
import time
from urllib.parse import urlsplit

import pytest

from docrsim.core.state import Simulation
from docrsim.network import keepalive
from docrsim.server import Server

AUTH = "Authorization: Bearer dop_v1_docrsim-test\r\n"


def connect(url: str) -> socket.socket:
    parts = urlsplit(url)
    return socket.create_connection((parts.hostname, parts.port), timeout=10)


def read_response(stream) -> tuple[int, dict[str, str], bytes]:
    """One response from a file over the socket: status, headers (lower-case names), body."""
    status = int(stream.readline().split()[1])
    headers: dict[str, str] = {}
    while (line := stream.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    if "content-length" in headers:
        body = stream.read(int(headers["content-length"]))
    elif headers.get("transfer-encoding") == "chunked":
        body = b""
        while (size := int(stream.readline().split(b";")[0], 16)) != 0:
            body += stream.read(size)
            stream.readline()
        stream.readline()
    else:
        body = stream.read()
    return status, headers, body


@pytest.fixture
def server():
    instance = Server(Simulation(), api_port=0, registry_port=0).start()
    yield instance
    instance.stop()


def test_requests_follow_one_another_on_one_connection(server):
    with connect(server.api_url) as sock, sock.makefile("rb") as stream:
        for _ in range(3):
            sock.sendall(f"GET /v2/registries HTTP/1.1\r\nHost: x\r\n{AUTH}\r\n".encode())
            status, headers, body = read_response(stream)
            assert (status, json.loads(body)) == (200, {"registries": [], "total_storage_usage_bytes": 0})
            assert headers.get("connection") != "close"


def test_a_body_the_application_left_unread_is_drained_before_the_next_request(server):
    # The registry refuses an upload without a token before it reads the upload's bytes.
    junk = b"GET /v2/ HTTP/1.1\r\n\r\n" * 100  # would pass for requests if it were not drained
    with connect(server.registry_url) as sock, sock.makefile("rb") as stream:
        sock.sendall(b"POST /v2/a/b/blobs/uploads/ HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s"
                     % (len(junk), junk))
        status, headers, _ = read_response(stream)
        assert status == 401 and headers.get("connection") != "close"
        sock.sendall(b"GET /v2/ HTTP/1.1\r\nHost: x\r\n\r\n")
        assert read_response(stream)[0] == 401
        sock.sendall(b"GET /v2/_catalog HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        status, headers, _ = read_response(stream)
        assert status == 401 and headers["connection"] == "close"
        assert stream.read() == b""  # and the server closed it after that answer


def test_a_chunked_body_left_unread_is_drained_too(server):
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(piece), piece) for piece in (b"GET / HTTP/1.1\r\n\r\n", b"x" * 5000))
    with connect(server.registry_url) as sock, sock.makefile("rb") as stream:
        sock.sendall(b"POST /v2/a/b/blobs/uploads/ HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                     + chunks + b"0\r\nX-Trailer: 1\r\n\r\n")
        assert read_response(stream)[0] == 401
        sock.sendall(b"GET /v2/ HTTP/1.1\r\nHost: x\r\n\r\n")
        status, headers, _ = read_response(stream)
        assert status == 401 and "bearer" in headers["www-authenticate"].lower()


def test_a_body_too_large_to_drain_closes_the_connection(server):
    declared = keepalive.DRAIN_LIMIT_BYTES + 1
    with connect(server.registry_url) as sock, sock.makefile("rb") as stream:
        sock.sendall(b"POST /v2/a/b/blobs/uploads/ HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\nabc" % declared)
        status, _, _ = read_response(stream)
        assert status == 401
        assert stream.read() == b""


def test_http_1_0_clients_get_their_connection_closed_unless_they_ask_to_keep_it(server):
    with connect(server.registry_url) as sock, sock.makefile("rb") as stream:
        sock.sendall(b"GET /v2/ HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        status, headers, _ = read_response(stream)
        assert (status, headers["connection"]) == (401, "keep-alive")
        sock.sendall(b"GET /v2/ HTTP/1.0\r\n\r\n")
        assert read_response(stream)[0] == 401
        assert stream.read() == b""


def test_a_tls_client_hello_on_plain_http_is_answered_at_once(server):
    # The opening of a TLS 1.3 ClientHello, supported_groups extension (0x000a) included: the
    # request line ends at its 0x0a byte, and that line is no HTTP request.
    hello = bytes.fromhex("16030100f8010000f40303") + bytes(32) + bytes.fromhex("00000813021303130100") \
        + bytes.fromhex("00a3000a000400020017")
    with connect(server.registry_url) as sock, sock.makefile("rb") as stream:
        started = time.monotonic()
        sock.sendall(hello)
        answer = stream.read()  # an error page, then the end of the connection
        assert b"400" in answer and time.monotonic() - started < 2


def test_stopping_closes_connections_kept_alive():
    server = Server(Simulation(), api_port=0, registry_port=0).start()
    sock = connect(server.registry_url)
    stream = sock.makefile("rb")
    sock.sendall(b"GET /v2/ HTTP/1.1\r\nHost: x\r\n\r\n")
    assert read_response(stream)[0] == 401
    server.stop()
    assert stream.read() == b""
    stream.close()
    sock.close()
