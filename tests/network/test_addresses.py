"""Answers name the addresses the client used: production names for a request that came as
api.digitalocean.com or registry.digitalocean.com, the client's own host name otherwise."""

from __future__ import annotations

import base64
import socket

import pytest
import requests

from docrsim.server import TlsUnsupported
from docrsim.simulator import Simulator
from tests.network.support import https_get

TOKEN = {"Authorization": "Bearer dop_v1_docrsim"}


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    with Simulator(fixture="small-app", tls=True, ca_dir=tmp_path_factory.mktemp("ca")) as simulator:
        yield simulator


def port_of(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


def plain(url: str) -> str:
    return url.replace("https://", "http://")


def as_production(sim, host: str, path: str, **kwargs) -> requests.Response:
    """A request carrying a production Host header, sent to docrsim's port directly."""
    base = sim.api_url if host == "api.digitalocean.com" else sim.registry_url
    return requests.get(base + path, headers={"Host": host, **kwargs.pop("headers", {})}, verify=sim.ca_bundle, **kwargs)


def test_tls_and_plain_http_share_each_port(sim):
    assert sim.api_url.startswith("https://")
    assert requests.get(sim.api_url + "/v2/registries", headers=TOKEN, verify=sim.ca_bundle).status_code == 200
    assert requests.get(plain(sim.api_url) + "/v2/registries", headers=TOKEN).status_code == 200
    assert requests.get(sim.registry_url + "/v2/", verify=sim.ca_bundle).status_code == 401
    assert requests.get(plain(sim.registry_url) + "/v2/").status_code == 401


def test_docker_credentials_are_keyed_by_the_registry_name_the_client_would_use(sim):
    production = as_production(sim, "api.digitalocean.com", "/v2/registries/acme/docker-credentials", headers=TOKEN)
    assert list(production.json()["auths"]) == ["registry.digitalocean.com"]
    direct = requests.get(plain(sim.api_url) + "/v2/registries/acme/docker-credentials", headers=TOKEN)
    assert list(direct.json()["auths"]) == [sim.registry_host]
    by_name = requests.get(f"http://localhost:{port_of(sim.api_url)}/v2/registry/docker-credentials", headers=TOKEN)
    assert list(by_name.json()["auths"]) == [f"localhost:{port_of(sim.registry_url)}"]


def test_pagination_links_name_the_production_api(sim):
    page = as_production(sim, "api.digitalocean.com", "/v2/registries/acme/repositoriesV2?per_page=1", headers=TOKEN)
    assert page.json()["links"]["pages"]["next"].startswith(
        "https://api.digitalocean.com/v2/registries/acme/repositoriesV2?page=2")
    direct = requests.get(plain(sim.api_url) + "/v2/registries/acme/repositoriesV2?per_page=1", headers=TOKEN)
    assert direct.json()["links"]["pages"]["next"].startswith(plain(sim.api_url) + "/v2/registries/acme/")


@pytest.mark.parametrize("how, realm, service", [
    ("production", "https://api.digitalocean.com/v2/registry/auth", "registry.digitalocean.com"),
    ("https", "https://127.0.0.1:{api}/v2/registry/auth", "127.0.0.1:{registry}"),
    ("http", "http://127.0.0.1:{api}/v2/registry/auth", "127.0.0.1:{registry}"),
    ("localhost", "http://localhost:{api}/v2/registry/auth", "localhost:{registry}"),
])
def test_the_registry_challenge_names_the_addresses_used(sim, how, realm, service):
    ports = {"api": port_of(sim.api_url), "registry": port_of(sim.registry_url)}
    if how == "production":
        answer = as_production(sim, "registry.digitalocean.com", "/v2/")
    elif how == "https":
        answer = requests.get(sim.registry_url + "/v2/", verify=sim.ca_bundle)
    elif how == "http":
        answer = requests.get(plain(sim.registry_url) + "/v2/")
    else:
        answer = requests.get(f"http://localhost:{ports['registry']}/v2/")
    assert answer.headers["WWW-Authenticate"] == \
        f'Bearer realm="{realm.format(**ports)}",service="{service.format(**ports)}"'


def test_a_token_for_the_production_name_works_there_and_only_there(sim):
    basic = "Basic " + base64.b64encode(b"dop_v1_docrsim:dop_v1_docrsim").decode()
    issued = as_production(sim, "api.digitalocean.com", "/v2/registry/auth?service=registry.digitalocean.com"
                                                        "&scope=repository:acme/web:pull", headers={"Authorization": basic})
    assert issued.status_code == 200, issued.text
    bearer = {"Authorization": "Bearer " + issued.json()["token"]}
    assert as_production(sim, "registry.digitalocean.com", "/v2/acme/web/tags/list", headers=bearer).status_code == 200
    elsewhere = requests.get(plain(sim.registry_url) + "/v2/acme/web/tags/list", headers=bearer)
    assert elsewhere.status_code == 401 and 'error="invalid_token"' in elsewhere.headers["WWW-Authenticate"]


def test_the_token_service_names_the_services_it_serves(sim):
    basic = "Basic " + base64.b64encode(b"dop_v1_docrsim:dop_v1_docrsim").decode()
    refused = requests.get(plain(sim.api_url) + "/v2/registry/auth?service=quay.io", headers={"Authorization": basic})
    assert refused.status_code == 400
    assert refused.json()["message"] == (f"unknown service 'quay.io': this token service serves "
                                         f"{sim.registry_host} and registry.digitalocean.com")


def test_a_host_header_that_is_no_host_name_is_not_repeated(sim):
    answer = requests.get(plain(sim.registry_url) + "/v2/", headers={"Host": 'evil",realm="x'})
    assert answer.headers["WWW-Authenticate"] == \
        f'Bearer realm="{sim.api_url}/v2/registry/auth",service="{sim.registry_host}"'


def test_a_silent_tls_client_holds_up_no_one(sim):
    """The handshake runs on the connection's own thread: a client that starts one and goes
    quiet does not keep the next client waiting."""
    quiet = socket.create_connection(("127.0.0.1", port_of(sim.api_url)))
    quiet.sendall(b"\x16")
    assert requests.get(sim.api_url + "/v2/registries", headers=TOKEN, verify=sim.ca_bundle, timeout=5).ok
    quiet.close()


def test_a_client_that_does_not_trust_the_ca_is_refused_and_others_go_on(sim):
    import certifi
    import ssl

    sock = socket.create_connection(("127.0.0.1", port_of(sim.api_url)))
    with pytest.raises(ssl.SSLCertVerificationError):
        https_get(sock, "127.0.0.1", "/v2/registries", certifi.where())
    sock = socket.create_connection(("127.0.0.1", port_of(sim.api_url)))
    assert https_get(sock, "localhost", "/v2/registries", sim.ca_certificate).startswith(b"HTTP/1.1 401")


def test_tls_turned_on_later_keeps_the_urls_handed_out(tmp_path):
    with Simulator(ca_dir=tmp_path) as sim:
        before = sim.api_url
        sim.enable_proxy()
        assert sim.api_url == before and before.startswith("http://")
        assert requests.get(sim.api_url + "/v2/registries", headers=TOKEN).ok
        assert requests.get(before.replace("http://", "https://") + "/v2/registries", headers=TOKEN,
                            verify=sim.ca_bundle).ok


def test_waitress_cannot_speak_tls(tmp_path):
    from docrsim.core.state import Simulation
    from docrsim.server import Server

    with pytest.raises(TlsUnsupported, match="threaded"):
        Server(Simulation(), api_port=0, registry_port=0, server="waitress", tls=True, ca_dir=tmp_path)
