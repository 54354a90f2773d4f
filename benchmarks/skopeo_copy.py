"""A large image copied into docrsim with skopeo and back out: time and server memory.

    .venv/bin/python benchmarks/skopeo_copy.py [--layers 5] [--layer-mib 40]

Builds an OCI layout of incompressible gzip layers in a temporary folder, starts
`docrsim serve` as its own process, copies the image in and out with skopeo, and reports
the server's peak resident memory growth against the image's size (a blob should be held
once), the two copy times, and whether the digest survived the round trip.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tests.clients.oci_layout import Layout, tagged_digest  # noqa: E402


def memory(pid: int, field: str) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(rf"{field}:\s+(\d+)", status)[1]) * 1024


def call(url: str, body: dict | None = None) -> dict:
    request = urllib.request.Request(url, data=json.dumps(body).encode() if body else None,
                                     headers={"Authorization": "Bearer bench", "Content-Type": "application/json"})
    with urllib.request.urlopen(request) as answer:
        return json.loads(answer.read() or b"{}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layers", type=int, default=5)
    parser.add_argument("--layer-mib", type=int, default=40)
    options = parser.parse_args()

    with tempfile.TemporaryDirectory() as scratch:
        source = Path(scratch) / "source"
        layout = Layout(source)
        layout.tag(layout.image({f"part{i}": os.urandom(options.layer_mib * 1024 * 1024) for i in range(options.layers)}), "v1")
        image_bytes = sum(p.stat().st_size for p in (source / "blobs" / "sha256").iterdir())

        server = subprocess.Popen([sys.executable, "-m", "docrsim", "serve", "--api-port", "0", "--registry-port", "0",
                                   "--clock", "manual"], stdout=subprocess.PIPE, text=True, cwd=ROOT)
        try:
            api = server.stdout.readline().split()[-1]
            server.stdout.readline()
            server.stdout.readline()
            call(f"{api}/v2/registries", {"name": "bench"})
            auths = call(f"{api}/v2/registries/bench/docker-credentials?read_write=true")["auths"]
            (host, entry), = auths.items()
            credentials = base64.b64decode(entry["auth"]).decode()
            before = memory(server.pid, "VmRSS")

            started = time.perf_counter()
            subprocess.run(["skopeo", "copy", "--dest-tls-verify=false", "--dest-creds", credentials,
                            f"oci:{source}:v1", f"docker://{host}/bench/big:v1"], check=True, capture_output=True)
            copy_in = time.perf_counter() - started
            started = time.perf_counter()
            subprocess.run(["skopeo", "copy", "--src-tls-verify=false", "--src-creds", credentials,
                            f"docker://{host}/bench/big:v1", f"oci:{Path(scratch) / 'back'}:v1"], check=True, capture_output=True)
            copy_out = time.perf_counter() - started
            growth = memory(server.pid, "VmHWM") - before
        finally:
            server.terminate()
            server.wait()
        same = tagged_digest(Path(scratch) / "back", "v1") == tagged_digest(source, "v1")

    print(f"image                     {image_bytes / 1e6:10.1f} MB in {options.layers} layers")
    print(f"copy in (skopeo)          {copy_in:10.2f} s")
    print(f"copy out (skopeo)         {copy_out:10.2f} s")
    print(f"server peak memory growth {growth / 1e6:10.1f} MB = {growth / image_bytes:.2f} x the image")
    print(f"digest after round trip   {'identical' if same else 'DIFFERENT'}")


if __name__ == "__main__":
    main()
