"""What the bad-input and security tests share: a docrsim on the fuzzing world, the registry
JWTs a test needs (genuine, narrow, forged, expired, for another host), an upload in
progress, raw requests whose paths go out exactly as written, and the state document."""

from __future__ import annotations

import http.client
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

import jwt
import requests

from docrsim.core.registry_auth import ISSUER, TOKEN_TTL, Principal, Scope
from tests.conftest import Live
from tests.reliability import worlds

API_TOKEN = "dop_v1_reliability"
UPLOADED = b"12345"  # what the open upload holds when a case starts


def reset(live: Live) -> None:
    """Back to the fuzzing world, exactly (registry JWTs from before are refused after)."""
    live.sim.import_state(worlds.fuzz_world()[0])
    live.server.api_app.config["DOCRSIM_RATELIMIT"].clear()


def state(live: Live) -> dict:
    answer = live.http.get(live.url("/_docrsim/state"))
    assert answer.status_code == 200
    return answer.json()


def registry_host(live: Live) -> str:
    return live.registry_url.split("://", 1)[1]


def token(live: Live, *scopes: str, auth=(API_TOKEN, API_TOKEN)) -> str:
    """A JWT from the token service (a DO API token as user and password reaches every registry)."""
    answer = requests.get(live.url("/v2/registry/auth"), auth=auth,
                          params=[("service", registry_host(live))] + [("scope", s) for s in scopes])
    assert answer.status_code == 200, answer.text
    return answer.json()["token"]


def acme_credential(live: Live) -> tuple[str, str]:
    """(user, secret) of the read-write docker credential the world holds for ``acme`` only."""
    [credential] = [c for c in live.sim.credentials.all() if c.registry == "acme"]
    return credential.username, credential.secret


def _claims_for(live: Live, *, service: str, age: timedelta = timedelta(0), access=()) -> str:
    """A genuinely signed JWT granted ``age`` ago for ``service`` (pull access only, so no
    write token is recorded)."""
    sim = live.sim
    principal = Principal(API_TOKEN, None, False)
    granted = [Scope("repository", name, ("pull",)) for name in access]
    with sim.transaction() as now:
        return sim.registry_tokens.issue(sim, principal, granted, service, now - age)["token"]


@dataclass
class Tokens:
    """The JWTs one case may present to the registry host."""

    push: str  # pull, push and delete on acme/web
    pull: str  # pull on acme/web
    wide: str  # pull and push on acme/web and acme/api
    acme_only: str  # from acme's credential, asked for beta/api too: only acme/web granted
    expired: str  # pull on acme/web, granted a whole lifetime ago
    other_host: str  # pull on acme/web, for another registry host (audience)
    forged: str  # push's claims signed with another key
    unsigned: str  # push's claims with alg "none"


def make_tokens(live: Live) -> Tokens:
    push = token(live, "repository:acme/web:pull,push,delete")
    payload = jwt.decode(push, options={"verify_signature": False})
    return Tokens(
        push=push,
        pull=token(live, "repository:acme/web:pull"),
        wide=token(live, "repository:acme/web:pull,push", "repository:acme/api:pull,push"),
        acme_only=token(live, "repository:acme/web:pull,push", "repository:beta/api:pull,push",
                        auth=acme_credential(live)),
        expired=_claims_for(live, service=registry_host(live), age=TOKEN_TTL + timedelta(seconds=1),
                            access=["acme/web"]),
        other_host=_claims_for(live, service="registry.example.com", access=["acme/web"]),
        forged=jwt.encode(payload, b"a key that is not docrsim's, long enough for HS256", algorithm="HS256"),
        unsigned=jwt.encode({**payload, "iss": ISSUER}, None, algorithm="none"),
    )


def open_upload(live: Live, bearer: str) -> str:
    """Start an upload on acme/web holding UPLOADED; its path (Location)."""
    headers = {"Authorization": f"Bearer {bearer}"}
    started = requests.post(live.registry_url + "/v2/acme/web/blobs/uploads/", headers=headers)
    assert started.status_code == 202, started.text
    location = started.headers["Location"]
    chunk = requests.patch(live.registry_url + location, data=UPLOADED,
                           headers={**headers, "Content-Range": f"0-{len(UPLOADED) - 1}",
                                    "Content-Type": "application/octet-stream"})
    assert chunk.status_code == 202, chunk.text
    return location


def upload_offset(live: Live, location: str, bearer: str) -> str | None:
    """The Range an upload reports, or None once it is gone."""
    answer = requests.get(live.registry_url + location, headers={"Authorization": f"Bearer {bearer}"})
    if answer.status_code == 404:
        return None
    assert answer.status_code == 204, answer.text
    return answer.headers["Range"]


@dataclass
class RawAnswer:
    """An answer to a request sent with http.client: the path exactly as written."""

    status_code: int
    headers: dict
    content: bytes

    def json(self):
        import json

        return json.loads(self.content)


def raw_request(base_url: str, method: str, path: str, *, body: bytes | None = None,
                headers: dict | None = None) -> RawAnswer:
    """requests (urllib3) removes ``..`` segments from paths; http.client sends them as they are."""
    parts = urlsplit(base_url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return RawAnswer(response.status, {k.lower(): v for k, v in response.getheaders()}, response.read())
    finally:
        connection.close()
