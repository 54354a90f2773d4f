"""Docker credentials from the DO API, as a client of the registry host uses them."""

from __future__ import annotations

import base64


def docker_credentials(live, registry: str, *, read_write: bool = True) -> tuple[str, str, str]:
    """(registry host, user name, secret) minted by the docker-credentials endpoint."""
    flag = "true" if read_write else "false"
    auths = live.http.get(live.url(f"/v2/registries/{registry}/docker-credentials?read_write={flag}")).json()["auths"]
    (host, entry), = auths.items()
    user, _, secret = base64.b64decode(entry["auth"]).decode().partition(":")
    return host, user, secret


def registry_token(live, registry: str, repository: str, actions: str = "pull,push") -> str:
    """A registry JWT from the token service, asked for as docker would after a challenge."""
    import requests

    host, user, secret = docker_credentials(live, registry)
    answer = requests.get(f"{live.api_url}/v2/registry/auth", auth=(user, secret),
                          params={"service": host, "scope": f"repository:{registry}/{repository}:{actions}"})
    answer.raise_for_status()
    return answer.json()["token"]
