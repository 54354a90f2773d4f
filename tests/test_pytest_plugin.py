"""The pytest plugin as a user's suite sees it: installed, found through its entry point."""

from __future__ import annotations

USER_SUITE = '''
import pytest
import requests

AUTH = {"Authorization": "Bearer dop_v1_docrsim"}


def names(sim):
    return [r["name"] for r in requests.get(sim.api_url + "/v2/registries", headers=AUTH).json()["registries"]]


def test_empty_by_default(docrsim):
    assert names(docrsim) == []
    requests.post(docrsim.api_url + "/v2/registries", json={"name": "made-here"}, headers=AUTH)
    docrsim.advance(minutes=30)


def test_reset_before_each_test(docrsim):
    assert names(docrsim) == []  # the previous test's registry and clock are gone
    assert docrsim.now().isoformat() == "2026-01-01T00:00:00+00:00"


@pytest.mark.docrsim(fixture="small-app")
def test_marker_scenario(docrsim):
    assert names(docrsim) == ["acme"]


@pytest.mark.parametrize("docrsim_fixture", ["small-app", "multi-arch"], indirect=True)
def test_each_scenario(docrsim_fixture):
    assert len(names(docrsim_fixture)) == 1


@pytest.mark.docrsim(fixture="small-app", seed=3)
def test_own_server_for_another_seed(docrsim, docrsim_server):
    assert docrsim is not docrsim_server and docrsim.sim.seed == 3


@pytest.mark.docrsim(fixture="two-registries")
def test_env_for_tools(docrsim_env):
    import base64, json, os
    assert "DIGITALOCEAN_API_URL" not in os.environ  # the proxy carries the production URL
    assert os.environ["DOCRSIM_URL"] == docrsim_env.api_url
    assert os.environ["HTTPS_PROXY"] == docrsim_env.proxy_url
    assert os.environ["REQUESTS_CA_BUNDLE"] == docrsim_env.ca_bundle
    config = json.load(open(os.path.join(os.environ["DOCKER_CONFIG"], "config.json")))
    auth = tuple(base64.b64decode(config["auths"]["registry.digitalocean.com"]["auth"]).decode().split(":", 1))
    for registry in ("prod", "staging"):  # one login reaches both registries of the host
        answer = requests.get("https://api.digitalocean.com/v2/registry/auth", auth=auth,
                              params={"service": "registry.digitalocean.com", "scope": f"repository:{registry}/web:pull"})
        assert answer.status_code == 200, answer.text


def test_urls_handed_out_keep_working_after_the_proxy_started(docrsim):
    assert docrsim.proxy_url and names(docrsim) == []  # plain http, though TLS is on since
'''


def test_a_user_suite_uses_the_plugin(pytester):
    pytester.makepyfile(test_user=USER_SUITE)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=8)


def test_the_marker_is_registered(pytester):
    result = pytester.runpytest_subprocess("--markers")
    result.stdout.fnmatch_lines(["*@pytest.mark.docrsim(fixture=None, clock='manual'*"])


def test_a_misspelt_marker_option_is_an_error(pytester):
    pytester.makepyfile(test_typo='''
import pytest

@pytest.mark.docrsim(fixtur="small-app")
def test_typo(docrsim):
    pass
''')
    result = pytester.runpytest_subprocess()
    result.stdout.fnmatch_lines(["*unknown docrsim marker option*fixtur*"])
    assert result.ret != 0
