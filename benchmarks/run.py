"""docrsim's performance figures, each measured side by side with a peer in one run.

    make bench                                  # installs the peers, then runs this
    .venv/bin/python benchmarks/run.py [--only api,registry,proxy,state,gc,overhead] [--quick] [--json FILE]

Sections (benchmarks/README.md explains every figure):

- api: DO API listings and GC polling under 8 concurrent keep-alive clients, docrsim on each
  WSGI server it can use, against moto's ECR server (the usual AWS test double);
- registry: a 200 MB, 5-layer image copied in and out with skopeo, against the CNCF
  distribution registry (Debian's ``docker-registry``), with each server's memory growth;
- proxy: the same skopeo copy in and out by the production name, through docrsim's forward
  proxy and TLS, against the direct plain-HTTP copy, alternating, in the same run;
- state: what ``serve --state DIR`` (every change saved before its response) costs a skopeo push
  and a DO API tag delete, against the same docrsim in memory, alternating;
- gc: the mark and sweep of the synthetic 1,000,000-blob registry (time and memory of the
  computation alone), and the same shape of content at 11,000 objects against
  ``docker-registry garbage-collect`` on its own filesystem layout;
- overhead: Simulator start, reset, and scenario loading.

Every load loop is bounded in requests and in seconds and talks only to 127.0.0.1. A peer
that is not installed is skipped with one line saying so.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import os
import platform
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LOCAL = "127.0.0.1"
CLIENTS = 8
MIB = 1024 * 1024
# The API data set, identical on both sides: 20 repositories of 25 images, each a config and
# nine layers; pages of 20.
API_REPOSITORIES, API_IMAGES, API_LAYERS, PAGE = 20, 25, 9, 20
AWS_HEADERS = {
    "Content-Type": "application/x-amz-json-1.1",
    "Authorization": "AWS4-HMAC-SHA256 Credential=bench/20260101/us-east-1/ecr/aws4_request, "
                     "SignedHeaders=host, Signature=0",
}
ECR = "AmazonEC2ContainerRegistry_V20150921."
SKIPPED: list[str] = []


def skip(what: str, why: str) -> None:
    line = f"SKIPPED {what}: {why}"
    SKIPPED.append(line)
    print(line, flush=True)


# -- processes --------------------------------------------------------------------------------
def memory(pid: int, field: str) -> int:
    """VmRSS, VmHWM... of a process, in bytes."""
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(rf"{field}:\s+(\d+)", status)[1]) * 1024


def reset_peak(pid: int) -> bool:
    """Reset VmHWM to the current RSS (Linux clear_refs 5), so a later peak is this phase's."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((LOCAL, 0))
        return sock.getsockname()[1]


def wait_http(url: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            urllib.request.urlopen(url, timeout=2).read()
            return
        except urllib.error.HTTPError:
            return  # it answers
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"nothing answered at {url} within {seconds:.0f} s")
            time.sleep(0.1)


