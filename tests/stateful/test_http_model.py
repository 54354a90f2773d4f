"""Both hosts against a reference model: a hypothesis state machine speaking HTTP only.

Every rule is a real request (or a few) to one docrsim on 127.0.0.1: pushes and pulls on the
registry host with JWTs from the token service, tag/manifest/repository deletes and GC
start/get/list/cancel on the DO API, clock steps through the control API. The model
(``tests.stateful.model``) predicts each answer, status and body, before it is sent. After
every step the whole world (``GET /_docrsim/state``) must equal the model, and these hold:

- everything a live tag reaches is stored (and, when a run ends, pulls whole);
- a write lands during an active run only with a push token issued before the run, and only
  before scanning starts; API deletes are refused (409, naming the run) while a run is active;
- the runs' ``blobs_deleted``/``freed_bytes`` add up to exactly what left the store, and a
  cancelled run keeps what it deleted;
- the reported storage is what the store held at the last push or run end;
- every blob link names a stored blob, and each manifest a repository links has its stored
  config and layers linked there too.

The server is started once per module and reset (``POST /_docrsim/reset``) per example.
"""

from __future__ import annotations

import base64
import copy
import os

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule, run_state_machine_as_test

from tests.stateful.model import Registry, Token
from tests.stateful.support import (
    ACTIVE, CANCELLED, CANCELLING, DELETING, GC_TYPES, REGISTRIES, REQUESTED, SCANNING, SIGNATURE, SUCCEEDED, US,
    WAITING, World, api_instant, claims, exact_instant, image, index, instant, nightly, oci_code, sha256,
)

REPOS = ("app", "lib")
TAGS = ("latest", "v1", "v2")
LAYERS = [f"layer-{i}".encode() for i in range(4)]
FAMILIES = ("/v2/registry", "/v2/registries")
UNKNOWN_RUN = "00000000-0000-4000-8000-000000000000"

registries = st.sampled_from(("acme", "acme", "beta"))
repos = st.sampled_from(REPOS)
tags = st.sampled_from(TAGS)
families = st.sampled_from(FAMILIES)


@pytest.fixture(scope="module")
def world():
    instance = World()
    yield instance
    instance.stop()


