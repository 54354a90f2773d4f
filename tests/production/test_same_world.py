"""Whichever address a request used, the world it leaves is the same."""

from __future__ import annotations

import base64
import hashlib
import json
from urllib.parse import quote

import pytest
import requests

from docrsim.simulator import Simulator

pytestmark = pytest.mark.docrsim(fixture="small-app")
TOKEN = "dop_v1_docrsim"
BEARER = {"Authorization": f"Bearer {TOKEN}"}


def script(api: str, registry: str, service: str, session: requests.Session, advance) -> list:
    """Create, push, delete, collect: what a deploy-and-cleanup pipeline does; its answers,
    addresses left out."""
    seen = []
    seen.append(session.post(f"{api}/v2/registries", headers=BEARER, json={"name": "extra", "region": "fra1"}).status_code)
    creds = session.get(f"{api}/v2/registries/acme/docker-credentials?read_write=true", headers=BEARER).json()
    (key, entry), = creds["auths"].items()
    user, secret = base64.b64decode(entry["auth"]).decode().split(":", 1)
    token = session.get(f"{api}/v2/registry/auth", auth=(user, secret),
                        params={"service": service, "scope": "repository:acme/app:pull,push"}).json()["token"]
    auth = {"Authorization": f"Bearer {token}"}
    config = b'{"architecture":"amd64","os":"linux"}'
    layer = b"layer bytes" * 100
    for blob in (config, layer):
        digest = "sha256:" + hashlib.sha256(blob).hexdigest()
        started = session.post(f"{registry}/v2/acme/app/blobs/uploads/", headers=auth)
        location = started.headers["Location"]
        url = location if location.startswith("http") else registry + location
        seen.append(session.put(url, params={"digest": digest}, data=blob,
                                headers={**auth, "Content-Type": "application/octet-stream"}).status_code)
    manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                           "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                                      "digest": "sha256:" + hashlib.sha256(config).hexdigest(), "size": len(config)},
                           "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                                       "digest": "sha256:" + hashlib.sha256(layer).hexdigest(), "size": len(layer)}]})
    seen.append(session.put(f"{registry}/v2/acme/app/manifests/v1", data=manifest,
                            headers={**auth, "Content-Type": "application/vnd.oci.image.manifest.v1+json"}).status_code)
    seen.append(session.delete(f"{api}/v2/registries/acme/repositories/web/tags/v1", headers=BEARER).status_code)
    run = session.post(f"{api}/v2/registries/acme/garbage-collection", headers=BEARER,
                       json={"type": "untagged manifests and unreferenced blobs"}).json()["garbage_collection"]
    advance()
    runs = session.get(f"{api}/v2/registries/acme/garbage-collections", headers=BEARER).json()["garbage_collections"]
    seen.append([(r["uuid"] == run["uuid"], r["status"], r["blobs_deleted"]) for r in runs])
    return seen


def test_production_names_and_direct_addresses_leave_the_same_world(production, tmp_path):
    through_proxy = script("https://api.digitalocean.com", "https://registry.digitalocean.com",
                           "registry.digitalocean.com", requests.Session(), production.run_until_idle)
    with Simulator(fixture="small-app", clock="manual", seed=0) as direct:  # as the plugin makes its own
        directly = script(direct.api_url, direct.registry_url, direct.registry_host, requests.Session(),
                          direct.run_until_idle)
        assert through_proxy == directly
        assert production.state() == direct.state()
        # The journal too: same operations, statuses, times and request ids, in the same order;
        # only the service a token was asked for names an address.
        def addresses_aside(journal, service):
            return [{**e, "query": e["query"].replace(quote(service, safe=""), "SERVICE")} for e in journal]

        assert addresses_aside(production.journal(), "registry.digitalocean.com") == \
            addresses_aside(direct.journal(), direct.registry_host)
        assert len(direct.journal()) >= 9
