"""Where docrsim listens; known only once its sockets are bound."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Endpoints:
    host: str = "127.0.0.1"  # as a URL names it: an IPv6 address in brackets
    api_port: int = 8080
    registry_port: int = 5000
    tls: bool = False  # both hosts also speak TLS, with a certificate from docrsim's CA
    # The scheme of the URLs below: https when TLS was asked for from the start. TLS turned on
    # later (for the proxy) leaves it alone, so URLs already handed out keep meaning the same.
    scheme: str = "http"
    proxy_port: int | None = None
    ca_certificate: str | None = None  # the CA's certificate file, once TLS is on
    ca_bundle: str | None = None  # the system's CAs and docrsim's, for SSL_CERT_FILE and the like

    @property
    def api_url(self) -> str:
        return f"{self.scheme}://{self.host}:{self.api_port}"

    @property
    def registry_url(self) -> str:
        return f"{self.scheme}://{self.host}:{self.registry_port}"

    @property
    def registry_host(self) -> str:
        """``host:port`` as image references and docker's config.json name the registry."""
        return f"{self.host}:{self.registry_port}"

    @property
    def proxy_url(self) -> str | None:
        return None if self.proxy_port is None else f"http://{self.host}:{self.proxy_port}"

    def as_dict(self) -> dict:
        return {"api_url": self.api_url, "registry_url": self.registry_url, "registry_host": self.registry_host,
                "tls": self.tls, "proxy_url": self.proxy_url, "ca_certificate": self.ca_certificate,
                "ca_bundle": self.ca_bundle}
