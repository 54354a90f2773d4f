"""Killed at any instant, ``serve --state`` gives back exactly what it acknowledged.

A seeded script of one-request changes (token requests, blob uploads, manifest pushes, tag and
manifest deletes, docker credentials, garbage collections started and cancelled, clock moves)
runs against ``docrsim serve --state DIR`` while the test kills it with SIGKILL after a seeded
random delay, restarts it on the same folder (now and then killing that start too, while it
loads the folder or compacts it), and goes on, again and again.

A replica (an in-process docrsim with the same start) is sent each request after the served
one answered it, so it always holds the world as of the last acknowledged response. After each
restart the served world must be that world, or, when the kill came while a request was in
flight, that world with the in-flight request applied whole (which the replica then gets too).
Nothing acknowledged is lost, nothing is half applied.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import random
import signal
import threading
import time

import requests

from docrsim.core.clock import ManualClock
from docrsim.core.state import Simulation
from docrsim.http.control import restore
from docrsim.scenarios import library
from docrsim.server import Server
from tests.served import ServedProcess
from tests.stateful.support import nightly

KILLS = int(os.environ.get("CRASH_KILLS", 400 if nightly() else 100))
SEED = 20261204
TOKEN = "dop_v1_crash"
REGISTRY = "acme"
REPOS = ("web", "tools/migrate", "crash")
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
TIMEOUT = 30


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


class Client:
    """One docrsim's two hosts, with the push token last issued by it."""

    def __init__(self, api: str, registry: str):
        self.api, self.registry = api.rstrip("/"), registry.rstrip("/")
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Bearer {TOKEN}"
        self.jwt = None

    def send(self, op: tuple) -> int:
        """Make the request ``op`` describes; its status (the world changes or it is refused)."""
        kind, *args = op
        api = f"{self.api}/v2/registries/{REGISTRY}"
        if kind == "token":
            scope = " ".join(f"repository:{REGISTRY}/{r}:pull,push" for r in REPOS)
            answer = self.http.get(f"{self.api}/v2/registry/auth", params={"service": self.registry.split("//")[1],
                                   "scope": scope}, auth=(TOKEN, TOKEN), timeout=TIMEOUT)
            if answer.status_code == 200:
                self.jwt = answer.json()["token"]
            return answer.status_code
        if kind == "blob":
            repo, data = args
            return self._registry("POST", f"/v2/{REGISTRY}/{repo}/blobs/uploads/", params={"digest": sha256(data)},
                                  data=data, headers={"Content-Type": "application/octet-stream"})
        if kind == "manifest":
            repo, tag, raw = args
            return self._registry("PUT", f"/v2/{REGISTRY}/{repo}/manifests/{tag}", data=raw,
                                  headers={"Content-Type": OCI_MANIFEST})
        if kind == "untag":
            repo, tag = args
            return self.http.delete(f"{api}/repositories/{_quoted(repo)}/tags/{tag}", timeout=TIMEOUT).status_code
        if kind == "unmanifest":
            repo, digest = args
            return self.http.delete(f"{api}/repositories/{_quoted(repo)}/digests/{digest}",
                                    timeout=TIMEOUT).status_code
        if kind == "credentials":
            return self.http.get(f"{api}/docker-credentials", params={"read_write": "true"},
                                 timeout=TIMEOUT).status_code
        if kind == "gc":
            return self.http.post(f"{api}/garbage-collection", json={"type": args[0]}, timeout=TIMEOUT).status_code
        if kind == "cancel":
            active = self.http.get(f"{api}/garbage-collection", timeout=TIMEOUT)
            if active.status_code != 200:
                return active.status_code
            uuid = active.json()["garbage_collection"]["uuid"]
            return self.http.put(f"{api}/garbage-collection/{uuid}", json={"cancel": True},
                                 timeout=TIMEOUT).status_code
        if kind == "clock":
            return self.http.post(f"{self.api}/_docrsim/clock", json={"advance_seconds": args[0]},
                                  timeout=TIMEOUT).status_code
        raise AssertionError(f"unknown step {kind}")

    def _registry(self, method, path, **kwargs) -> int:
        headers = kwargs.pop("headers", {})
        if self.jwt:
            headers["Authorization"] = f"Bearer {self.jwt}"
        return self.http.request(method, self.registry + path, headers=headers, timeout=TIMEOUT, **kwargs).status_code

    def state(self) -> dict:
        answer = self.http.get(f"{self.api}/_docrsim/state", timeout=TIMEOUT)
        assert answer.status_code == 200, answer.text
        return answer.json()


def _quoted(repo: str) -> str:
    return repo.replace("/", "%2F")