class Docrsim:
    """`docrsim serve` as its own process (how a test suite or a developer runs it)."""

    def __init__(self, *extra: str, server: str = "threaded"):
        self.process = subprocess.Popen(
            [sys.executable, "-m", "docrsim", "serve", "--api-port", "0", "--registry-port", "0",
             "--clock", "manual", "--server", server, *extra],
            stdout=subprocess.PIPE, text=True, cwd=ROOT)
        lines = []
        for line in self.process.stdout:
            lines.append(line)
            if "ready" in line:
                break
        else:
            raise RuntimeError(f"docrsim serve --server {server} ended before it was ready: {''.join(lines)}")
        said = {line.split(":", 1)[0]: line.split(":", 1)[1].split()[0] for line in lines if ":" in line}
        self.api, self.registry = said["API host"], said["registry host"]
        self.proxy, self.ca = said.get("proxy"), said.get("CA")

    def call(self, method: str, path: str, body: dict | None = None) -> dict:
        request = urllib.request.Request(self.api.replace("https://", "http://") + path, method=method,
                                         data=json.dumps(body).encode() if body is not None else None,
                                         headers={"Authorization": "Bearer bench", "Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=60) as answer:
            return json.loads(answer.read() or b"{}")

    def raw(self, path: str) -> bytes:
        """The body of a GET on the API host, byte for byte."""
        request = urllib.request.Request(self.api.replace("https://", "http://") + path,
                                         headers={"Authorization": "Bearer bench"})
        with urllib.request.urlopen(request, timeout=60) as answer:
            return answer.read()

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def docrsim_servers(args) -> list[str]:
    servers = [name.strip() for name in args.servers.split(",")]
    if "waitress" in servers:
        try:
            import waitress  # noqa: F401
        except ImportError:
            skip("docrsim on waitress", "waitress is not installed (pip install -e '.[bench]')")
            servers.remove("waitress")
    return servers


# -- the load generator (runs in its own process: `run.py _load SPEC`) --------------------------
def load_worker(spec: dict) -> dict:
    """``spec``: port, method, path, headers, body, requests (per client), warmup, seconds.

    Each of CLIENTS threads keeps one HTTP/1.1 connection open and sends its requests one
    after another; the run stops at the request count or the deadline, whichever is first."""
    assert spec["host"] == LOCAL
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    body = spec.get("body")
    body = body.encode() if body is not None else None
    barrier = threading.Barrier(CLIENTS + 1)
    deadline = [0.0]

    def client():
        connection = http.client.HTTPConnection(spec["host"], spec["port"], timeout=30)
        mine = []

        def one():
            connection.request(spec["method"], spec["path"], body=body, headers=spec["headers"])
            answer = connection.getresponse()
            answer.read()
            if answer.status != spec.get("status", 200):
                raise RuntimeError(f"HTTP {answer.status} from {spec['path']}")

        try:
            for _ in range(spec["warmup"]):
                one()
        except Exception as exc:  # noqa: BLE001 - reported, not raised, so the others finish
            with lock:
                errors.append(str(exc))
        barrier.wait()
        try:
            for _ in range(spec["requests"]):
                if time.perf_counter() > deadline[0]:
                    break
                started = time.perf_counter()
                one()
                mine.append(time.perf_counter() - started)
        except Exception as exc:  # noqa: BLE001
            with lock:
                errors.append(str(exc))
        connection.close()
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    for thread in threads:
        thread.start()
    deadline[0] = time.perf_counter() + spec["seconds"] + 60  # until every client has warmed up
    barrier.wait()
    started = time.perf_counter()
    deadline[0] = started + spec["seconds"]
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    latencies.sort()
    if not latencies:
        return {"error": "; ".join(errors[:3]) or "no request completed"}
    return {
        "rps": len(latencies) / elapsed,
        "p50": latencies[len(latencies) // 2] * 1000,
        "p99": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000,
        "requests": len(latencies),
        "error": "; ".join(errors[:3]) or None,
    }


def load(port: int, method: str, path: str, headers: dict, body: str | None, args) -> dict:
    spec = {"host": LOCAL, "port": port, "method": method, "path": path, "headers": headers, "body": body,
            "requests": args.requests, "warmup": 5, "seconds": args.seconds}
    out = subprocess.run([sys.executable, __file__, "_load", json.dumps(spec)], capture_output=True, text=True,
                         timeout=args.seconds + 180)
    if out.returncode != 0:
        return {"error": out.stderr.strip().splitlines()[-1] if out.stderr.strip() else f"exit {out.returncode}"}
    return json.loads(out.stdout)


# -- moto's ECR server as the API peer --------------------------------------------------------
MOTO_SERVER = r"""
import hashlib, json, sys, time
from moto.server import ThreadedMotoServer
import boto3
port, repositories, images, layers = map(int, sys.argv[1:5])
server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
server.start()
ecr = boto3.client("ecr", region_name="us-east-1", endpoint_url=f"http://127.0.0.1:{port}",
                   aws_access_key_id="bench", aws_secret_access_key="bench")
def digest(text):
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()
for r in range(repositories):
    name = f"repo-{r:02d}"
    ecr.create_repository(repositoryName=name)
    for i in range(images):
        manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": digest(f"{r}/{i}"), "size": 512},
                    "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": digest(f"{r}/{i}/{l}"),
                                "size": 1048576} for l in range(layers)]}
        ecr.put_image(repositoryName=name, imageManifest=json.dumps(manifest), imageTag=f"v{i}")
print("ready", flush=True)
sys.stdin.read()  # until the benchmark closes our stdin
"""


def moto_peer(port: int):
    try:
        import moto  # noqa: F401
        import boto3  # noqa: F401
    except ImportError:
        skip("moto (API peer)", "moto[server] is not installed (pip install -e '.[bench]')")
        return None
    process = subprocess.Popen([sys.executable, "-c", MOTO_SERVER, str(port), str(API_REPOSITORIES),
                                str(API_IMAGES), str(API_LAYERS)],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    line = process.stdout.readline()
    if "ready" not in line:
        process.kill()
        skip("moto (API peer)", "its server did not start")
        return None
    return process


# -- a bare Flask app serving the same bytes: the ceiling of a Flask app on one WSGI server ------
BARE_FLASK = r"""
import json, socket, sys
from flask import Flask, Response
server, port, bodies = sys.argv[1], int(sys.argv[2]), json.load(open(sys.argv[3]))
app = Flask("bare")

@app.route("/<path:path>")
def answer(path):
    return Response(bodies["/" + path], mimetype="application/json")

if server == "threaded":
    from docrsim.network.keepalive import KeepAliveServer
    httpd = KeepAliveServer(socket.create_server(("127.0.0.1", port)), app)
else:
    from werkzeug.serving import make_server
    httpd = make_server("127.0.0.1", port, app, threaded=True)
print("ready", flush=True)
httpd.serve_forever()
"""


def bare_flask_peer(server: str, port: int, bodies: Path):
    process = subprocess.Popen([sys.executable, "-c", BARE_FLASK, server, str(port), str(bodies)],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=ROOT)
    if "ready" not in process.stdout.readline():
        process.kill()
        skip(f"bare Flask on {server} (API ceiling)", "it did not start")
        return None
    return process


def api_section(args, results: list) -> None:
    print("\n== API host: 8 concurrent keep-alive clients ==", flush=True)
    scenario = {
        "description": "benchmark data set",
        "clock": {"start": "2026-01-01T00:00:00Z"},
        "account": {"tier": "professional"},
        "registries": [{"name": "bench", "region": "nyc3", "generate": {
            "repositories": API_REPOSITORIES, "images_per_repository": API_IMAGES,
            "layers_per_image": API_LAYERS, "layer_size": MIB}}],
    }
    bearer = {"Authorization": "Bearer bench"}
    listings = [
        ("repositoriesV2", f"/v2/registry/bench/repositoriesV2?per_page={PAGE}",
         ("DescribeRepositories", {"maxResults": PAGE})),
        ("tags", f"/v2/registry/bench/repositories/repo-00/tags?per_page={PAGE}",
         ("ListImages", {"repositoryName": "repo-00", "maxResults": PAGE})),
        ("digests", f"/v2/registry/bench/repositories/repo-00/digests?per_page={PAGE}",
         ("DescribeImages", {"repositoryName": "repo-00", "maxResults": PAGE})),
        ("GC polling", "/v2/registry/bench/garbage-collection", ("DescribeRegistry", {})),
    ]
    ours: dict[str, dict[str, dict]] = {}
    with tempfile.TemporaryDirectory() as scratch:
        fixture = Path(scratch) / "bench.yaml"
        fixture.write_text(json.dumps(scenario))  # JSON is YAML
        bodies: dict[str, str] = {}
        for server in docrsim_servers(args):
            sim = Docrsim("--fixture", str(fixture), server=server)
            try:
                port = int(sim.api.rsplit(":", 1)[1])
                for name, path, _ in listings:
                    if name == "GC polling":
                        sim.call("POST", "/v2/registry/bench/garbage-collection",
                                 {"type": "untagged manifests and unreferenced blobs"})
                    bodies[path.split("?")[0]] = sim.raw(path).decode()
                    ours.setdefault(name, {})[server] = load(port, "GET", path, bearer, None, args)
            finally:
                sim.stop()
        # The ceiling: a bare Flask app answering the same paths with the same bytes, on
        # docrsim's default server and on werkzeug's.
        (Path(scratch) / "bodies.json").write_text(json.dumps(bodies))
        bare: dict[str, dict[str, dict]] = {}
        for server in ("threaded", "werkzeug"):
            port = free_port()
            peer = bare_flask_peer(server, port, Path(scratch) / "bodies.json")
            if peer is None:
                continue
            try:
                for name, path, _ in listings:
                    bare.setdefault(name, {})[server] = load(port, "GET", path, bearer, None, args)
            finally:
                peer.terminate()
                peer.wait(timeout=20)
    port = free_port()
    moto = moto_peer(port)
    theirs: dict[str, dict] = {}
    if moto is not None:
        try:
            for name, _, (target, body) in listings:
                theirs[name] = load(port, "POST", "/", {**AWS_HEADERS, "X-Amz-Target": ECR + target},
                                    json.dumps(body), args)
        finally:
            moto.stdin.close()
            moto.terminate()
            moto.wait(timeout=20)

    for name, _, (target, _) in listings:
        peer = theirs.get(name)
        for server, figure in ours[name].items():
            results.append(api_row(name, server, figure, f"moto ECR {target}", peer, 2.5))
            if server in bare.get(name, {}):
                results.append(api_row(name, server, figure, f"bare Flask ({server})", bare[name][server], 0.8))
        if "werkzeug" in bare.get(name, {}):
            results.append(api_row(name, "threaded", ours[name].get("threaded", {}), "bare Flask (werkzeug)",
                                   bare[name]["werkzeug"], None))
    print_api(results)


def api_row(name: str, server: str, figure: dict, peer_name: str, peer: dict | None, goal: float | None) -> dict:
    row = {"section": "api", "figure": name, "docrsim_server": server, "docrsim": figure,
           "peer": peer_name if peer else None, "peer_figure": peer}
    if peer and "rps" in peer and "rps" in figure:
        row["ratio"] = figure["rps"] / peer["rps"]
        if goal is not None:
            row["goal"] = f">= {goal}x {peer_name}'s requests/s (ratio {row['ratio']:.2f}x)"
            row["met"] = row["ratio"] >= goal
    return row


def fmt_load(figure: dict | None) -> str:
    if not figure:
        return "-"
    if "rps" not in figure:
        return f"error: {figure.get('error')}"
    return f"{figure['rps']:7.0f}/s p50 {figure['p50']:6.1f} p99 {figure['p99']:6.1f} ms"


def print_api(results: list) -> None:
    print(f"{'listing':15} {'docrsim server':15} {'docrsim':36} {'peer':32} {'peer figure':36} ratio")
    for row in results:
        if row["section"] != "api":
            continue
        ratio = f"{row['ratio']:.2f}x" if "ratio" in row else "-"
        print(f"{row['figure']:15} {row['docrsim_server']:15} {fmt_load(row['docrsim']):36} "
              f"{row['peer'] or '-':32} {fmt_load(row['peer_figure']):36} {ratio}", flush=True)


# -- registry host: skopeo against docker-registry ----------------------------------------------
def registry_config(root: Path, port: int) -> Path:
    config = root / "config.yml"
    config.write_text(
        "version: 0.1\n"
        "log:\n  level: error\n  accesslog:\n    disabled: true\n"
        f"storage:\n  filesystem:\n    rootdirectory: {root / 'storage'}\n  delete:\n    enabled: true\n"
        f"http:\n  addr: {LOCAL}:{port}\n")
    return config


def skopeo(*argv: str, timeout: float, env: dict | None = None) -> float:
    started = time.perf_counter()
    subprocess.run(["skopeo", *argv], check=True, capture_output=True, timeout=timeout,
                   env={**os.environ, **env} if env else None)
    return time.perf_counter() - started


def skopeo_ready(section: str) -> bool:
    """Whether skopeo is there (else the section is skipped, saying so); the repository's
    tests helpers are importable from then on."""
    if shutil.which("skopeo") is None:
        skip(section, "skopeo is not installed (apt-get install skopeo)")
        return False
    sys.path.insert(0, str(ROOT))
    return True


def copy_round_trip(host: str, pid: int, source: Path, back: Path, creds: list[str], timeout: float,
                    env: dict | None = None) -> dict:
    """skopeo copy in, then out; the server's RSS growth over the whole round trip. With
    ``env`` (the variables of ``docrsim env``), skopeo verifies TLS and finds its credentials
    there, as unmodified code does."""
    before = memory(pid, "VmRSS")
    if not reset_peak(pid):
        before = memory(pid, "VmHWM")  # without clear_refs the peak is the process's lifetime peak
    dest_creds = ["--dest-creds", creds[0]] if creds else []
    src_creds = ["--src-creds", creds[0]] if creds else []
    unverified = ([], []) if env else (["--dest-tls-verify=false"], ["--src-tls-verify=false"])
    copy_in = skopeo("copy", *unverified[0], *dest_creds, f"oci:{source}:v1",
                     f"docker://{host}/bench/big:v1", timeout=timeout, env=env)
    copy_out = skopeo("copy", *unverified[1], *src_creds, f"docker://{host}/bench/big:v1",
                      f"oci:{back}:v1", timeout=timeout, env=env)
    growth = memory(pid, "VmHWM") - before
    # The same image into a second repository of the server: each blob must be uploaded or
    # mounted there (skopeo's blob cache knows where it pushed them, so it mounts), not found.
    second = skopeo("copy", *unverified[0], *dest_creds, f"oci:{source}:v1",
                    f"docker://{host}/bench/second:v1", timeout=timeout, env=env)
    return {"in": copy_in, "out": copy_out, "second": second, "growth": growth}


def median_trip(trips: list[dict]) -> dict:
    """Median copy times and memory growth of several round trips, with every trip kept."""
    return {"in": statistics.median(t["in"] for t in trips), "out": statistics.median(t["out"] for t in trips),
            "second": statistics.median(t["second"] for t in trips),
            "growth": statistics.median(t["growth"] for t in trips), "same": all(t["same"] for t in trips),
            "trips": trips}


def build_image(scratch: Path, layer_mib: int, layers: int = 5) -> tuple[Path, int]:
    """An OCI layout of one image of incompressible layers under ``scratch``; its path and size."""
    sys.path.insert(0, str(ROOT))
    from tests.clients.oci_layout import Layout

    source = scratch / "source"
    layout = Layout(source)
    layout.tag(layout.image({f"part{i}": os.urandom(layer_mib * MIB) for i in range(layers)}), "v1")
    image_bytes = sum(p.stat().st_size for p in (source / "blobs" / "sha256").iterdir())
    print(f"image: {image_bytes / 1e6:.1f} MB in {layers} layers", flush=True)
    return source, image_bytes


def registry_section(args, results: list) -> None:
    print("\n== registry host: skopeo copy of a 5-layer image, in and out ==", flush=True)
    if not skopeo_ready("registry host section"):
        return
    from tests.clients.oci_layout import tagged_digest

    with tempfile.TemporaryDirectory(dir="/tmp") as scratch:
        scratch = Path(scratch)
        source, image_bytes = build_image(scratch, args.layer_mib)
        figures = {}
        for server in docrsim_servers(args):
            # Each round trip goes to a fresh server, so every blob is uploaded (on the same
            # server skopeo's blob cache would mount them from the first repository); the
            # median of --copies round trips, one for a server that is not the default.
            trips = []
            for trip in range(args.copies if server == "threaded" else 1):
                sim = Docrsim(server=server)
                try:
                    sim.call("POST", "/v2/registries", {"name": "bench"})
                    auths = sim.call("GET", "/v2/registries/bench/docker-credentials?read_write=true")["auths"]
                    (host, entry), = auths.items()
                    creds = base64.b64decode(entry["auth"]).decode()
                    back = scratch / f"back-{server}-{trip}"
                    figure = copy_round_trip(host, sim.process.pid, source, back, [creds], args.copy_timeout)
                    figure["same"] = tagged_digest(back, "v1") == tagged_digest(source, "v1")
                    trips.append(figure)
                finally:
                    sim.stop()
                shutil.rmtree(back, ignore_errors=True)
            figures[f"docrsim ({server})"] = median_trip(trips)
        binary = shutil.which("docker-registry")
        if binary is None:
            skip("docker-registry (registry peer)", "not installed (apt-get install docker-registry)")
        else:
            trips = []
            for trip in range(args.copies):
                port = free_port()
                root = scratch / f"distribution-{trip}"
                root.mkdir()
                peer = subprocess.Popen([binary, "serve", str(registry_config(root, port))],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                try:
                    wait_http(f"http://{LOCAL}:{port}/v2/")
                    back = scratch / f"back-distribution-{trip}"
                    figure = copy_round_trip(f"{LOCAL}:{port}", peer.pid, source, back, [], args.copy_timeout)
                    figure["same"] = tagged_digest(back, "v1") == tagged_digest(source, "v1")
                    trips.append(figure)
                finally:
                    peer.terminate()
                    peer.wait(timeout=20)
                shutil.rmtree(root, ignore_errors=True)
                shutil.rmtree(back, ignore_errors=True)
            figures["docker-registry"] = median_trip(trips)
    peer = figures.get("docker-registry")
    print(f"{'server (median of trips)':24} {'copy in s':>9} {'copy out s':>10} {'2nd repo s':>10} "
          f"{'RSS growth MB':>13} {'x image':>7}  digest   every trip in/out/2nd repo s")
    for name, f in figures.items():
        every = ", ".join(f"{t['in']:.2f}/{t['out']:.2f}/{t['second']:.2f}" for t in f["trips"])
        print(f"{name:24} {f['in']:9.2f} {f['out']:10.2f} {f['second']:10.2f} {f['growth'] / 1e6:13.1f} "
              f"{f['growth'] / image_bytes:7.2f}  {'identical' if f['same'] else 'DIFFERENT'}  {every}", flush=True)
        if name == "docker-registry":
            continue
        row = {"section": "registry", "figure": "skopeo copy 200 MB", "docrsim_server": name,
               "image_bytes": image_bytes, "docrsim": f, "peer": "docker-registry" if peer else None,
               "peer_figure": peer}
        memory_ok = f["growth"] <= 1.2 * image_bytes
        if peer:
            row["ratio_in"] = peer["in"] / f["in"]
            row["ratio_out"] = peer["out"] / f["out"]
            row["met"] = row["ratio_in"] >= 1 and row["ratio_out"] >= 1 and memory_ok and f["same"]
            row["goal"] = (f"copy in and out each in <= 1.0x docker-registry's time, memory <= 1.2x the image "
                           f"(in {f['in'] / peer['in']:.2f}x, out {f['out'] / peer['out']:.2f}x, "
                           f"memory {f['growth'] / image_bytes:.2f}x)")
        else:
            row["met"] = memory_ok and f["same"]
        results.append(row)
    if peer:
        for name, f in figures.items():
            if name != "docker-registry":
                print(f"{name}: {peer['in'] / f['in']:.2f}x docker-registry's speed in, "
                      f"{peer['out'] / f['out']:.2f}x out (above 1: docrsim faster)")


# -- production names through the proxy -----------------------------------------------------
PROXY_GOAL = 1.3  # a copy through the proxy takes at most this many times the direct copy's time


def proxy_section(args, results: list) -> None:
    print("\n== proxy: skopeo copy by registry.digitalocean.com (proxy + TLS) vs direct plain HTTP ==", flush=True)
    if not skopeo_ready("proxy section"):
        return
    from docrsim.network import environment
    from tests.clients.oci_layout import tagged_digest

    with tempfile.TemporaryDirectory(dir="/tmp") as scratch:
        scratch = Path(scratch)
        source, image_bytes = build_image(scratch, args.layer_mib)
        trips: dict[str, list] = {"direct": [], "tls": [], "proxy": []}
        # Alternating, each copy into a fresh docrsim, so the ways see the same machine load. The
        # direct one serves plain HTTP only (with TLS on, skopeo would take unverified TLS); the
        # "tls" one is direct too, over verified TLS, to tell TLS's cost from the proxy's.
        options = {"direct": (), "tls": ("--tls", "--ca-dir", str(scratch / "ca")),
                   "proxy": ("--proxy-port", "0", "--ca-dir", str(scratch / "ca"))}
        for trip in range(args.copies):
            for way in ("direct", "tls", "proxy"):
                sim = Docrsim(*options[way])
                try:
                    sim.call("POST", "/v2/registries", {"name": "bench"})
                    back = scratch / f"back-{way}-{trip}"
                    if way in ("direct", "tls"):
                        auths = sim.call("GET", "/v2/registries/bench/docker-credentials?read_write=true")["auths"]
                        (host, entry), = auths.items()
                        creds = [base64.b64decode(entry["auth"]).decode()]
                        verified = {"SSL_CERT_FILE": str(scratch / "ca" / "bundle.pem")} if way == "tls" else None
                        figure = copy_round_trip(host, sim.process.pid, source, back, creds, args.copy_timeout,
                                                 env=verified)
                    else:
                        endpoints = sim.call("GET", "/_docrsim/endpoints")
                        config = scratch / f"docker-{trip}"
                        environment.write_docker_config(config, "bench", "bench", endpoints["registry_host"])
                        env = environment.variables(endpoints, "bench", config)
                        figure = copy_round_trip("registry.digitalocean.com", sim.process.pid, source, back, [],
                                                 args.copy_timeout, env=env)
                    figure["same"] = tagged_digest(back, "v1") == tagged_digest(source, "v1")
                    trips[way].append(figure)
                finally:
                    sim.stop()
                shutil.rmtree(back, ignore_errors=True)
    direct, tls, proxied = (median_trip(trips[way]) for way in ("direct", "tls", "proxy"))
    print(f"{'way (median of trips)':24} {'copy in s':>9} {'copy out s':>10}  digest   every trip in/out s")
    for name, f in (("direct, plain HTTP", direct), ("direct, verified TLS", tls), ("proxy, verified TLS", proxied)):
        every = ", ".join(f"{t['in']:.2f}/{t['out']:.2f}" for t in f["trips"])
        print(f"{name:24} {f['in']:9.2f} {f['out']:10.2f}  {'identical' if f['same'] else 'DIFFERENT'}  {every}",
              flush=True)
    ratio_in, ratio_out = proxied["in"] / direct["in"], proxied["out"] / direct["out"]
    print(f"through the proxy: {ratio_in:.2f}x the direct time in, {ratio_out:.2f}x out (goal <= {PROXY_GOAL}x); "
          f"direct TLS alone: {tls['in'] / direct['in']:.2f}x in, {tls['out'] / direct['out']:.2f}x out")
    results.append({"section": "proxy", "figure": "skopeo copy through the proxy", "image_bytes": image_bytes,
                    "direct": direct, "tls": tls, "proxy": proxied, "ratio_in": ratio_in, "ratio_out": ratio_out,
                    "goal": f"in and out within {PROXY_GOAL}x of the direct copy's time",
                    "met": ratio_in <= PROXY_GOAL and ratio_out <= PROXY_GOAL and direct["same"] and proxied["same"]})


# -- the cost of --state ---------------------------------------------------------------------------
STATE_GOAL = 1.5
STATE_TAGS = 400  # tags deleted one by one, per server and round


def timed_deletes(sim: "Docrsim", tags: list[str]) -> float:
    """Median seconds of one DO API tag delete, on one kept-alive connection."""
    host, port = sim.api.split("//")[1].rsplit(":", 1)
    connection = http.client.HTTPConnection(host, int(port), timeout=60)
    times = []
    for tag in tags:
        started = time.perf_counter()
        connection.request("DELETE", f"/v2/registries/huge/repositories/repo-0/tags/{tag}",
                           headers={"Authorization": "Bearer bench"})
        answer = connection.getresponse()
        answer.read()
        times.append(time.perf_counter() - started)
        if answer.status != 204:
            raise RuntimeError(f"deleting tag {tag}: HTTP {answer.status}")
    connection.close()
    return statistics.median(times)


def state_section(args, results: list) -> None:
    print("\n== --state: a push and a DO API delete with every change saved, vs in memory ==", flush=True)
    if not skopeo_ready("state section"):
        return
    from tests.clients.oci_layout import tagged_digest

    with tempfile.TemporaryDirectory(dir="/tmp") as scratch:
        scratch = Path(scratch)
        source, image_bytes = build_image(scratch, max(args.layer_mib // 4, 1))
        fixture = scratch / "tags.json"
        fixture.write_text(json.dumps(synthetic(1, STATE_TAGS)))
        ways = {"in memory": (), "--state": (), "--state --fsync": ("--fsync",)}
        figures: dict[str, dict[str, list]] = {way: {"push": [], "delete": []} for way in ways}
        for trip in range(args.copies):
            for way, flags in ways.items():  # alternating, so the ways see the same machine load
                extra = [] if way == "in memory" else ["--state", str(scratch / f"state-{trip}-{way[-5:]}"), *flags]
                sim = Docrsim("--fixture", str(fixture), *extra)
                try:
                    # The deletes first: right after a large push the disk is still writing its
                    # bytes back, and a small append then waits behind them (a disk's figure).
                    tags = [f"v{i}" for i in range(STATE_TAGS) if (i + 1) % 10]  # every 10th is untagged
                    figures[way]["delete"].append(timed_deletes(sim, tags))
                    auths = sim.call("GET", "/v2/registries/huge/docker-credentials?read_write=true")["auths"]
                    (host, entry), = auths.items()
                    creds = base64.b64decode(entry["auth"]).decode()
                    figures[way]["push"].append(skopeo(
                        "copy", "--dest-tls-verify=false", "--dest-creds", creds, f"oci:{source}:v1",
                        f"docker://{host}/huge/pushed:v1", timeout=args.copy_timeout))
                    back = scratch / f"back-{trip}-{way[-5:]}"
                    skopeo("copy", "--src-tls-verify=false", "--src-creds", creds, f"docker://{host}/huge/pushed:v1",
                           f"oci:{back}:v1", timeout=args.copy_timeout)
                    if tagged_digest(back, "v1") != tagged_digest(source, "v1"):
                        raise RuntimeError(f"{way}: the image pulled back is not the one pushed")
                    shutil.rmtree(back)
                finally:
                    sim.stop()
    medians = {way: {k: statistics.median(v) for k, v in f.items()} for way, f in figures.items()}
    base = medians["in memory"]
    print(f"{'way (median of rounds)':24} {'push s':>8} {'x':>6} {'tag delete ms':>14} {'x':>6}")
    for way, m in medians.items():
        print(f"{way:24} {m['push']:8.2f} {m['push'] / base['push']:6.2f} {m['delete'] * 1e3:14.3f} "
              f"{m['delete'] / base['delete']:6.2f}", flush=True)
    saved = medians["--state"]
    push_ratio, delete_ratio = saved["push"] / base["push"], saved["delete"] / base["delete"]
    print(f"with --state: a push {push_ratio:.2f}x, a delete {delete_ratio:.2f}x the in-memory time "
          f"(goal <= {STATE_GOAL}x; --fsync is reported, not held to it)")
    results.append({"section": "state", "figure": "--state cost: skopeo push and DO API tag delete",
                    "image_bytes": image_bytes, "medians": medians, "rounds": figures,
                    "push_ratio": push_ratio, "delete_ratio": delete_ratio,
                    "goal": f"a push and a delete with --state within {STATE_GOAL}x of in memory",
                    "met": push_ratio <= STATE_GOAL and delete_ratio <= STATE_GOAL})


# -- garbage collection ----------------------------------------------------------------------
GC_PROBE = r"""
import gc, json, sys, time, tracemalloc, re
from pathlib import Path
from docrsim.core.state import Simulation
from docrsim.core.gc_plan import Scan, UNTAGGED_AND_BLOBS, UNREFERENCED_BLOBS
from docrsim.scenarios import apply, library

def rss(field):
    return int(re.search(field + r":\s+(\d+)", Path("/proc/self/status").read_text())[1]) * 1024

document = json.loads(sys.argv[1]) if sys.argv[1].startswith("{") else library.documents(sys.argv[1])[0]
started = time.perf_counter()
sim = Simulation()
apply(sim, document, replace=True)
load = time.perf_counter() - started
content = sim.account.registry(document["registries"][0]["name"]).content
# As `docrsim serve` does: the loaded world is taken out of the cyclic collector's reach.
gc.collect()
gc.freeze()
out = {"load": load, "blobs": len(content.blobs), "manifests": len(content.manifests), "types": {}}
for gc_type in (UNREFERENCED_BLOBS, UNTAGGED_AND_BLOBS):
    times, cpu = [], []
    for _ in range(int(sys.argv[2])):
        started, started_cpu = time.perf_counter(), time.process_time()
        summary = Scan(content, gc_type).plan().summary()
        times.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
        del summary
    # Memory: the peak of what the computation allocates (tracemalloc), and the process's RSS
    # growth (peak reset just before), on a separate, untimed pass.
    Path("/proc/self/clear_refs").write_text("5")
    before = rss("VmRSS")
    summary = Scan(content, gc_type).plan().summary()
    grown = rss("VmHWM") - before
    count, freed = summary["count"], summary["bytes"]
    del summary
    tracemalloc.start()
    summary = Scan(content, gc_type).plan().summary()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    del summary
    out["types"][gc_type] = {"times": times, "cpu": cpu, "traced_peak": peak, "rss_growth": grown, "deleted": count, "bytes": freed}
print(json.dumps(out))
"""


def synthetic(repositories: int, images: int) -> dict:
    """The shape of fixtures/synthetic-1m.yaml at another size."""
    return {
        "description": "benchmark GC content", "clock": {"start": "2026-01-01T00:00:00Z"},
        "account": {"tier": "professional"},
        "registries": [{"name": "huge", "region": "nyc3", "generate": {
            "repositories": repositories, "images_per_repository": images, "layers_per_image": 9,
            "layer_size": MIB, "untagged_every": 10}}],
    }


def gc_probe(document, repeats: int, timeout: float) -> dict:
    argument = document if isinstance(document, str) else json.dumps(document)
    out = subprocess.run([sys.executable, "-c", GC_PROBE, argument, str(repeats)], capture_output=True, text=True,
                         timeout=timeout, cwd=ROOT)
    if out.returncode != 0:
        raise RuntimeError(out.stderr.strip().splitlines()[-1])
    return json.loads(out.stdout)


def write_distribution_layout(root: Path, document: dict) -> dict:
    """The same content as docrsim holds for ``document``, in the distribution registry's
    filesystem layout: manifests with their real bytes, other blobs as 16-byte placeholders
    (garbage-collect reads manifests, and only lists the blobs)."""
    from docrsim.core.state import Simulation
    from docrsim.scenarios import apply

    sim = Simulation()
    apply(sim, document, replace=True)
    content = sim.account.registry(document["registries"][0]["name"]).content
    v2 = root / "docker" / "registry" / "v2"

    def link(path: Path, digest: str) -> None:
        path.mkdir(parents=True, exist_ok=True)
        (path / "link").write_text(digest)

    for digest in content.blobs.digests():
        hexdigest = digest.split(":", 1)[1]
        folder = v2 / "blobs" / "sha256" / hexdigest[:2] / hexdigest
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "data").write_bytes(content.blobs.data(digest) or b"synthetic layer.")
    for name, repo in content.repositories.items():
        base = v2 / "repositories" / name
        for digest in repo.manifests:
            link(base / "_manifests" / "revisions" / "sha256" / digest.split(":", 1)[1], digest)
            for ref in content.manifests[digest].parsed.blob_references:
                link(base / "_layers" / "sha256" / ref.digest.split(":", 1)[1], ref.digest)
        for tag, t in repo.tags.items():
            link(base / "_manifests" / "tags" / tag / "current", t.manifest_digest)
            link(base / "_manifests" / "tags" / tag / "index" / "sha256" / t.manifest_digest.split(":", 1)[1],
                 t.manifest_digest)
    return {"blobs": len(content.blobs), "manifests": len(content.manifests)}


def count_blobs(root: Path) -> int:
    return sum(1 for _ in (root / "docker" / "registry" / "v2" / "blobs" / "sha256").glob("*/*"))


def gc_section(args, results: list) -> None:
    print("\n== garbage collection: mark and sweep ==", flush=True)
    from docrsim.core.gc_plan import UNTAGGED_AND_BLOBS

    big = gc_probe(args.gc_fixture, args.gc_repeats, timeout=900)
    small_document = synthetic(10, 100)
    small = gc_probe(small_document, max(args.gc_repeats, 5), timeout=300)
    print(f"{args.gc_fixture}: {big['manifests']:,} manifests, {big['blobs']:,} blobs (loaded in {big['load']:.1f} s, "
          f"not counted below)")
    print(f"{'content':15} {'type':43} {'median s':>8} {'max s':>6} {'CPU s':>6} {'traced B/blob':>13} "
          f"{'RSS B/blob':>10} {'deleted':>8}")
    for label, figure in ((args.gc_fixture, big), ("11,000 objects", small)):
        for gc_type, f in figure["types"].items():
            print(f"{label:15} {gc_type:43} {statistics.median(f['times']):8.3f} {max(f['times']):6.3f} "
                  f"{statistics.median(f['cpu']):6.3f} "
                  f"{f['traced_peak'] / figure['blobs']:13.1f} {f['rss_growth'] / figure['blobs']:10.1f} "
                  f"{f['deleted']:8,}", flush=True)
    full = big["types"][UNTAGGED_AND_BLOBS]
    seconds = statistics.median(full["times"])
    per_blob = max(full["traced_peak"], full["rss_growth"]) / big["blobs"]
    results.append({"section": "gc", "figure": f"mark and sweep, {args.gc_fixture}", "docrsim": {
        "seconds": seconds, "max_seconds": max(full["times"]), "cpu_seconds": statistics.median(full["cpu"]),
        "traced_bytes_per_blob": full["traced_peak"] / big["blobs"],
        "rss_bytes_per_blob": full["rss_growth"] / big["blobs"], "blobs": big["blobs"], "deleted": full["deleted"]},
        "goal": "< 2 s and < 300 bytes per blob", "met": seconds < 2 and per_blob < 300})

    binary = shutil.which("docker-registry")
    if binary is None:
        skip("docker-registry garbage-collect (GC peer)", "not installed (apt-get install docker-registry)")
        return
    ours = statistics.median(small["types"][UNTAGGED_AND_BLOBS]["times"])
    with tempfile.TemporaryDirectory(dir="/tmp") as scratch:
        root = Path(scratch)
        shape = write_distribution_layout(root / "storage", small_document)
        config = registry_config(root, free_port())
        before = count_blobs(root / "storage")
        peer = {}
        for mode, extra in (("dry run", ["--dry-run"]), ("deleting", [])):
            started = time.perf_counter()
            run = subprocess.run([binary, "garbage-collect", "--delete-untagged", *extra, str(config)],
                                 capture_output=True, text=True, timeout=600)
            peer[mode] = time.perf_counter() - started
            if run.returncode != 0:
                skip("docker-registry garbage-collect", run.stderr.strip().splitlines()[-1] if run.stderr else "failed")
                return
        after = count_blobs(root / "storage")
    print(f"docker-registry garbage-collect --delete-untagged, same 11,000 objects ({shape['manifests']:,} manifests): "
          f"{peer['dry run']:.3f} s dry run, {peer['deleting']:.3f} s deleting {before - after:,} blobs "
          f"(docrsim: {small['types'][UNTAGGED_AND_BLOBS]['deleted']:,} objects in {ours:.3f} s)")
    print(f"docrsim computes the same collection {peer['dry run'] / ours:.0f}x faster than docker-registry's dry run; "
          f"per blob, the 1M-blob run takes {seconds / big['blobs'] * 1e6:.2f} us vs "
          f"{peer['dry run'] / shape['blobs'] * 1e6:.1f} us", flush=True)
    results.append({"section": "gc", "figure": "11,000-object collection vs docker-registry garbage-collect",
                    "docrsim": {"seconds": ours, "deleted": small["types"][UNTAGGED_AND_BLOBS]["deleted"]},
                    "peer": "docker-registry garbage-collect --delete-untagged",
                    "peer_figure": {"dry_run_seconds": peer["dry run"], "deleting_seconds": peer["deleting"],
                                    "deleted": before - after},
                    "ratio": peer["dry run"] / ours})


# -- test-double overhead ----------------------------------------------------------------------
START_PROBE = r"""
import time
started = time.perf_counter()
from docrsim import Simulator
imported = time.perf_counter()
simulator = Simulator().start()
ready = time.perf_counter()
simulator.stop()
print(imported - started, ready - imported)
"""


# The peer of a Simulator's start: a bare Flask app, imported and serving one route from a
# thread on docrsim's default server (which it imports too), ready for its first request.
BARE_FLASK_START = r"""
import time
started = time.perf_counter()
import socket, threading
from flask import Flask
from docrsim.network.keepalive import KeepAliveServer
app = Flask("bare")
app.route("/")(lambda: "ok")
server = KeepAliveServer(socket.create_server(("127.0.0.1", 0)), app)
threading.Thread(target=server.serve_forever, daemon=True).start()
print(time.perf_counter() - started)
"""


def serve_to_ready(tree: Path, fixture: Path) -> float:
    """Seconds from `docrsim serve --fixture` to its ready line, docrsim imported from ``tree``."""
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-m", "docrsim", "serve", "--api-port", "0", "--registry-port", "0",
                                "--fixture", str(fixture)], stdout=subprocess.PIPE, text=True, cwd=tree,
                               env={**os.environ, "PYTHONPATH": str(tree)})
    try:
        for line in process.stdout:
            if "ready" in line:
                return time.perf_counter() - started
        raise RuntimeError(f"docrsim serve from {tree} ended before it was ready")
    finally:
        process.terminate()
        process.wait(timeout=20)


def baseline_tree(revision: str, scratch: Path) -> Path | None:
    """docrsim's package and fixtures as they were at ``revision`` (git archive), bytecode
    compiled; None when this is no git checkout or the revision is unknown."""
    tree = scratch / "baseline"
    tree.mkdir()
    archive = subprocess.run(["git", "archive", revision, "docrsim", "fixtures"], cwd=ROOT, capture_output=True)
    if archive.returncode != 0:
        return None
    subprocess.run(["tar", "-x", "-C", str(tree)], input=archive.stdout, check=True)
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(tree / "docrsim")], check=True, capture_output=True)
    return tree


def overhead_section(args, results: list) -> None:
    print("\n== test-double overhead ==", flush=True)
    from docrsim import Simulator
    from docrsim.core.state import Simulation
    from docrsim.scenarios import apply, library

    # As a wheel's install does: docrsim's bytecode compiled (the libraries' is), so neither
    # side compiles sources on import (PYTHONDONTWRITEBYTECODE would otherwise make docrsim do so).
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "docrsim")], check=True, capture_output=True)
    starts, imports, readies, bare = [], [], [], []
    for _ in range(args.runs):  # alternating, so both sides see the same load
        out = subprocess.run([sys.executable, "-c", START_PROBE], capture_output=True, text=True, timeout=60, cwd=ROOT)
        imported, ready = map(float, out.stdout.split())
        imports.append(imported * 1000)
        readies.append(ready * 1000)
        starts.append((imported + ready) * 1000)
        out = subprocess.run([sys.executable, "-c", BARE_FLASK_START], capture_output=True, text=True, timeout=60,
                             cwd=ROOT)
        bare.append(float(out.stdout) * 1000)
    resets_small, resets_empty = [], []
    simulator = Simulator(fixture="small-app").start()
    try:
        for _ in range(args.runs * 4):
            started = time.perf_counter()
            simulator.reset()
            resets_small.append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            simulator.reset({})
            resets_empty.append((time.perf_counter() - started) * 1000)
    finally:
        simulator.stop()
    synthetic10k = library.documents("synthetic-10k")[0]
    loads = []
    for _ in range(args.runs):
        started = time.perf_counter()
        apply(Simulation(), synthetic10k, replace=True)
        loads.append((time.perf_counter() - started) * 1000)
    serve, serve_before = [], []
    with tempfile.TemporaryDirectory() as scratch:
        before = baseline_tree(args.baseline, Path(scratch))
        if before is None:
            skip(f"serve --fixture synthetic-10k at {args.baseline}", "no git checkout with that revision here")
        for _ in range(args.runs):  # alternating, in the same run
            serve.append(serve_to_ready(ROOT, ROOT / "fixtures" / "synthetic-10k.yaml") * 1000)
            if before is not None:
                serve_before.append(serve_to_ready(before, before / "fixtures" / "synthetic-10k.yaml") * 1000)

    rows = [
        ("Simulator start in a fresh process (import + start)", starts, 300),
        ("  of which `from docrsim import Simulator`", imports, None),
        ("  of which `Simulator().start()`", readies, None),
        ("bare Flask app on docrsim's server (import + start)", bare, None),
        ("Simulator reset, small-app", resets_small, 5),
        ("Simulator reset, empty world", resets_empty, 5),
        ("load synthetic-10k (10,000 manifests) into a new world", loads, None),
        ("docrsim serve --fixture synthetic-10k: start to ready", serve, None),
    ]
    if serve_before:
        rows.append((f"  the same at {args.baseline}", serve_before, None))
    width = max(len(r[0]) for r in rows)
    print(f"{'figure':<{width}}  {'median ms':>9}  {'max ms':>8}  goal")
    for name, values, goal in rows:
        median = statistics.median(values)
        print(f"{name:<{width}}  {median:9.1f}  {max(values):8.1f}  {f'< {goal} ms' if goal else ''}", flush=True)
        row = {"section": "overhead", "figure": name.strip(), "docrsim": {"median_ms": median, "max_ms": max(values)}}
        if goal:
            row["goal"] = f"< {goal} ms"
            row["met"] = median < goal
        results.append(row)
    ratio = statistics.median(starts) / statistics.median(bare)
    results.append({"section": "overhead", "figure": "Simulator import + start / bare Flask app's", "ratio": ratio,
                    "goal": f"<= 1.5x (ratio {ratio:.2f}x)", "met": ratio <= 1.5})
    if serve_before:
        ratio = statistics.median(serve) / statistics.median(serve_before)
        results.append({"section": "overhead", "figure": f"serve --fixture synthetic-10k to ready / at {args.baseline}",
                        "ratio": ratio, "goal": f"<= 0.5x (ratio {ratio:.2f}x)", "met": ratio <= 0.5})


