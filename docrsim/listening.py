"""Why ``docrsim serve`` cannot listen where it was asked to, told so that the reader knows
which host and which option to change."""

from __future__ import annotations

import errno
import os

# The two hosts and the proxy, with the option that sets each one's port.
HOSTS = (("API host", "--api-port"), ("registry host", "--registry-port"), ("proxy", "--proxy-port"))


def _listeners(api_port: int, registry_port: int, proxy_port: int | None):
    ports = (api_port, registry_port, proxy_port)
    return [(label, option, port) for (label, option), port in zip(HOSTS, ports) if port is not None]


def port_clash(api_port: int, registry_port: int, proxy_port: int | None = None) -> str | None:
    """Two listeners asked for one port: the second could never bind, whatever else listens."""
    chosen = [(label, option, port) for label, option, port in _listeners(api_port, registry_port, proxy_port) if port]
    for index, (label, option, port) in enumerate(chosen):
        for other_label, other_option, other_port in chosen[index + 1:]:
            if port == other_port:
                return (f"{option} and {other_option} are both {port}: the {label} and the {other_label} "
                        "need a port each (0 picks a free one)")
    return None


def probe(host: str, api_port: int, registry_port: int, proxy_port: int | None = None) -> str | None:
    """Bind each port for a moment: what would stop the listeners, before a long scenario
    load is spent on a start that cannot succeed (None: all bind)."""
    from docrsim.server import _bind

    for label, option, port in _listeners(api_port, registry_port, proxy_port):
        try:
            _bind(host, port).close()
        except OSError as exc:
            return _describe(host, port, label, option, exc)
    return None


def bind_problem(host: str, api_port: int, registry_port: int, error: OSError, proxy_port: int | None = None) -> str:
    """What stopped the listeners from binding, found by trying each port again on its own;
    the error itself when the ports bind now (something let go of them meanwhile)."""
    return probe(host, api_port, registry_port, proxy_port) or f"cannot listen on {host}: {error.strerror or error}"


def _describe(host: str, port: int, label: str, option: str, error: OSError) -> str:
    where = f"cannot listen on {host}:{port} for the {label}"
    code = error.errno or 0
    # socket.create_server adds the address to the message; the errno's own words say enough.
    reason = os.strerror(code) if code > 0 else (error.strerror or str(error)).split(" (while attempting")[0]
    if error.errno == errno.EADDRINUSE:
        return f"{where}: the port is in use (another docrsim?); choose another with {option} N, or {option} 0 for a free one"
    if error.errno == errno.EACCES:
        return (f"{where}: permission denied (ports below 1024 need privileges); choose another with {option} N, "
                f"or {option} 0 for a free one")
    if code < 0 or code in (errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT):  # < 0: getaddrinfo's, the name is unknown
        return (f"cannot listen on {host}: {reason}; --host must be an address of this machine "
                "(127.0.0.1 by default, 0.0.0.0 for all of its IPv4 addresses)")
    return f"{where}: {reason}"
