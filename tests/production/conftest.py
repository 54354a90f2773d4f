"""Unmodified clients reaching docrsim by DOCR's production names.

These tests give no client a docrsim URL: they set the environment ``docrsim env`` prints
(through the plugin's ``docrsim_env``) and use ``api.digitalocean.com`` and
``registry.digitalocean.com`` as production code does. So that nothing they do can leave the
machine, ``tests/test_production_names.py`` runs them inside a network namespace holding only
loopback (``DOCRSIM_ISOLATION=netns``); where no namespace can be made it runs them guarded
(``DOCRSIM_ISOLATION=guarded``): each test first checks that ``HTTPS_PROXY`` is docrsim's own
loopback proxy. Collected any other way, they are deselected.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path
from urllib.parse import urlsplit

import pytest

HERE = Path(__file__).parent
ISOLATION = os.environ.get("DOCRSIM_ISOLATION")
LOOPBACK = {"127.0.0.1", "::1", "localhost"}


def pytest_collection_modifyitems(config, items):
    if ISOLATION in ("netns", "guarded"):
        return
    mine = [item for item in items if HERE in Path(item.fspath).parents]
    if mine:
        config.hook.pytest_deselected(items=mine)
        items[:] = [item for item in items if item not in mine]


@pytest.fixture(scope="session", autouse=True)
def isolated():
    if ISOLATION == "netns":
        interfaces = sorted(name for _, name in socket.if_nameindex())
        assert interfaces == ["lo"], f"the namespace should hold loopback alone, not {interfaces}"


@pytest.fixture
def production(docrsim_env):
    """``docrsim_env``, checked: every https request of a client goes to docrsim's proxy on
    loopback before the test may start one."""
    proxy = os.environ["HTTPS_PROXY"]
    assert proxy == docrsim_env.proxy_url and urlsplit(proxy).hostname in LOOPBACK
    assert os.environ["https_proxy"] == proxy
    return docrsim_env
