"""The forward proxy: DOCR's two production names to docrsim, over CONNECT or as plain
absolute-form requests, and every other destination refused without a connection tried."""

from __future__ import annotations

import json
import socket
import ssl

import pytest

from docrsim.network import proxy as proxy_module
from docrsim.network.proxy import ForwardProxy
from docrsim.simulator import Simulator
from tests.network.support import https_get, proxy_request, read_all


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    with Simulator(fixture="small-app", proxy=True, ca_dir=tmp_path_factory.mktemp("ca")) as simulator:
        yield simulator


@pytest.fixture
def connections(monkeypatch):
    """Every address the proxy opens a connection to."""
    opened = []
    real = proxy_module._connect

    def recording(address):
        opened.append(address)
        return real(address)

    monkeypatch.setattr(proxy_module, "_connect", recording)
    return opened


def port_of(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


@pytest.mark.parametrize("version", ["HTTP/1.1", "HTTP/1.0"])  # http.client, under urllib3, sends 1.0
def test_connect_to_the_api_name_reaches_the_api_host_over_verified_tls(sim, version, connections):
    sock, head = proxy_request(port_of(sim.proxy_url), f"CONNECT api.digitalocean.com:443 {version}\r\n"
                                                       f"Host: api.digitalocean.com:443\r\n\r\n")
    assert head.startswith(f"{version} 200 ".encode())
    answer = https_get(sock, "api.digitalocean.com", "/v2/registries", sim.ca_certificate,
                       "Authorization: Bearer dop_v1_docrsim\r\n")
    assert answer.startswith(b"HTTP/1.1 200")
    assert json.loads(answer.split(b"\r\n\r\n", 1)[1])["registries"][0]["name"] == "acme"
    assert connections == []  # the tunnel was handed to the API host itself, not relayed


def test_connect_to_the_registry_name_reaches_the_registry_host(sim, connections):
    sock, head = proxy_request(port_of(sim.proxy_url), "CONNECT registry.digitalocean.com:443 HTTP/1.1\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 ")
    answer = https_get(sock, "registry.digitalocean.com", "/v2/", sim.ca_certificate)
    assert answer.startswith(b"HTTP/1.1 401")
    assert (b'Bearer realm="https://api.digitalocean.com/v2/registry/auth",service="registry.digitalocean.com"'
            in answer)
    assert connections == []


def test_a_proxy_that_cannot_hand_tunnels_over_relays_them(sim, connections):
    """A host in another process cannot take a connection: the proxy connects and relays."""
    relaying = ForwardProxy("127.0.0.1", 0, {"api.digitalocean.com": ("127.0.0.1", port_of(sim.api_url))}).start()
    try:
        sock, head = proxy_request(relaying.port, "CONNECT api.digitalocean.com:443 HTTP/1.1\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200 ")
        answer = https_get(sock, "api.digitalocean.com", "/v2/registries", sim.ca_certificate,
                           "Authorization: Bearer dop_v1_docrsim\r\n")
        assert answer.startswith(b"HTTP/1.1 200") and b'"name":"acme"' in answer
        sock, head = proxy_request(relaying.port, "CONNECT registry.digitalocean.com:443 HTTP/1.1\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 403")  # a name it was not given
    finally:
        relaying.stop()
    assert connections == [("127.0.0.1", port_of(sim.api_url))]


@pytest.mark.parametrize("target", ["example.com:443", "127.0.0.1:22", "localhost:443", "api.digitalocean.com:80",
                                    "api.digitalocean.com:8443", "digitalocean.com:443", "[::1]:443"])
def test_other_destinations_are_refused_without_a_connection(sim, target, connections):
    sock, head = proxy_request(port_of(sim.proxy_url), f"CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n")
    body = head.split(b"\r\n\r\n", 1)[1] + read_all(sock)
    assert head.startswith(b"HTTP/1.1 403 Forbidden\r\n")
    assert target.encode() in body and b"api.digitalocean.com:443 and registry.digitalocean.com:443" in body
    assert connections == []


def test_docrsims_own_ports_are_not_reachable_through_it(sim):
    """Not even a tunnel to docrsim itself by address: only the two names are carried."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.3)
    for port in (port_of(sim.api_url), port_of(sim.registry_url), listener.getsockname()[1]):
        sock, head = proxy_request(port_of(sim.proxy_url), f"CONNECT 127.0.0.1:{port} HTTP/1.1\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 403")
    with pytest.raises(socket.timeout):
        listener.accept()  # nothing knocked
    listener.close()


def test_a_plain_absolute_form_request_is_answered(sim, connections):
    sock, head = proxy_request(port_of(sim.proxy_url), "GET http://api.digitalocean.com/v2/registries?per_page=1 HTTP/1.1\r\n"
                                                       "Host: api.digitalocean.com\r\nProxy-Connection: keep-alive\r\n"
                                                       "Authorization: Bearer dop_v1_docrsim\r\n\r\n")
    answer = head + read_all(sock)  # the host closes once it has answered
    assert answer.startswith(b"HTTP/1.1 200")
    assert json.loads(answer.split(b"\r\n\r\n", 1)[1])["registries"][0]["name"] == "acme"
    assert connections == [("127.0.0.1", port_of(sim.api_url))]


def test_a_plain_request_for_another_host_is_refused(sim, connections):
    sock, head = proxy_request(port_of(sim.proxy_url), "GET http://example.com/ HTTP/1.1\r\nHost: example.com\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 403") and b"http://example.com/" in head + read_all(sock)
    assert connections == []


@pytest.mark.parametrize("head, status", [
    ("GET /v2/registries HTTP/1.1\r\nHost: x\r\n\r\n", b"400"),  # origin-form: not a proxy request
    ("CONNECT api.digitalocean.com HTTP/1.1\r\n\r\n", b"400"),  # no port
    ("HELLO\r\n\r\n", b"400"),
    ("GET https://api.digitalocean.com/ HTTP/1.1\r\n\r\n", b"400"),  # https goes through CONNECT
    ("CONNECT api.digitalocean.com:443 HTTP/1.1\r\n" + "X-Long: " + "a" * 70000 + "\r\n\r\n", b"431"),
])
def test_malformed_requests_get_a_clear_status(sim, head, status, connections):
    sock, answer = proxy_request(port_of(sim.proxy_url), head)
    assert answer.split(b" ", 2)[1] == status
    assert connections == []


def test_a_client_without_docrsims_ca_fails_verification(sim):
    import certifi

    sock, head = proxy_request(port_of(sim.proxy_url), "CONNECT api.digitalocean.com:443 HTTP/1.1\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200")
    with pytest.raises(ssl.SSLCertVerificationError):
        https_get(sock, "api.digitalocean.com", "/v2/registries", certifi.where())




@pytest.mark.parametrize("head", [
    "CONNECT api.digitalocean.com:\u00b2 HTTP/1.1\r\n\r\n",  # a digit, but not an ASCII one
    "GET http://[x/ HTTP/1.1\r\n\r\n",  # not a URL
    "GET http://api.digitalocean.com/ HTTP/1.1\r\nX: a\nInjected: b\r\n\r\n",  # a bare LF
])
def test_unreadable_requests_are_refused_without_a_traceback(sim, head, capfd, connections):
    sock, answer = proxy_request(port_of(sim.proxy_url), head)
    assert answer.startswith(b"HTTP/1.1 400 ")
    assert "Traceback" not in capfd.readouterr().err
    assert connections == []


def test_stopping_ends_open_tunnels(sim):
    relaying = ForwardProxy("127.0.0.1", 0, {"api.digitalocean.com": ("127.0.0.1", port_of(sim.api_url))}).start()
    sock, head = proxy_request(relaying.port, "CONNECT api.digitalocean.com:443 HTTP/1.1\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 ")
    relaying.stop()
    sock.settimeout(5)
    assert sock.recv(1) == b""  # the tunnel was closed, not left to its threads


def test_a_tunnel_the_host_serves_ends_when_its_answer_does(sim):
    """An error answer over TLS with Connection: close reaches the end of the stream (the TLS
    socket is closed by the host, not left to the garbage collector)."""
    sock, head = proxy_request(port_of(sim.proxy_url), "CONNECT api.digitalocean.com:443 HTTP/1.1\r\n\r\n")
    sock.settimeout(5)
    answer = https_get(sock, "api.digitalocean.com", "/no/such/path", sim.ca_certificate)
    assert answer.startswith(b"HTTP/1.1 404")


def test_the_proxy_is_bound_to_loopback_by_default(sim):
    assert sim._server.proxy._server.server_address[0] == "127.0.0.1"
