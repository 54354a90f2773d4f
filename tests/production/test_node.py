"""Node: its own fetch and https ignore HTTPS_PROXY (Node 20), so a client goes through a
tunnel it opens itself, as proxy agents do; NODE_EXTRA_CA_CERTS makes it trust docrsim."""

from __future__ import annotations

import shutil
import subprocess

import pytest

pytestmark = [pytest.mark.skipif(shutil.which("node") is None, reason="node is not on the PATH"),
              pytest.mark.docrsim(fixture="small-app")]

THROUGH_A_TUNNEL = r'''
const http = require("http"), tls = require("tls"), proxy = new URL(process.env.HTTPS_PROXY);
http.request({host: proxy.hostname, port: proxy.port, method: "CONNECT", path: "api.digitalocean.com:443"})
  .on("connect", (answer, socket) => {
    const secure = tls.connect({socket, servername: "api.digitalocean.com"}, () => secure.write(
      "GET /v2/registries HTTP/1.1\r\nHost: api.digitalocean.com\r\nConnection: close\r\n" +
      "Authorization: Bearer " + process.env.DIGITALOCEAN_ACCESS_TOKEN + "\r\n\r\n"));
    let text = "";
    secure.on("data", chunk => text += chunk).on("end", () => console.log(text.split("\r\n\r\n")[1]));
    secure.on("error", error => { console.log("tls error " + error.code); process.exit(1); });
  }).end();
'''


def test_node_trusts_docrsim_through_node_extra_ca_certs(production):
    run = subprocess.run(["node", "-e", THROUGH_A_TUNNEL], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stdout + run.stderr
    assert '"name":"acme"' in run.stdout


def test_without_it_node_refuses_the_certificate(production, monkeypatch):
    monkeypatch.delenv("NODE_EXTRA_CA_CERTS")
    run = subprocess.run(["node", "-e", THROUGH_A_TUNNEL], capture_output=True, text=True, timeout=60)
    assert run.returncode == 1 and "tls error" in run.stdout
