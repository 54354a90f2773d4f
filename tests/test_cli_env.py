"""``docrsim serve --proxy-port`` and ``docrsim env``: a shell that evaluates what env prints
reaches docrsim as api.digitalocean.com and registry.digitalocean.com, with verified TLS."""

from __future__ import annotations

import json
import shlex
import stat
import subprocess
from urllib.parse import urlsplit

import pytest

from tests.served import DOCRSIM, ENV, ROOT, ServedProcess

NAMES = ["HTTPS_PROXY", "https_proxy", "NO_PROXY", "no_proxy", "SSL_CERT_FILE", "REQUESTS_CA_BUNDLE",
         "CURL_CA_BUNDLE", "NODE_EXTRA_CA_CERTS", "DIGITALOCEAN_ACCESS_TOKEN", "DOCKER_CONFIG", "DOCRSIM_URL"]


def docrsim(*args: str, env=None) -> subprocess.CompletedProcess:
    return subprocess.run([*DOCRSIM, *args], cwd=ROOT, capture_output=True, text=True, timeout=60,
                          env={**ENV, **(env or {})})


def parse_exports(text: str) -> dict[str, str]:
    values = {}
    for line in text.splitlines():
        assert line.startswith("export "), line
        name, _, value = line[len("export "):].partition("=")
        values[name] = shlex.split(value)[0] if value else ""
    return values


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    ca = tmp_path_factory.mktemp("ca")
    process = ServedProcess("--proxy-port", "0", "--ca-dir", str(ca), "--fixture", "fixtures/small-app.yaml",
                            "--clock", "manual")
    urls = process.wait_ready()
    yield urls, ca
    process.kill()


def test_serve_prints_the_proxy_and_the_ca_on_lines_of_their_own(served):
    urls, ca = served
    assert urls["API host"].startswith("https://127.0.0.1:") and urls["registry host"].startswith("https://127.0.0.1:")
    assert urls["proxy"].startswith("http://127.0.0.1:")
    assert urls["CA"] == str(ca / "ca.pem")
    assert stat.S_IMODE((ca / "ca-key.pem").stat().st_mode) == 0o600


def test_env_prints_what_unmodified_tools_read(served, tmp_path):
    urls, ca = served
    plain_api = urls["API host"].replace("https://", "http://")
    result = docrsim("env", "--url", plain_api, "--docker-config", str(tmp_path / "docker"),
                     env={"DIGITALOCEAN_ACCESS_TOKEN": "dop_v1_mine"})
    assert result.returncode == 0, result.stderr
    values = parse_exports(result.stdout)
    assert list(values) == NAMES
    assert values["HTTPS_PROXY"] == values["https_proxy"] == urls["proxy"]
    assert values["NO_PROXY"] == "127.0.0.1,localhost,::1"
    assert values["SSL_CERT_FILE"] == values["REQUESTS_CA_BUNDLE"] == values["CURL_CA_BUNDLE"] == str(ca / "bundle.pem")
    assert values["NODE_EXTRA_CA_CERTS"] == str(ca / "ca.pem")
    assert values["DIGITALOCEAN_ACCESS_TOKEN"] == "dop_v1_mine"
    config = tmp_path / "docker" / "config.json"
    assert values["DOCKER_CONFIG"] == str(tmp_path / "docker") and stat.S_IMODE(config.stat().st_mode) == 0o600
    assert "registry.digitalocean.com" in json.loads(config.read_text())["auths"]


