"""Where the two hosts listen; known only once their sockets are bound."""

from dataclasses import dataclass


@dataclass
class Endpoints:
    api_url: str = "http://127.0.0.1:8080"
    registry_url: str = "http://127.0.0.1:5000"

    @property
    def registry_host(self) -> str:
        """``host:port`` as image references and docker's config.json name the registry."""
        return self.registry_url.split("://", 1)[1]
