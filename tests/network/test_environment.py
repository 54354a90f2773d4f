"""The variables that point tools at docrsim, from what GET /_docrsim/endpoints answers."""

from __future__ import annotations

from docrsim.network.environment import variables

ENDPOINTS = {"api_url": "https://127.0.0.1:8080", "registry_url": "https://127.0.0.1:5000",
             "registry_host": "127.0.0.1:5000", "tls": True, "proxy_url": "http://127.0.0.1:8443",
             "ca_certificate": "/ca/ca.pem", "ca_bundle": "/ca/bundle.pem"}


def test_docrsim_url_is_plain_http_whatever_the_hosts_speak():
    assert variables(ENDPOINTS, "t", None)["DOCRSIM_URL"] == "http://127.0.0.1:8080"


def test_a_host_listening_beyond_loopback_stays_out_of_the_proxy():
    env = variables({**ENDPOINTS, "api_url": "https://192.0.2.7:8080"}, "t", None)
    assert env["NO_PROXY"] == env["no_proxy"] == "127.0.0.1,localhost,::1,192.0.2.7"
    assert variables({**ENDPOINTS, "api_url": "http://0.0.0.0:8080"}, "t", None)["NO_PROXY"] == "127.0.0.1,localhost,::1"


def test_without_proxy_or_tls_only_the_direct_settings():
    env = variables({**ENDPOINTS, "proxy_url": None, "ca_bundle": None, "ca_certificate": None}, "t", "/d")
    assert env == {"DIGITALOCEAN_ACCESS_TOKEN": "t", "DOCKER_CONFIG": "/d", "DOCRSIM_URL": "http://127.0.0.1:8080"}
