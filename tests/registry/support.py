"""Helpers for raw OCI distribution tests: manifests, a bearer-token client, docker's login dance."""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass

import jwt
import requests

from docrsim.core import content as media
from tests import spec_conformance
from tests.conftest import Live

DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def sha512(data: bytes) -> str:
    return "sha512:" + hashlib.sha512(data).hexdigest()


def canonical(document: dict) -> bytes:
    return json.dumps(document, separators=(",", ":"), sort_keys=True).encode()


def descriptor(media_type: str, data: bytes, **extra) -> dict:
    return {"mediaType": media_type, "digest": sha256(data), "size": len(data), **extra}


def claims(token: str) -> dict:
    """A JWT's payload, unverified: what the token service says it granted."""
    return jwt.decode(token, options={"verify_signature": False})


def oci_error(answer: requests.Response) -> tuple[int, str]:
    """(status, first error code) of an OCI error response."""
    body = answer.json()
    assert set(body) == {"errors"} and body["errors"], body
    for error in body["errors"]:
        assert {"code", "message"} <= set(error)
    return answer.status_code, body["errors"][0]["code"]


def challenge(answer: requests.Response) -> dict[str, str]:
    """The parameters of a ``WWW-Authenticate: Bearer ...`` challenge."""
    scheme, _, rest = answer.headers["WWW-Authenticate"].partition(" ")
    assert scheme == "Bearer"
    params = {}
    for part in rest.split('",'):
        key, _, value = part.partition("=")
        params[key.strip()] = value.strip().strip('"')
    return params


@dataclass
class Image:
    """The pieces of a pushed (or pushable) image manifest."""

    config: bytes
    layers: list[bytes]
    raw: bytes
    media_type: str

    @property
    def digest(self) -> str:
        return sha256(self.raw)

    @property
    def blobs(self) -> list[bytes]:
        return [self.config, *self.layers]

    def descriptor(self, **extra) -> dict:
        return {"mediaType": self.media_type, "digest": self.digest, "size": len(self.raw), **extra}


def image_manifest(config: bytes, layers: list[bytes], *, docker: bool = False, extra_layers=(), **fields) -> Image:
    """An image manifest (OCI by default, Docker schema2 with ``docker``) over the given blobs."""
    media_type = media.DOCKER_MANIFEST if docker else media.OCI_MANIFEST
    document = {
        "schemaVersion": 2,
        "mediaType": media_type,
        "config": descriptor(DOCKER_CONFIG if docker else OCI_CONFIG, config),
        "layers": [descriptor(DOCKER_LAYER if docker else OCI_LAYER, layer) for layer in layers] + list(extra_layers),
        **fields,
    }
    return Image(config, list(layers), canonical(document), media_type)


def index_manifest(children: list[Image], *, docker: bool = False, **fields) -> bytes:
    media_type = media.DOCKER_MANIFEST_LIST if docker else media.OCI_INDEX
    platforms = [{"os": "linux", "architecture": arch} for arch in ("amd64", "arm64", "riscv64")]
    document = {
        "schemaVersion": 2,
        "mediaType": media_type,
        "manifests": [child.descriptor(platform=platforms[i]) for i, child in enumerate(children)],
        **fields,
    }
    return canonical(document)


