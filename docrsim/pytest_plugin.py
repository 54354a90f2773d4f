"""pytest plugin: a docrsim for every test, registered through the ``pytest11`` entry point.

    def test_cleanup(docrsim):                       # empty account, manual clock, seed 0
        client = pydo.Client(token=docrsim.token, endpoint=docrsim.api_url)

    @pytest.mark.docrsim(fixture="multi-arch")      # start from a shipped scenario
    def test_multi_arch(docrsim): ...

    @pytest.mark.parametrize("docrsim_fixture", ["small-app", "multi-arch"], indirect=True)
    def test_each(docrsim_fixture): ...

One server serves the whole session and is reset before each test (a few milliseconds for
small scenarios); a test that asks for another clock, seed or start time gets its own.
"""

from __future__ import annotations

import pytest

_SHARED = {"clock": "manual", "seed": 0, "start_time": None}


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "docrsim(fixture=None, clock='manual', seed=0, start_time=None): the scenario and clock "
        "the docrsim fixture starts the test with",
    )


@pytest.fixture(scope="session")
def docrsim_server():
    """The session's shared simulator (manual clock, seed 0); prefer the ``docrsim`` fixture."""
    from docrsim.simulator import Simulator

    with Simulator() as simulator:
        yield simulator


@pytest.fixture
def docrsim(request, docrsim_server):
    """A simulator reset for this test, as its ``docrsim`` marker describes."""
    marker = request.node.get_closest_marker("docrsim")
    options = dict(marker.kwargs) if marker else {}
    fixture = options.pop("fixture", None)
    unknown = set(options) - set(_SHARED)
    if unknown:
        raise pytest.UsageError(f"unknown docrsim marker option(s): {', '.join(sorted(unknown))}")
    if any(options.get(k, v) != v for k, v in _SHARED.items()):
        from docrsim.simulator import Simulator

        with Simulator(fixture, **{**_SHARED, **options}) as own:
            yield own
        return
    docrsim_server.reset(fixture)
    yield docrsim_server


@pytest.fixture
def docrsim_fixture(request, docrsim):
    """``docrsim`` started from the scenario named by indirect parametrisation."""
    docrsim.reset(request.param)
    return docrsim


@pytest.fixture
def docrsim_env(docrsim, monkeypatch, tmp_path):
    """``docrsim`` reached by DOCR's production names: its forward proxy and TLS started, and
    the variables of ``docrsim env`` set (``HTTPS_PROXY``, ``NO_PROXY``, ``SSL_CERT_FILE``,
    ``REQUESTS_CA_BUNDLE``, ``CURL_CA_BUNDLE``, ``NODE_EXTRA_CA_CERTS``,
    ``DIGITALOCEAN_ACCESS_TOKEN``, ``DOCRSIM_URL``), with ``DOCKER_CONFIG`` a folder whose
    config.json logs in to ``registry.digitalocean.com`` (and the registry host's direct
    address) with the API token, which reaches every registry. Unchanged code (pydo's default
    endpoint, doctl without ``-u``, ``registry.digitalocean.com/...`` references) then talks
    to docrsim."""
    docrsim.enable_proxy()
    folder = tmp_path / "docker"
    docrsim.docker_config(folder)
    for name, value in docrsim.env(docker_config=folder).items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("DIGITALOCEAN_API_URL", raising=False)  # a value from outside would bypass the proxy
    return docrsim
