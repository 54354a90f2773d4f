"""What the stateful tests share: one docrsim on 127.0.0.1 reused across examples, plain HTTP
clients for both hosts, tiny OCI documents, and exact GC timing arithmetic.

The timing functions restate the collector's documented pace (rates per simulated second) as
integer microseconds, independently of docrsim's own code, so the model can say where a run
stands at any instant.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import jwt
import requests

from docrsim.core.clock import ManualClock
from docrsim.core.gc import Rates
from docrsim.core.state import Simulation
from docrsim.http.control import restore
from docrsim.server import Server

START = datetime(2026, 1, 1, tzinfo=timezone.utc)
US = 1_000_000
# Slow enough that whole-second clock steps land inside every phase; the byte rate is so high
# that a step's bytes add at most a few microseconds to its time.
SCAN_RATE = 1  # manifest links per second
DELETE_RATE = 1  # objects per second
BYTE_RATE = 10**9  # bytes per second
RATES = Rates(scan_manifests_per_second=SCAN_RATE, delete_objects_per_second=DELETE_RATE,
              delete_bytes_per_second=BYTE_RATE)
TOKEN_TTL_US = 15 * 60 * US
API_TOKEN = "dop_v1_stateful-model"

REQUESTED = "requested"
WAITING = "waiting for write JWTs to expire"
SCANNING = "scanning manifests"
DELETING = "deleting unreferenced blobs"
CANCELLING = "cancelling"
SUCCEEDED = "succeeded"
CANCELLED = "cancelled"
ACTIVE = (REQUESTED, WAITING, SCANNING, DELETING, CANCELLING)

BLOBS_ONLY = "unreferenced blobs only"
UNTAGGED_ONLY = "untagged manifests only"
BOTH = "untagged manifests and unreferenced blobs"
GC_TYPES = (BLOBS_ONLY, UNTAGGED_ONLY, BOTH)

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
SIGNATURE = "application/vnd.dev.cosign.artifact.sig.v1+json"


def nightly() -> bool:
    return os.environ.get("HYPOTHESIS_PROFILE") == "nightly"


# -- time ----------------------------------------------------------------------------------------
def ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def scan_us(links: int) -> int:
    """How long scanning ``links`` manifest links takes."""
    return ceil_div(links * US, SCAN_RATE)


def deletion_offset_us(objects: int, total_bytes: int) -> int:
    """From the start of deletion until ``objects`` objects of ``total_bytes`` in all are gone."""
    return ceil_div(objects * US * BYTE_RATE + total_bytes * US * DELETE_RATE, DELETE_RATE * BYTE_RATE)


def instant(us: int) -> datetime:
    return START + timedelta(microseconds=us)


def api_instant(us: int) -> str:
    """The DO API's rendering: whole seconds."""
    return instant(us).strftime("%Y-%m-%dT%H:%M:%SZ")


def exact_instant(us: int) -> str:
    """The state document's rendering: to the microsecond when there is one."""
    value = instant(us)
    fraction = f".{value.microsecond:06d}" if value.microsecond else ""
    return value.strftime("%Y-%m-%dT%H:%M:%S") + fraction + "Z"


# -- content -------------------------------------------------------------------------------------
def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def canonical(document: dict) -> bytes:
    return json.dumps(document, separators=(",", ":"), sort_keys=True).encode()


def descriptor(media_type: str, data: bytes, **extra) -> dict:
    return {"mediaType": media_type, "digest": sha256(data), "size": len(data), **extra}


@dataclass(frozen=True)
class Doc:
    """A manifest as the test built it, with what the reference graph needs of it."""

    raw: bytes
    media_type: str
    refs: tuple[str, ...] = ()  # config and layers
    children: tuple[str, ...] = ()
    subject: str | None = None
    artifact_type: str | None = None

    @property
    def digest(self) -> str:
        return sha256(self.raw)


def image(config: bytes, layers: list[bytes], *, subject: Doc | None = None, artifact_type: str | None = None) -> Doc:
    document = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": descriptor(OCI_CONFIG, config),
        "layers": [descriptor(OCI_LAYER, layer) for layer in layers],
    }
    if subject is not None:
        document["subject"] = {"mediaType": subject.media_type, "digest": subject.digest, "size": len(subject.raw)}
    if artifact_type is not None:
        document["artifactType"] = artifact_type
    return Doc(canonical(document), OCI_MANIFEST, tuple(sha256(b) for b in [config, *layers]),
               subject=subject.digest if subject else None, artifact_type=artifact_type)


def index(children: list[Doc]) -> Doc:
    document = {
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [{"mediaType": c.media_type, "digest": c.digest, "size": len(c.raw),
                       "platform": {"os": "linux", "architecture": f"arch{i}"}} for i, c in enumerate(children)],
    }
    return Doc(canonical(document), OCI_INDEX, children=tuple(c.digest for c in children))


# -- the server ----------------------------------------------------------------------------------
BASELINE = {
    "description": "stateful model: two empty registries on Professional",
    "clock": {"start": "2026-01-01T00:00:00Z"},
    "account": {"tier": "professional"},
    "registries": [{"name": "acme", "region": "nyc3"}, {"name": "beta", "region": "fra1"}],
}
REGISTRIES = ("acme", "beta")


class World:
    """One docrsim for a whole test module; ``reset()`` brings back the baseline in a few ms."""

    def __init__(self):
        self.sim = Simulation(clock=ManualClock(START), gc_rates=RATES)
        restore(self.sim, [BASELINE])
        self.server = Server(self.sim, api_port=0, registry_port=0, baseline=[BASELINE]).start()
        self.api_url = self.server.api_url
        self.registry_url = self.server.registry_url
        self.service = self.server.endpoints.registry_host
        self.api = self.client()
        self.api.headers["Authorization"] = f"Bearer {API_TOKEN}"

    @staticmethod
    def client() -> requests.Session:
        return requests.Session()

    def reset(self) -> None:
        answer = self.api.post(self.api_url + "/_docrsim/reset")
        assert answer.status_code == 204, answer.text

    def reset_to(self, document: dict) -> None:
        """Replace the world with a scenario document (the manual clock goes to its start)."""
        answer = self.api.post(self.api_url + "/_docrsim/reset", json={"fixture": document})
        assert answer.status_code == 204, answer.text

    def state(self, http: requests.Session | None = None) -> dict:
        answer = (http or self.api).get(self.api_url + "/_docrsim/state")
        assert answer.status_code == 200, answer.text
        return answer.json()

    def token(self, http: requests.Session, registry: str, repos, push: bool) -> requests.Response:
        actions = "pull,push" if push else "pull"
        params = [("service", self.service)] + [("scope", f"repository:{registry}/{r}:{actions}") for r in repos]
        return http.get(self.api_url + "/v2/registry/auth", params=params, auth=(API_TOKEN, API_TOKEN))

    def stop(self) -> None:
        self.api.close()
        self.server.stop()


def claims(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


def oci_code(answer: requests.Response) -> str:
    body = answer.json()
    assert set(body) == {"errors"} and body["errors"], body
    return body["errors"][0]["code"]
