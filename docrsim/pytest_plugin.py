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
    """``docrsim`` with the environment DO tools read pointing at it, and DOCKER_CONFIG set
    to a folder whose config.json logs in to the registry host with the API token, which
    reaches every registry (one host holds them all, so one entry serves them all)."""
    for name, value in docrsim.env().items():
        monkeypatch.setenv(name, value)
    docrsim.docker_config(tmp_path / "docker")
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "docker"))
    return docrsim
