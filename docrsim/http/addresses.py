"""The addresses an answer names are the ones the client used.

Every address docrsim renders (the key of ``docker-credentials``, the registry's Bearer
challenge realm and service, the service the token service accepts, pagination links) comes
from ``of_request``, and from nowhere else:

- A request that arrived as one of DOCR's production host names (through docrsim's proxy, or
  with such a ``Host`` header) is answered with production addresses: ``https://api.digitalocean.com``
  and ``registry.digitalocean.com``.
- Any other request is answered in the host name it used, with the scheme it used, on
  docrsim's two ports: a client of ``http://127.0.0.1:8080`` is told of ``127.0.0.1:5000``,
  one of ``https://localhost:8080`` of ``https://localhost:8080/v2/registry/auth``.
- A request with no usable ``Host`` gets the addresses docrsim listens on.

Nothing else about a request depends on its address: the state, the journal and garbage
collection are the same whichever name reached them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from flask import current_app, request

from docrsim.http.endpoints import Endpoints
from docrsim.network.production import API_URL, NAMES, REGISTRY_HOST, canonical

# A DNS name, an IPv4 address, or an IPv6 address in brackets; anything else in a Host header
# (quotes, commas, spaces) is not repeated back in a header.
_HOST_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252})|\[[0-9A-Fa-f:.]+\]")


@dataclass(frozen=True)
class Addresses:
    api_url: str  # the API host's base URL, no trailing slash
    registry_host: str  # the registry as image references name it: host[:port]

    @property
    def realm(self) -> str:
        """The token service, where the registry's challenge sends clients."""
        return f"{self.api_url}/v2/registry/auth"

    @property
    def service(self) -> str:
        """The name registry tokens are issued for and checked against."""
        return self.registry_host


PRODUCTION = Addresses(API_URL, REGISTRY_HOST)


def _endpoints() -> Endpoints:
    return current_app.config["DOCRSIM_ENDPOINTS"]


def host_name(host_header: str) -> str | None:
    """The name part of a ``Host`` header (``[::1]`` kept in brackets), or None if unusable."""
    name = host_header
    if not name.startswith("[") or "]:" in name:
        head, sep, port = name.rpartition(":")
        if sep and port.isdigit():
            name = head
    return name if _HOST_NAME.fullmatch(name) else None


def of_request() -> Addresses:
    """The addresses to name in the answer to the current request (see the module's rules)."""
    ends = _endpoints()
    name = host_name(request.host) if request.host else None
    if name is None:
        return Addresses(ends.api_url, ends.registry_host)
    if canonical(name) in NAMES:
        return PRODUCTION
    return Addresses(f"{request.scheme}://{name}:{ends.api_port}", f"{name}:{ends.registry_port}")


def accepted_services() -> tuple[str, ...]:
    """Services the token service issues for: the registry as this request names it, DOCR's
    production name, and the address docrsim's registry listens on."""
    return tuple(dict.fromkeys((of_request().service, REGISTRY_HOST, _endpoints().registry_host)))