# -- the machine and the summary ----------------------------------------------------------------
def machine() -> dict:
    meminfo = Path("/proc/meminfo").read_text()
    total = int(re.search(r"MemTotal:\s+(\d+)", meminfo)[1]) * 1024
    load_average = os.getloadavg()
    try:
        model = re.search(r"model name\s*:\s*(.+)", Path("/proc/cpuinfo").read_text())[1]
    except (OSError, TypeError):
        model = platform.processor()
    return {"cores": os.cpu_count(), "cpu": model, "memory_gib": round(total / 2**30, 1),
            "python": platform.python_version(), "system": f"{platform.system()} {platform.release()}",
            "load_average": [round(x, 2) for x in load_average],
            "date": time.strftime("%Y-%m-%d %H:%M %Z")}


def summary(results: list) -> None:
    print("\n== goals ==")
    for row in results:
        if "met" not in row:
            continue
        name = row["figure"] + (f" [{row['docrsim_server']}]" if row.get("docrsim_server") else "")
        print(f"{'met   ' if row['met'] else 'MISSED'} {name}: {row.get('goal', 'as fast as docker-registry both ways, memory <= 1.2x the image')}")
    for line in SKIPPED:
        print(line)


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "_load":
        print(json.dumps(load_worker(json.loads(sys.argv[2]))))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="api,registry,proxy,state,gc,overhead", help="comma-separated sections to run")
    parser.add_argument("--quick", action="store_true", help="fewer requests and repeats, a 40 MB image")
    parser.add_argument("--servers", default="threaded,waitress", help="WSGI servers to run docrsim on")
    parser.add_argument("--requests", type=int, default=200, help="requests per client per API figure (8 clients)")
    parser.add_argument("--seconds", type=float, default=15, help="time limit of each API load run")
    parser.add_argument("--layer-mib", type=int, default=40, help="size of each of the image's 5 layers")
    parser.add_argument("--copies", type=int, default=3, help="round trips per registry (median reported)")
    parser.add_argument("--copy-timeout", type=float, default=300, help="time limit of each skopeo copy")
    parser.add_argument("--gc-fixture", default="synthetic-1m", help="scenario whose GC is measured")
    parser.add_argument("--gc-repeats", type=int, default=3)
    parser.add_argument("--runs", type=int, default=5, help="repeats of each overhead figure")
    parser.add_argument("--baseline", default="2cdaab0",
                        help="git revision whose `serve --fixture synthetic-10k` the overhead section times too")
    parser.add_argument("--json", help="also write every figure to this file")
    args = parser.parse_args()
    if args.quick:
        args.requests, args.seconds, args.layer_mib, args.copies = 50, 5, 8, 1
        args.gc_repeats, args.runs = 1, 3
        if args.gc_fixture == "synthetic-1m":
            args.gc_fixture = "synthetic-10k"

    info = machine()
    print(f"docrsim benchmarks, {info['date']}: {info['cores']} cores ({info['cpu']}), {info['memory_gib']} GiB, "
          f"Python {info['python']}, {info['system']}; load average {info['load_average']}")
    print("command: " + " ".join([Path(sys.executable).name, "benchmarks/run.py", *sys.argv[1:]]), flush=True)
    results: list = []
    sections = {"api": api_section, "registry": registry_section, "proxy": proxy_section, "state": state_section,
                "gc": gc_section, "overhead": overhead_section}
    for name in args.only.split(","):
        try:
            sections[name.strip()](args, results)
        except Exception as exc:  # noqa: BLE001 - one broken section must not hide the others
            skip(f"{name} section", f"{type(exc).__name__}: {exc}")
    info["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    summary(results)
    if args.json:
        Path(args.json).write_text(json.dumps({"machine": info, "argv": sys.argv[1:], "results": results,
                                               "skipped": SKIPPED}, indent=1))


if __name__ == "__main__":
    main()
