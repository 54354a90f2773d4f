"""Why ``docrsim serve`` cannot listen where it was asked to, told so that the reader knows
which host and which option to change."""

from __future__ import annotations

import errno
import os

# The two hosts, with the option that sets each one's port.
HOSTS = (("API host", "--api-port"), ("registry host", "--registry-port"))


def port_clash(api_port: int, registry_port: int) -> str | None:
    """Both hosts asked for one port: the second could never bind, whatever else listens."""
    if api_port and api_port == registry_port:
        return (f"--api-port and --registry-port are both {api_port}: the API host and the registry host "
                "need a port each (0 picks a free one)")
    return None


def probe(host: str, api_port: int, registry_port: int) -> str | None:
    """Bind each port for a moment: what would stop the listeners, before a long scenario
    load is spent on a start that cannot succeed (None: both bind)."""
    from docrsim.server import _bind

    for (label, option), port in zip(HOSTS, (api_port, registry_port)):
        try:
            _bind(host, port).close()
        except OSError as exc:
            return _describe(host, port, label, option, exc)
    return None


def bind_problem(host: str, api_port: int, registry_port: int, error: OSError) -> str:
    """What stopped the listeners from binding, found by trying each port again on its own;
    the error itself when the ports bind now (something let go of them meanwhile)."""
    return probe(host, api_port, registry_port) or f"cannot listen on {host}: {error.strerror or error}"


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