class HttpModel(RuleBasedStateMachine):
    world: World  # set by the test

    @initialize()
    def start(self):
        self.world.reset()
        self.api = self.world.api
        self.reg_http = self.registry_client
        self.now = 0  # microseconds since the start of the world
        self.model = {name: Registry(name) for name in REGISTRIES}
        self.seen_ended: set[str] = set()
        self.counters: dict[str, tuple[int, int]] = {}
        # Something to collect from the first step: a tagged image and an untagged one sharing
        # a layer, a tagged index over two images, a signature, a dangling blob; then time
        # passes until the push token has expired.
        self.push_token("acme", False)
        base = image(b'{"base":1}', LAYERS[:2])
        self.push_doc("acme", "app", base, [base_config := b'{"base":1}', *LAYERS[:2]], "v1", True)
        old = image(b'{"base":0}', LAYERS[1:3])
        self.push_doc("acme", "app", old, [b'{"base":0}', *LAYERS[1:3]], None, False)
        arm = image(base_config, LAYERS[3:])
        self.push_doc("acme", "lib", arm, [base_config, LAYERS[3]], None, True)
        self.push_doc("acme", "lib", base, LAYERS[:2], None, True)  # its config is linked there now
        self.push_doc("acme", "lib", index([base, arm]), [], "latest", True)
        signature = image(b"{}", [b"signed v1"], subject=base, artifact_type=SIGNATURE)
        self.push_doc("acme", "app", signature, [b"{}", b"signed v1"], None, True)
        self.upload_blob("acme", "app", b"dangling", True)
        self.advance(900)

    # -- plumbing -----------------------------------------------------------------------------
    def api_call(self, method: str, path: str, **kwargs):
        return self.api.request(method, self.world.api_url + path, **kwargs)

    def registry_call(self, method: str, path: str, token: Token | None, **kwargs):
        headers = kwargs.pop("headers", {})
        if token is not None:
            headers["Authorization"] = f"Bearer {token.jwt}"
        return self.reg_http.request(method, self.world.registry_url + path, headers=headers, **kwargs)

    def settle(self) -> None:
        for reg in self.model.values():
            reg.settle(self.now)

    def expect_do_error(self, answer, status: int, error_id: str) -> dict:
        assert answer.status_code == status, (answer.status_code, answer.text)
        body = answer.json()
        assert set(body) == {"id", "message", "request_id"} and body["id"] == error_id, body
        return body

    def expect_read_only(self, answer, registry: str) -> None:
        run = self.model[registry].active_run()
        body = self.expect_do_error(answer, 409, "conflict")
        assert run.uuid in body["message"] and "read-only" in body["message"], body

    def token(self, registry: str, push: bool) -> Token:
        """Ask the token service for a JWT on both repositories and check what it grants."""
        reg = self.model[registry]
        answer = self.world.token(self.api, registry, REPOS, push)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        granted = claims(body["token"])
        writable = reg.active_run() is None
        actions = ["pull", "push"] if push and writable else ["pull"]
        assert granted["access"] == [
            {"type": "repository", "name": f"{registry}/{r}", "actions": actions} for r in REPOS
        ], (granted, writable)
        exp_us = (self.now + 15 * 60 * US) // US * US
        assert granted["exp"] == int(instant(exp_us).timestamp()), granted
        assert body["expires_in"] == 15 * 60
        if "push" in actions:
            reg.grant_push(self.now)
        return Token(body["token"], "push" in actions, self.now, exp_us)

    def read_token(self, registry: str) -> Token:
        reg = self.model[registry]
        if reg.read_token is None or self.now >= reg.read_token.jwt_exp_us:
            reg.read_token = self.token(registry, push=False)
        return reg.read_token

    def expect_write_refused(self, answer, why: str) -> None:
        assert answer.status_code == 401, (why, answer.status_code, answer.text)
        assert oci_code(answer) == "UNAUTHORIZED"
        challenge = answer.headers["WWW-Authenticate"]
        if why == "missing":
            assert "error=" not in challenge, challenge
        else:
            assert f'error="{why}"' in challenge, (why, challenge)

    def write_check(self, registry: str):
        """Whether a push may land now, by the model; a landing push during a run is only
        possible in the drain and only with a token from before the run."""
        reg = self.model[registry]
        allowed, why = reg.writable_token(self.now)
        run = reg.active_run()
        if allowed and run is not None:
            assert run.status in (REQUESTED, WAITING, CANCELLING) and not run.deleting, run.status
            assert reg.write_token.issued_us <= run.created
        return allowed, why

    def upload_blob(self, registry: str, repo: str, data: bytes, monolithic: bool) -> None:
        """Upload one blob (the write check has passed)."""
        reg = self.model[registry]
        digest = sha256(data)
        token = reg.write_token
        if monolithic:
            answer = self.registry_call("POST", f"/v2/{registry}/{repo}/blobs/uploads/", token,
                                        params={"digest": digest}, data=data)
        else:
            started = self.registry_call("POST", f"/v2/{registry}/{repo}/blobs/uploads/", token)
            assert started.status_code == 202, started.text
            answer = self.reg_http.put(self.world.registry_url + started.headers["Location"], params={"digest": digest},
                                       data=data, headers={"Authorization": f"Bearer {token.jwt}"})
        assert answer.status_code == 201, answer.text
        assert answer.headers["Docker-Content-Digest"] == digest
        reg.store_blob(data, digest, repo)

    def push_manifest(self, registry: str, repo: str, doc, tag: str | None) -> None:
        reg = self.model[registry]
        reference = tag or doc.digest
        answer = self.registry_call("PUT", f"/v2/{registry}/{repo}/manifests/{reference}", reg.write_token,
                                    data=doc.raw, headers={"Content-Type": doc.media_type})
        assert answer.status_code == 201, answer.text
        assert answer.headers["Docker-Content-Digest"] == doc.digest
        assert answer.headers.get("OCI-Subject") == doc.subject
        reg.put_manifest(repo, doc, tag, self.now)

    def push_token(self, registry: str, fresh: bool) -> None:
        """As docker does: fetch a push token when holding none, or (``fresh``) an expired one."""
        reg = self.model[registry]
        token = reg.write_token
        if token is None or (fresh and self.now >= token.jwt_exp_us):
            reg.write_token = self.token(registry, push=True)

    def push_doc(self, registry: str, repo: str, doc, blobs: list[bytes], tag, monolithic: bool) -> None:
        allowed, why = self.write_check(registry)
        if not allowed:
            token = self.model[registry].write_token if why != "missing" else None
            if blobs:
                answer = self.registry_call("POST", f"/v2/{registry}/{repo}/blobs/uploads/", token)
            else:
                answer = self.registry_call("PUT", f"/v2/{registry}/{repo}/manifests/{tag or doc.digest}", token,
                                            data=doc.raw, headers={"Content-Type": doc.media_type})
            self.expect_write_refused(answer, why)
            return
        for data in blobs:
            self.upload_blob(registry, repo, data, monolithic)
        # A blob held for another repository only, or an index's child deleted since (or never
        # pushed here): the registry wants everything linked in this repository first.
        missing = self.model[registry].first_unlinked(repo, doc)
        if missing is not None:
            answer = self.registry_call("PUT", f"/v2/{registry}/{repo}/manifests/{tag or doc.digest}",
                                        self.model[registry].write_token, data=doc.raw,
                                        headers={"Content-Type": doc.media_type})
            assert answer.status_code == 400 and oci_code(answer) == "MANIFEST_BLOB_UNKNOWN", answer.text
            assert answer.json()["errors"][0]["detail"]["digest"] == missing
            return
        self.push_manifest(registry, repo, doc, tag)

    def linked(self, registry: str, repo: str, *, images_only: bool = False) -> list[str]:
        reg = self.model[registry]
        repository = reg.repos.get(repo)
        if repository is None:
            return []
        return sorted(d for d in repository.links if not (images_only and reg.docs[d].children))

    # -- tokens -------------------------------------------------------------------------------
    @rule(registry=registries)
    def get_push_token(self, registry):
        self.model[registry].write_token = self.token(registry, push=True)

    # -- pushes -------------------------------------------------------------------------------
    @rule(fresh=st.booleans(), registry=registries, repo=repos, label=st.integers(0, 3),
          layers=st.lists(st.sampled_from(LAYERS), min_size=1, max_size=2, unique=True),
          tag=st.none() | tags, monolithic=st.sampled_from((True, True, True, False)))
    def push_image(self, registry, repo, label, layers, tag, monolithic, fresh):
        self.push_token(registry, fresh)
        config = f'{{"label":{label}}}'.encode()
        doc = image(config, layers)
        self.push_doc(registry, repo, doc, [config, *layers], tag, monolithic)

    @rule(fresh=st.booleans(), registry=registries, repo=repos, tag=st.none() | tags, data=st.data())
    def push_index(self, registry, repo, tag, data, fresh):
        self.push_token(registry, fresh)
        images = self.linked(registry, repo, images_only=True)
        if not images:
            return
        chosen = data.draw(st.lists(st.sampled_from(images), min_size=1, max_size=2, unique=True))
        doc = index([self.model[registry].docs[d] for d in chosen])
        self.push_doc(registry, repo, doc, [], tag, True)

    @rule(fresh=st.booleans(), registry=registries, repo=repos, data=st.data(), label=st.integers(0, 5))
    def push_referrer(self, registry, repo, data, label, fresh):
        self.push_token(registry, fresh)
        reg = self.model[registry]
        known = sorted(reg.docs)
        if not known:
            return
        subject = reg.docs[data.draw(st.sampled_from(known))]  # linked or not: a subject may be absent
        signature = f"signature {label}".encode()
        config = b"{}"
        doc = image(config, [signature], subject=subject, artifact_type=SIGNATURE)
        self.push_doc(registry, repo, doc, [config, signature], None, True)

    @rule(fresh=st.booleans(), registry=registries, repo=repos, tag=tags, data=st.data())
    def retag(self, registry, repo, tag, data, fresh):
        self.push_token(registry, fresh)
        linked = self.linked(registry, repo)
        if not linked:
            return
        doc = self.model[registry].docs[data.draw(st.sampled_from(linked))]
        self.push_doc(registry, repo, doc, [], tag, True)

    @rule(fresh=st.booleans(), registry=registries, repo=repos, label=st.integers(0, 20), monolithic=st.booleans())
    def push_dangling_blob(self, registry, repo, label, monolithic, fresh):
        self.push_token(registry, fresh)
        allowed, why = self.write_check(registry)
        data = f"dangling {label}".encode()
        if not allowed:
            token = self.model[registry].write_token if why != "missing" else None
            answer = self.registry_call("POST", f"/v2/{registry}/{repo}/blobs/uploads/", token,
                                        params={"digest": sha256(data)}, data=data)
            self.expect_write_refused(answer, why)
            return
        self.upload_blob(registry, repo, data, monolithic)

    @rule(fresh=st.booleans(), registry=registries, repo=repos, tag=st.none() | tags, data=st.data())
    def push_known_image_without_its_blobs(self, registry, repo, tag, data, fresh):
        """Push a manifest pushed before, perhaps elsewhere, uploading nothing: it lands only
        if its blobs are linked in this repository."""
        self.push_token(registry, fresh)
        reg = self.model[registry]
        known = sorted(d for d, doc in reg.docs.items() if not doc.children)
        if not known:
            return
        self.push_doc(registry, repo, reg.docs[data.draw(st.sampled_from(known))], [], tag, True)

    @rule(fresh=st.booleans(), registry=registries, repo=repos, source=repos, data=st.data())
    def mount_blob(self, registry, repo, source, data, fresh):
        """Mount a blob ever stored from a repository: 201 if the source links it, else an upload."""
        self.push_token(registry, fresh)
        reg = self.model[registry]
        known = sorted(reg.known_blobs)
        if not known:
            return
        digest = data.draw(st.sampled_from(known))
        allowed, why = self.write_check(registry)
        answer = self.registry_call("POST", f"/v2/{registry}/{repo}/blobs/uploads/",
                                    reg.write_token if why != "missing" else None,
                                    params={"mount": digest, "from": f"{registry}/{source}"})
        if not allowed:
            self.expect_write_refused(answer, why)
            return
        if reg.mount(repo, digest, source):
            assert answer.status_code == 201, answer.text
            assert answer.headers["Docker-Content-Digest"] == digest
            return
        assert answer.status_code == 202, answer.text
        ended = self.reg_http.delete(self.world.registry_url + answer.headers["Location"],
                                     headers={"Authorization": f"Bearer {reg.write_token.jwt}"})
        assert ended.status_code == 204, ended.text

    # -- pulls --------------------------------------------------------------------------------
    def pull(self, registry: str, repo: str, reference: str, whole: bool = True) -> None:
        reg = self.model[registry]
        token = self.read_token(registry)
        answer = self.registry_call("GET", f"/v2/{registry}/{repo}/manifests/{reference}", token)
        repository = reg.repos.get(repo)
        if repository is None:
            assert answer.status_code == 404 and oci_code(answer) == "NAME_UNKNOWN", answer.text
            return
        digest = repository.tags[reference][0] if reference in repository.tags else reference
        if digest not in repository.links:
            assert answer.status_code == 404 and oci_code(answer) == "MANIFEST_UNKNOWN", answer.text
            return
        doc = reg.docs[digest]
        assert answer.status_code == 200, answer.text
        assert answer.content == doc.raw
        assert answer.headers["Docker-Content-Digest"] == digest
        assert answer.headers["Content-Type"] == doc.media_type
        if not whole:
            return
        for ref in doc.refs:
            blob = self.registry_call("GET", f"/v2/{registry}/{repo}/blobs/{ref}", token)
            assert blob.status_code == 200, blob.text
            assert sha256(blob.content) == ref
        for child in doc.children:
            self.pull(registry, repo, child)

    @rule(registry=registries, repo=repos, data=st.data(),
          kind=st.sampled_from(("tag", "digest", "referrers", "HEAD blob", "GET blob")))
    def read(self, registry, repo, data, kind):
        """A pull by tag (whole image) or digest, a referrers list, or a blob."""
        reg = self.model[registry]
        if kind == "tag":
            self.pull(registry, repo, data.draw(tags))
            return
        known = sorted(reg.known_blobs if kind.endswith("blob") else reg.docs)
        if not known:
            return
        digest = data.draw(st.sampled_from(known))
        if kind == "digest":
            self.pull(registry, repo, digest, whole=False)
        elif kind == "referrers":
            self.check_referrers(registry, repo, digest)
        else:
            self.check_blob(registry, repo, digest, kind.split()[0])

    def check_referrers(self, registry, repo, subject):
        reg = self.model[registry]
        answer = self.registry_call("GET", f"/v2/{registry}/{repo}/referrers/{subject}", self.read_token(registry))
        repository = reg.repos.get(repo)
        assert answer.status_code == 200, answer.text  # an unknown repository has no referrers
        expected = [
            {"mediaType": reg.docs[d].media_type, "digest": d, "size": len(reg.docs[d].raw),
             "artifactType": reg.docs[d].artifact_type}
            for d in sorted(repository.links if repository else ()) if reg.docs[d].subject == subject
        ]
        assert answer.json()["manifests"] == expected

    def check_blob(self, registry, repo, digest, method):
        reg = self.model[registry]
        answer = self.registry_call(method, f"/v2/{registry}/{repo}/blobs/{digest}", self.read_token(registry))
        if reg.has_blob(repo, digest):
            assert answer.status_code == 200, answer.text
            assert int(answer.headers["Content-Length"]) == len(reg.blobs[digest])
            if method == "GET":
                assert answer.content == reg.blobs[digest]
        else:
            assert answer.status_code == 404
            if method == "GET":
                assert oci_code(answer) == "BLOB_UNKNOWN"

    # -- DO API deletes -----------------------------------------------------------------------
    @rule(registry=registries, repo=repos, tag=tags, family=families)
    def delete_tag(self, registry, repo, tag, family):
        reg = self.model[registry]
        answer = self.api_call("DELETE", f"{family}/{registry}/repositories/{repo}/tags/{tag}")
        repository = reg.repos.get(repo)
        if repository is None:
            self.expect_do_error(answer, 404, "not_found")
        elif reg.active_run() is not None:
            self.expect_read_only(answer, registry)
        elif tag not in repository.tags:
            self.expect_do_error(answer, 404, "not_found")
        else:
            assert answer.status_code == 204, answer.text
            del repository.tags[tag]

    @rule(registry=registries, repo=repos, data=st.data(), family=families)
    def delete_manifest(self, registry, repo, data, family):
        reg = self.model[registry]
        known = sorted(reg.docs)
        if not known:
            return
        digest = data.draw(st.sampled_from(known))
        answer = self.api_call("DELETE", f"{family}/{registry}/repositories/{repo}/digests/{digest}")
        repository = reg.repos.get(repo)
        if repository is None:
            self.expect_do_error(answer, 404, "not_found")
        elif reg.active_run() is not None:
            self.expect_read_only(answer, registry)
        elif digest not in repository.links:
            self.expect_do_error(answer, 404, "not_found")
        else:
            assert answer.status_code == 204, answer.text
            del repository.links[digest]
            repository.tags = {t: v for t, v in repository.tags.items() if v[0] != digest}

    @rule(registry=registries, repo=repos)
    def delete_repository(self, registry, repo):
        reg = self.model[registry]
        answer = self.api_call("DELETE", f"/v2/registries/{registry}/repositories/{repo}")
        if repo not in reg.repos:
            self.expect_do_error(answer, 404, "not_found")
        elif reg.active_run() is not None:
            self.expect_read_only(answer, registry)
        else:
            assert answer.status_code == 204, answer.text
            reg.delete_repository(repo)

    # -- garbage collection -------------------------------------------------------------------
    def run_body(self, registry: str, run) -> dict:
        return {"uuid": run.uuid, "registry_name": registry, "status": run.status, "type": run.type,
                "created_at": api_instant(run.created), "updated_at": api_instant(run.updated),
                "blobs_deleted": run.blobs_deleted, "freed_bytes": run.freed_bytes}

    @rule(registry=registries, gc_type=st.sampled_from(GC_TYPES), family=families)
    def start_gc(self, registry, gc_type, family):
        reg = self.model[registry]
        running = reg.active_run()
        answer = self.api_call("POST", f"{family}/{registry}/garbage-collection", json={"type": gc_type})
        if running is not None:
            body = self.expect_do_error(answer, 409, "conflict")
            assert running.uuid in body["message"], body
            return
        assert answer.status_code == 201, answer.text
        body = answer.json()["garbage_collection"]
        assert body["uuid"] not in {r.uuid for r in reg.runs}
        run = reg.start(body["uuid"], gc_type, self.now)
        assert body == self.run_body(registry, run)

    @rule(registry=registries, family=families, right_uuid=st.sampled_from((True, True, True, False)))
    def cancel_gc(self, registry, family, right_uuid):
        reg = self.model[registry]
        run = reg.active_run()
        uuid = run.uuid if run is not None and right_uuid else (reg.runs[-1].uuid if reg.runs and right_uuid else UNKNOWN_RUN)
        answer = self.api_call("PUT", f"{family}/{registry}/garbage-collection/{uuid}", json={"cancel": True})
        if run is None or uuid != run.uuid:
            self.expect_do_error(answer, 404, "not_found")
            return
        assert answer.status_code == 200, answer.text
        run.cancel(self.now)
        assert answer.json()["garbage_collection"] == self.run_body(registry, run)

    @rule(registry=registries, gc_type=st.sampled_from(GC_TYPES), data=st.data(),
          steps=st.lists(st.sampled_from((0.25, 0.5, 1, 1, 2, 3, 120, 300)), min_size=1, max_size=6),
          cancel_after=st.none() | st.integers(0, 5),
          pushers=st.lists(st.sampled_from((1, 60, 300)), max_size=3))
    def watch_a_run(self, registry, gc_type, data, steps, cancel_after, pushers):
        """Start a run (unless one is active) and follow it in small steps, checking the whole
        world at each, trying a write or a delete now and then, perhaps cancelling it. Before
        the start, ``pushers`` take push tokens some seconds apart, as CI jobs would."""
        for seconds in pushers:
            self.get_push_token(registry)
            self.advance(seconds)
        if self.model[registry].active_run() is None:
            self.start_gc(registry, gc_type, FAMILIES[1])
        for i, seconds in enumerate(steps):
            self.advance(seconds)
            self.world_matches_model()
            attempt = data.draw(st.sampled_from(("nothing", "nothing", "push", "delete")))
            if attempt == "push":
                self.push_dangling_blob(registry, "app", i, True, data.draw(st.booleans()))
            elif attempt == "delete":
                self.delete_tag(registry, "app", "v1", FAMILIES[1])
            if cancel_after == i:
                self.cancel_gc(registry, FAMILIES[0], True)
                self.world_matches_model()

    @rule(registry=registries, family=families)
    def get_gc(self, registry, family):
        reg = self.model[registry]
        run = reg.active_run()
        answer = self.api_call("GET", f"{family}/{registry}/garbage-collection")
        if run is None:
            self.expect_do_error(answer, 404, "not_found")
        else:
            assert answer.status_code == 200, answer.text
            assert answer.json()["garbage_collection"] == self.run_body(registry, run)
        listed = self.api_call("GET", f"{family}/{registry}/garbage-collections", params={"per_page": 200})
        assert listed.status_code == 200, listed.text
        assert listed.json()["garbage_collections"] == [self.run_body(registry, r) for r in reversed(reg.runs)]

    # -- time ---------------------------------------------------------------------------------
    @rule(seconds=st.sampled_from((0.25, 0.5, 1, 2)))
    def tick(self, seconds):
        """Small steps land inside a run's phases (a link scans in a second, an object goes in a second)."""
        self.advance(seconds)

    @rule(seconds=st.sampled_from((0.5, 1, 3, 5)))
    def tick_more(self, seconds):
        self.advance(seconds)

    @rule(seconds=st.sampled_from((30, 300, 600, 901)))
    def advance(self, seconds):
        answer = self.api_call("POST", "/_docrsim/clock", json={"advance_seconds": seconds})
        assert answer.status_code == 200, answer.text
        self.now += int(seconds * US)
        self.settle()
        assert answer.json() == {"now": exact_instant(self.now), "kind": "manual"}

    @precondition(lambda self: any(reg.active_run() for reg in self.model.values()))
    @rule()
    def until_idle(self):
        answer = self.api_call("POST", "/_docrsim/clock", json={"until_idle": True})
        assert answer.status_code == 200, answer.text
        # The model finds the instant on its own: step its runs' events until none is active.
        ends = []
        for reg in self.model.values():
            run = reg.active_run()
            if run is not None:
                ends.append(self.end_of(run))
        self.now = max(ends)
        self.settle()
        assert all(reg.active_run() is None for reg in self.model.values())
        assert answer.json() == {"now": exact_instant(self.now), "kind": "manual"}

    def end_of(self, run) -> int:
        """When ``run`` ends if nothing else happens (no write can land once it scans; a push
        token still valid cannot be used by anyone here while the clock jumps)."""
        if run.status == CANCELLING:
            return run.stop_at
        if run.status == DELETING:
            return run.ends_at
        # Ask a throw-away copy of the model: step to each phase boundary in turn.
        owner = next(reg for reg in self.model.values() if run in reg.runs)
        twin_reg = copy.deepcopy(owner)
        twin = next(r for r in twin_reg.runs if r.uuid == run.uuid)
        t = self.now
        while twin.active:
            t = {REQUESTED: twin.waiting_at, WAITING: twin.scanning_at, SCANNING: twin.deleting_at}.get(twin.status)
            if t is None:
                t = twin.ends_at if twin.status == DELETING else twin.stop_at
            twin.advance(t, twin_reg)
        return twin.updated

    # -- invariants ---------------------------------------------------------------------------
    @invariant()
    def world_matches_model(self):
        state = self.world.state(self.api)
        assert state["clock"]["now"] == exact_instant(self.now)
        by_name = {r["name"]: r for r in state["registries"]}
        assert sorted(by_name) == sorted(REGISTRIES)
        for name, reg in self.model.items():
            self.check_registry(by_name[name], reg)

    def check_registry(self, seen: dict, reg: Registry) -> None:
        # The store, in its order, byte for byte.
        assert [(b["digest"], b["size"]) for b in seen["blobs"]] == [(d, len(v)) for d, v in reg.blobs.items()]
        assert [base64.b64decode(b["base64"]) for b in seen["blobs"]] == list(reg.blobs.values())
        # Links and tags.
        expected_repos = [
            {"name": name, "created_at": exact_instant(repo.created_us),
             "manifests": [{"digest": d, "media_type": reg.docs[d].media_type, "updated_at": exact_instant(at)}
                           for d, at in sorted(repo.links.items())],
             "tags": [{"tag": t, "manifest_digest": d, "updated_at": exact_instant(at)}
                      for t, (d, at) in sorted(repo.tags.items())]}
            for name, repo in sorted(reg.repos.items())
        ]
        assert seen["repositories"] == expected_repos
        assert seen["blob_links"] == [{"repository": name, "digests": sorted(linked)}
                                      for name, linked in sorted(reg.blob_links.items()) if linked]
        # Runs, newest first, and the push tokens a run would wait for.
        runs = [(r["uuid"], r["type"], r["status"], r["created_at"], r["updated_at"], r["blobs_deleted"], r["freed_bytes"])
                for r in seen["garbage_collections"]]
        assert runs == [(r.uuid, r.type, r.status, exact_instant(r.created), exact_instant(r.updated),
                         r.blobs_deleted, r.freed_bytes) for r in reversed(reg.runs)]
        assert [(t["issued_at"], t["expires_at"]) for t in seen["write_tokens"]] == [
            (exact_instant(i), exact_instant(e)) for i, e in reg.outstanding(self.now)]
        assert seen["storage_usage_bytes"] == reg.usage

        # The safety properties, stated on what the server reported.
        stored = {b["digest"] for b in seen["blobs"]}
        live = reg.live_objects()
        assert live <= stored, f"objects a live tag reaches were deleted: {sorted(live - stored)}"
        removed_bytes = reg.added_bytes - sum(b["size"] for b in seen["blobs"])
        removed_count = reg.added_count - len(seen["blobs"])
        assert sum(r["freed_bytes"] for r in seen["garbage_collections"]) == removed_bytes
        assert sum(r["blobs_deleted"] for r in seen["garbage_collections"]) == removed_count
        links = {entry["repository"]: set(entry["digests"]) for entry in seen["blob_links"]}
        assert set().union(*links.values()) <= stored, "a link names a blob the store lacks"
        for repo in seen["repositories"]:
            for manifest in repo["manifests"]:
                needed = set(reg.docs[manifest["digest"]].refs) & stored
                assert needed <= links.get(repo["name"], set()), (repo["name"], manifest["digest"])
        active = [r for r in seen["garbage_collections"] if r["status"] in ACTIVE]
        assert len(active) <= 1
        if not active:
            assert seen["storage_usage_bytes"] == sum(b["size"] for b in seen["blobs"])
        for r in seen["garbage_collections"]:
            before = self.counters.get(r["uuid"], (0, 0))
            assert (r["blobs_deleted"], r["freed_bytes"]) >= before, "a run's counters went down"
            self.counters[r["uuid"]] = (r["blobs_deleted"], r["freed_bytes"])
        # When a run ends, everything a tag reaches still pulls.
        for run in reg.runs:
            if run.status in (SUCCEEDED, CANCELLED) and run.uuid not in self.seen_ended:
                self.seen_ended.add(run.uuid)
                self.pull_live(reg)

    def pull_live(self, reg: Registry) -> None:
        """GET every tag's manifest, then HEAD each blob some tag reaches, once."""
        token = self.read_token(reg.name)
        blobs: set[tuple[str, str]] = set()
        for repo_name, repo in sorted(reg.repos.items()):
            for tag in sorted(repo.tags):
                self.pull(reg.name, repo_name, tag, whole=False)
            for digest in self.model[reg.name].protected(repo_name):
                blobs.update((repo_name, ref) for ref in reg.docs[digest].refs)
        for repo_name, digest in sorted(blobs):
            answer = self.registry_call("HEAD", f"/v2/{reg.name}/{repo_name}/blobs/{digest}", token)
            assert answer.status_code == 200, f"{digest}, which a tag reaches in {repo_name}, does not pull there"

def test_both_hosts_follow_the_model(world):
    class Machine(HttpModel):
        pass

    Machine.world = world
    Machine.registry_client = world.client()
    big = nightly()
    run_state_machine_as_test(Machine, settings=settings(
        max_examples=2000 if big else int(os.environ.get("STATEFUL_EXAMPLES", 200)), stateful_step_count=100 if big else 40, deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.function_scoped_fixture],
    ))
