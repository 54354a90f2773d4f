"""Starting and stopping both listeners, including a server that never started."""

from __future__ import annotations

import socket
import threading

import pytest
import requests

from docrsim.core.state import Simulation
from docrsim.server import SERVERS, Server


def stops_within(server: Server, seconds: float = 10) -> bool:
    done = threading.Event()
    threading.Thread(target=lambda: (server.stop(), done.set()), daemon=True).start()
    return done.wait(seconds)


def port_is_free(port: int) -> bool:
    with socket.socket() as probe:
        # As a new docrsim binds (socket.create_server): connections closed a moment ago may
        # linger in TIME_WAIT on the port, a listener may not.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


@pytest.mark.parametrize("backend", SERVERS)
def test_a_server_that_never_started_stops_and_frees_its_ports(backend):
    server = Server(Simulation(), api_port=0, registry_port=0, server=backend)
    ports = [int(url.rsplit(":", 1)[1]) for url in (server.api_url, server.registry_url)]
    assert stops_within(server)
    assert all(port_is_free(port) for port in ports)


@pytest.mark.parametrize("backend", SERVERS)
def test_a_started_server_answers_on_both_hosts_then_stops_and_frees_its_ports(backend):
    server = Server(Simulation(), api_port=0, registry_port=0, server=backend).start()
    listing = requests.get(server.api_url + "/v2/registries", headers={"Authorization": "Bearer t"}, timeout=10)
    assert (listing.status_code, listing.json()) == (200, {"registries": [], "total_storage_usage_bytes": 0})
    ping = requests.get(server.registry_url + "/v2/", timeout=10)
    assert ping.status_code == 401 and ping.headers["WWW-Authenticate"].startswith("Bearer realm=")
    ports = [int(url.rsplit(":", 1)[1]) for url in (server.api_url, server.registry_url)]
    assert stops_within(server)
    assert all(port_is_free(port) for port in ports)