def script(rng: random.Random):
    """An endless seeded stream of steps, mostly ones that change something."""
    manifests: dict[str, list[str]] = {repo: [] for repo in REPOS}
    counter = 0
    yield ("token",)
    while True:
        counter += 1
        repo = rng.choice(REPOS)
        roll = rng.random()
        if roll < 0.35:  # an image: its config and layer, then its manifest, a request each
            config, layer = b'{"n":%d}' % counter, f"layer {counter} ".encode() * rng.randint(1, 2000)
            yield ("blob", repo, config)
            yield ("blob", repo, layer)
            raw = json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                              "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                                         "digest": sha256(config), "size": len(config)},
                              "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                                          "digest": sha256(layer), "size": len(layer)}]},
                             sort_keys=True).encode()
            manifests[repo].append(sha256(raw))
            yield ("manifest", repo, rng.choice(("latest", "v1", "v2", f"build-{counter}")), raw)
        elif roll < 0.45:
            yield ("blob", repo, f"dangling {counter}".encode())
        elif roll < 0.55:
            yield ("untag", repo, rng.choice(("latest", "v1", "v2", "2025.12")))
        elif roll < 0.60 and manifests[repo]:
            yield ("unmanifest", repo, rng.choice(manifests[repo]))
        elif roll < 0.65:
            yield ("credentials",)
        elif roll < 0.70:
            yield ("gc", rng.choice(("unreferenced blobs only", "untagged manifests only",
                                     "untagged manifests and unreferenced blobs")))
        elif roll < 0.74:
            yield ("cancel",)
        elif roll < 0.90:
            yield ("clock", rng.choice((0.5, 2, 30, 120, 901)))
        else:
            yield ("token",)


class Replica:
    """The world as of the last acknowledged response: an in-process docrsim started as the
    served one was, sent each request once the served one has answered it."""

    def __init__(self):
        self.sim = Simulation(clock=ManualClock(), seed=0)
        restore(self.sim, [library.read("small-app")])
        self.server = Server(self.sim, api_port=0, registry_port=0).start()
        self.client = Client(self.server.api_url, self.server.registry_url)

    def state(self) -> dict:
        return self.sim.export_state()

    def stop(self):
        self.server.stop()


def start_served(folder) -> tuple[ServedProcess, Client]:
    served = ServedProcess("--clock", "manual", "--fixture", "small-app", "--state", str(folder))
    urls = served.wait_ready()
    return served, Client(urls["API host"], urls["registry host"])


def blob_bytes(state: dict) -> dict:
    """A document's blobs as digest -> bytes, to compare without the base64 text."""
    return {b["digest"]: base64.b64decode(b["base64"]) for r in state["registries"] for b in r["blobs"]
            if "base64" in b}


def run_until_killed(client: Client, replica: Replica, steps, served: ServedProcess, delay: float) -> dict:
    """Send steps until the served docrsim is killed ``delay`` seconds in; what was in flight."""
    flight: dict = {"step": None, "acknowledged": 0, "landed": {}}

    def work():
        while True:
            step = flight["step"] = next(steps) if flight["step"] is None else flight["step"]
            try:
                status = client.send(step)
            except requests.ConnectionError:
                return
            assert replica.client.send(step) == status, (step[0], status)
            flight["step"] = None
            flight["acknowledged"] += 1
            if status < 300:
                flight["landed"][step[0]] = flight["landed"].get(step[0], 0) + 1

    worker = threading.Thread(target=work, daemon=True)
    worker.start()
    worker.join(delay)
    os.kill(served.proc.pid, signal.SIGKILL)
    worker.join(TIMEOUT)
    assert not worker.is_alive()
    served.kill()
    return flight


def test_a_killed_docrsim_restarts_with_exactly_what_it_acknowledged(tmp_path):
    rng = random.Random(SEED)
    steps = script(random.Random(SEED + 1))
    folder = tmp_path / "state"
    replica = Replica()
    served, client = start_served(folder)
    applied_in_flight = acknowledged = starts_killed = 0
    landed: dict[str, int] = {}
    try:
        assert client.state() == replica.state()
        for kill in range(KILLS):
            flight = run_until_killed(client, replica, steps, served, rng.uniform(0.0, 0.25))
            acknowledged += flight["acknowledged"]
            for kind, count in flight["landed"].items():
                landed[kind] = landed.get(kind, 0) + count
            if rng.random() < 0.15:
                # Killed again while starting: loading, or folding the log into world.json.
                starting = ServedProcess("--clock", "manual", "--state", str(folder))
                time.sleep(rng.uniform(0.0, 0.4))
                starting.kill()
                starts_killed += 1
            served, client = start_served(folder)
            after, expected = client.state(), replica.state()
            if after != expected and flight["step"] is not None:
                # Killed after the change was saved but before its response arrived: it is
                # there whole, and the replica must agree once it has the same request.
                replica.client.send(flight["step"])
                flight["step"] = None
                applied_in_flight += 1
                expected = replica.state()
            assert after == expected, f"kill {kill}: the restarted world is not the acknowledged one"
            # A new process signs registry tokens with a key of its own: both ask again.
            for side in (client, replica.client):
                side.jwt = None
            steps = _resume(flight["step"], steps)
        # What all this pushed is still served, byte for byte.
        final = client.state()
        assert blob_bytes(final) == blob_bytes(replica.state())
        # Enough of every kind of change landed between the kills to have tested something.
        assert acknowledged > KILLS, "too few steps between kills to test anything"
        assert landed.get("blob", 0) > 20 and landed.get("manifest", 0) > 5, landed
        assert landed.get("gc", 0) > 0 and landed.get("untag", 0) > 0, landed
    finally:
        served.kill()
        replica.stop()
    print(f"{KILLS} kills (and {starts_killed} while starting), {acknowledged} steps acknowledged ({landed} succeeded), "
          f"{applied_in_flight} in-flight ones applied whole")


def _resume(pending, steps):
    """The stream again, the step that was in flight first (re-sent, as a client retries),
    after a token request on both sides."""
    yield ("token",)
    if pending is not None:
        yield pending
    yield from steps