class Client:
    """One repository on the registry host, as a bearer-token client sees it."""

    def __init__(self, live: Live, name: str, token: str | None):
        self.live = live
        self.name = name
        self.http = requests.Session()
        if token is not None:
            self.http.headers["Authorization"] = f"Bearer {token}"

    def url(self, path: str) -> str:
        if path.startswith("http"):
            return path
        if path.startswith("/v2/"):
            return self.live.registry_url + path
        return f"{self.live.registry_url}/v2/{self.name}{path}"

    def request(self, method: str, path: str, **kwargs) -> requests.Response:
        answer = self.http.request(method, self.url(path), **kwargs)
        assert answer.status_code < 500, f"{method} {path} → {answer.status_code}: {answer.text[:300]}"
        return answer

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def head(self, path, **kw):
        return self.request("HEAD", path, **kw)

    def post(self, path, **kw):
        return self.request("POST", path, **kw)

    def put(self, path, **kw):
        return self.request("PUT", path, **kw)

    def patch(self, path, **kw):
        return self.request("PATCH", path, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)

    # -- flows ----------------------------------------------------------------------------------
    def start_upload(self) -> str:
        answer = self.post("/blobs/uploads/", headers={"Content-Length": "0"})
        assert answer.status_code == 202, answer.text
        assert answer.headers["Location"]
        return answer.headers["Location"]

    def push_blob(self, data: bytes) -> str:
        """POST then PUT, the body in the PUT; returns the digest."""
        location = self.start_upload()
        digest = sha256(data)
        answer = self.put(location, params={"digest": digest}, data=data,
                          headers={"Content-Type": "application/octet-stream"})
        assert answer.status_code == 201, answer.text
        assert answer.headers["Docker-Content-Digest"] == digest
        return digest

    def push_manifest(self, raw: bytes, reference: str, media_type: str) -> requests.Response:
        return self.put(f"/manifests/{reference}", data=raw, headers={"Content-Type": media_type})

    def push_image(self, image: Image, reference: str) -> str:
        for blob in image.blobs:
            self.push_blob(blob)
        answer = self.push_manifest(image.raw, reference, image.media_type)
        assert answer.status_code == 201, answer.text
        assert answer.headers["Docker-Content-Digest"] == image.digest
        return image.digest


@dataclass
class Registry:
    """The two hosts of one docrsim, with docker's login dance as helpers."""

    live: Live

    @property
    def host(self) -> str:
        return self.live.registry_url.split("://", 1)[1]

    def url(self, path: str) -> str:
        return self.live.registry_url + path

    def credentials(self, registry: str, *, read_write: bool = True, expiry_seconds: int | None = None) -> tuple[str, str]:
        """(user, secret) from docker-credentials, decoded as docker would."""
        params = {"read_write": "true" if read_write else "false"}
        if expiry_seconds is not None:
            params["expiry_seconds"] = str(expiry_seconds)
        answer = self.live.http.get(self.live.url(f"/v2/registries/{registry}/docker-credentials"), params=params)
        assert answer.status_code == 200, answer.text
        auth = answer.json()["auths"][self.host]["auth"]
        user, sep, secret = base64.b64decode(auth).decode().partition(":")
        assert sep and user and secret
        return user, secret

    def token_answer(self, auth, *scopes: str, service: str | None = None) -> requests.Response:
        """The token service's raw answer (a plain session: no DO API bearer header)."""
        params = [("service", service or self.host)] + [("scope", s) for s in scopes]
        answer = requests.get(self.live.url("/v2/registry/auth"), params=params, auth=auth)
        spec_conformance.check(answer)  # the token service is part of docrsim's OpenAPI document
        return answer

    def token(self, auth, *scopes: str) -> str:
        answer = self.token_answer(auth, *scopes)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["token"] == body["access_token"]
        return body["token"]

    def client(self, name: str, actions: str = "pull,push", *, auth=None, also: tuple[str, ...] = ()) -> Client:
        """A client for ``<registry>/<repo>`` holding a token for ``actions`` on it (and for the
        scopes ``also`` names, such as pull on the source of a mount)."""
        registry = name.split("/", 1)[0]
        auth = auth or self.credentials(registry, read_write=True)
        return Client(self.live, name, self.token(auth, f"repository:{name}:{actions}", *also))

    def anonymous(self, name: str = "acme/web") -> Client:
        return Client(self.live, name, None)

    # -- the DO API's view ----------------------------------------------------------------------
    def api(self, path: str) -> dict:
        answer = self.live.http.get(self.live.url(path))
        assert answer.status_code == 200, answer.text
        return answer.json()

    def usage(self, registry: str) -> int:
        return self.api(f"/v2/registries/{registry}")["registry"]["storage_usage_bytes"]


def account(tier: str, *registries: dict) -> dict:
    """A scenario document: an account on ``tier`` with the given registry specs."""
    return {
        "description": "registry host tests",
        "clock": {"start": "2026-01-01T00:00:00Z"},
        "account": {"tier": tier},
        "registries": [{"region": "nyc3", **spec} for spec in registries],
    }


