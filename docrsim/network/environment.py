"""The environment that points unmodified tools at docrsim, for ``docrsim env``, the
``Simulator`` and the ``docrsim_env`` pytest fixture alike.

What each variable is for:

- ``HTTPS_PROXY``/``https_proxy``: Go (skopeo, doctl, regctl), requests (pydo), curl and most
  others send their https traffic through docrsim's proxy; ``NO_PROXY``/``no_proxy`` keep
  loopback direct, so docrsim's own URLs still work.
- ``SSL_CERT_FILE`` (Go, OpenSSL, Python's ``ssl``), ``REQUESTS_CA_BUNDLE`` (requests, which
  ignores the former), ``CURL_CA_BUNDLE`` (curl, which reads neither): the system's CAs plus
  docrsim's, so other TLS verification keeps working. ``NODE_EXTRA_CA_CERTS``: docrsim's CA,
  which Node adds to its own.
- ``DOCKER_CONFIG``: a ``config.json`` that logs in to ``registry.digitalocean.com`` (and to the
  registry host's direct address) with the API token, as ``docker login`` with a DO token does.
- ``DIGITALOCEAN_ACCESS_TOKEN`` for doctl and scripts; ``DOCRSIM_URL`` for the ``docrsim``
  commands: the API host over plain HTTP, docrsim's own channel, which needs no CA.

``Simulator.env()`` gives these and a few of its own (``DIGITALOCEAN_TOKEN``,
``DOCRSIM_REGISTRY_HOST``, and ``DIGITALOCEAN_API_URL`` while no proxy runs).
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path
from urllib.parse import urlsplit

from docrsim.files import data_directory
from docrsim.network.production import REGISTRY_HOST

DEFAULT_TOKEN = "dop_v1_docrsim"  # any token works unless docrsim was given --tokens
LOOPBACK = ("127.0.0.1", "localhost", "::1")
_WILDCARDS = ("0.0.0.0", "::")


def default_docker_config() -> Path:
    return data_directory() / "docker-config"


def variables(endpoints: dict, token: str, docker_config: str | os.PathLike | None) -> dict[str, str]:
    """Name -> value, from what ``GET /_docrsim/endpoints`` answers."""
    env: dict[str, str] = {}
    if endpoints.get("proxy_url"):
        proxy = endpoints["proxy_url"]
        # docrsim's own address stays direct too, where it listens somewhere else than loopback.
        listens = urlsplit(endpoints["api_url"]).hostname
        direct = ",".join([*LOOPBACK, *([listens] if listens not in (*LOOPBACK, *_WILDCARDS) else [])])
        env.update(HTTPS_PROXY=proxy, https_proxy=proxy, NO_PROXY=direct, no_proxy=direct)
    if endpoints.get("ca_bundle"):
        bundle = endpoints["ca_bundle"]
        env.update(SSL_CERT_FILE=bundle, REQUESTS_CA_BUNDLE=bundle, CURL_CA_BUNDLE=bundle,
                   NODE_EXTRA_CA_CERTS=endpoints["ca_certificate"])
    env["DIGITALOCEAN_ACCESS_TOKEN"] = token
    if docker_config is not None:
        env["DOCKER_CONFIG"] = str(docker_config)
    env["DOCRSIM_URL"] = "http://" + endpoints["api_url"].split("://", 1)[1]
    return env


def write_docker_config(directory: str | os.PathLike, username: str, password: str,
                        direct_host: str) -> Path:
    """``config.json`` in ``directory`` logging in to the registry by its production name and
    by its direct address with one credential; readable by its owner only."""
    auth = base64.b64encode(f"{username}:{password}".encode()).decode()
    path = Path(directory) / "config.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # a file that was there before keeps no wider mode
    with os.fdopen(fd, "w") as file:
        json.dump({"auths": {REGISTRY_HOST: {"auth": auth}, direct_host: {"auth": auth}}}, file)
    return path


def export_lines(env: dict[str, str]) -> str:
    """POSIX ``export NAME=value`` lines, for ``eval "$(docrsim env)"``."""
    import shlex

    return "".join(f"export {name}={shlex.quote(value)}\n" for name, value in env.items())