def test_a_shell_that_evaluates_env_reaches_the_production_names(served, tmp_path):
    urls, _ = served
    assert urlsplit(urls["proxy"]).hostname == "127.0.0.1"  # all https goes to docrsim on loopback
    plain_api = urls["API host"].replace("https://", "http://")
    script = f'''set -eu
eval "$({shlex.join(DOCRSIM)} env --url {plain_api} --docker-config {tmp_path / 'docker'})"
curl -sS --fail -H "Authorization: Bearer $DIGITALOCEAN_ACCESS_TOKEN" https://api.digitalocean.com/v2/registries
{shlex.join(DOCRSIM)} clock advance 5m
'''
    run = subprocess.run(["sh", "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60,
                         env={k: v for k, v in ENV.items() if k not in ("HTTPS_PROXY", "https_proxy")})
    assert run.returncode == 0, run.stderr
    listing, moved = [line for line in run.stdout.splitlines() if line]
    assert json.loads(listing)["registries"][0]["name"] == "acme"
    assert moved.endswith("Z")  # DOCRSIM_URL reaches the API host over plain HTTP, docrsim's own channel


def test_env_says_when_the_server_runs_no_proxy(tmp_path):
    process = ServedProcess()
    try:
        urls = process.wait_ready()
        result = docrsim("env", "--url", urls["API host"], "--docker-config", str(tmp_path))
    finally:
        process.kill()
    assert result.returncode == 0
    assert result.stderr.startswith(f"docrsim: {urls['API host']} runs no proxy, so DOCR's production names do not "
                                    f"reach it; start it with --proxy-port 0")
    values = parse_exports(result.stdout)
    assert "HTTPS_PROXY" not in values and "SSL_CERT_FILE" not in values
    assert values["DOCRSIM_URL"] == urls["API host"]


def test_env_without_a_server_is_exit_code_3(tmp_path):
    result = docrsim("env", "--url", "http://127.0.0.1:9", "--docker-config", str(tmp_path))
    assert result.returncode == 3 and result.stdout == ""
    assert result.stderr.startswith("docrsim: cannot reach docrsim at http://127.0.0.1:9")


def test_tls_on_waitress_is_refused_at_start(tmp_path):
    result = docrsim("serve", "--api-port", "0", "--registry-port", "0", "--server", "waitress", "--tls",
                     "--ca-dir", str(tmp_path))
    assert result.returncode == 2
    assert result.stderr == "docrsim: TLS needs the threaded server: waitress serves plain HTTP only (use --server threaded)\n"


def test_an_unusable_ca_folder_stops_serve_and_is_left_alone(tmp_path):
    from docrsim.network.authority import CertificateAuthority

    CertificateAuthority.load_or_create(tmp_path)
    (tmp_path / "ca.pem").write_text("garbage")
    result = docrsim("serve", "--api-port", "0", "--registry-port", "0", "--tls", "--ca-dir", str(tmp_path))
    assert result.returncode == 2
    assert result.stderr.startswith(f"docrsim: {tmp_path / 'ca.pem'}: not a PEM certificate")
    assert (tmp_path / "ca.pem").read_text() == "garbage"


def test_env_refuses_a_token_a_docrsim_with_a_token_list_does_not_take(tmp_path):
    tokens = tmp_path / "tokens.yaml"
    tokens.write_text("dop_v1_reader: [registry:read]\n")
    process = ServedProcess("--tokens", str(tokens))
    try:
        api = process.wait_ready()["API host"]
        refused = docrsim("env", "--url", api, "--docker-config", str(tmp_path / "d"),
                          env={"DIGITALOCEAN_ACCESS_TOKEN": "dop_v1_unlisted"})
        listed = docrsim("env", "--url", api, "--docker-config", str(tmp_path / "d"), "--token", "dop_v1_reader")
    finally:
        process.kill()
    assert refused.returncode == 1 and refused.stdout == ""
    assert refused.stderr.startswith(f"docrsim: {api} does not accept the token 'dop_v1_unlisted' (")
    assert refused.stderr.rstrip().endswith("give one it was started with (--tokens) as --token or "
                                            "DIGITALOCEAN_ACCESS_TOKEN")
    assert listed.returncode == 0 and parse_exports(listed.stdout)["DIGITALOCEAN_ACCESS_TOKEN"] == "dop_v1_reader"
