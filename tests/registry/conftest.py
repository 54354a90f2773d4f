"""Fixtures for the registry host tests.

``world(document)`` starts docrsim on a scenario document; ``reg`` is a Professional account
with two empty registries, ``acme`` and ``beta``. A ``Client`` speaks to one repository with
a bearer JWT obtained the way docker does: docker-credentials, then the token service.
"""

from __future__ import annotations

import pytest

from tests.conftest import start_live
from tests.registry.support import Client, Registry, account


@pytest.fixture
def world():
    """Start docrsim on a scenario document: ``world(account("starter", {"name": "tiny"}))``."""
    started = []

    def _start(document: dict, tokens=None) -> Registry:
        instance = start_live([document], tokens=tokens)
        started.append(instance)
        return Registry(instance)

    yield _start
    for instance in started:
        instance.http.close()
        instance.server.stop()


@pytest.fixture
def reg(world) -> Registry:
    """A Professional account with two empty registries, ``acme`` and ``beta``."""
    return world(account("professional", {"name": "acme"}, {"name": "beta"}))


@pytest.fixture
def web(reg) -> Client:
    """Pull and push on ``acme/web``."""
    return reg.client("acme/web")
