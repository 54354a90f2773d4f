"""``docrsim serve`` refusing to start where it cannot listen: one line saying which host,
which port and what to change (run as a real subprocess)."""

from __future__ import annotations

import socket
import subprocess

from tests.served import DOCRSIM, ENV, ROOT, WAIT


def serve(*args) -> subprocess.CompletedProcess:
    return subprocess.run([*DOCRSIM, "serve", *args], cwd=ROOT, capture_output=True, text=True, timeout=WAIT, env=ENV)


def assert_refused_with(result, line):
    assert result.returncode == 2
    assert result.stderr.splitlines() == [line]
    assert "docrsim ready" not in result.stdout


def a_free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_both_hosts_on_one_port():
    port = a_free_port()
    assert_refused_with(serve("--api-port", str(port), "--registry-port", str(port)),
                        f"docrsim: --api-port and --registry-port are both {port}: the API host and the registry "
                        "host need a port each (0 picks a free one)")


def test_a_busy_port_names_its_host_and_suggests_0():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        api = serve("--api-port", str(port), "--registry-port", "0")
        registry = serve("--api-port", "0", "--registry-port", str(port), "--fixture", "small-app")
    assert_refused_with(api, f"docrsim: cannot listen on 127.0.0.1:{port} for the API host: the port is in use "
                             "(another docrsim?); choose another with --api-port N, or --api-port 0 for a free one")
    assert_refused_with(registry, f"docrsim: cannot listen on 127.0.0.1:{port} for the registry host: the port is in "
                                  "use (another docrsim?); choose another with --registry-port N, or "
                                  "--registry-port 0 for a free one")


def test_an_address_that_is_not_this_machines():
    # 192.0.2.0/24 is TEST-NET-1 (RFC 5737): never assigned, so never an address of this machine.
    assert_refused_with(serve("--host", "192.0.2.1", "--api-port", "0", "--registry-port", "0"),
                        "docrsim: cannot listen on 192.0.2.1: Cannot assign requested address; --host must be an "
                        "address of this machine (127.0.0.1 by default, 0.0.0.0 for all of its IPv4 addresses)")

