"""Fault rules through the Simulator: the same names as over HTTP, checked the same way."""

from __future__ import annotations

import pytest
import requests

from docrsim import Simulator
from docrsim.core.errors import Invalid

AUTH = {"Authorization": "Bearer dop_v1_docrsim"}


def test_a_family_free_name_fires_for_both_families():
    with Simulator(fixture="small-app") as sim:
        sim.inject(operation_id="delete_repositoryTag", status=503)
        plural = requests.delete(sim.api_url + "/v2/registries/acme/repositories/web/tags/v1", headers=AUTH)
        singular = requests.delete(sim.api_url + "/v2/registry/acme/repositories/web/tags/v1", headers=AUTH)
        assert (plural.status_code, singular.status_code) == (503, 503)


def test_a_name_no_operation_has_is_refused_not_silently_missed():
    with Simulator() as sim:
        with pytest.raises(Invalid, match="did you mean 'delete_repositoryTag'"):
            sim.inject(operation_id="delete_repository_tag", status=500)
        assert sim.state()["faults"]["rules"] == []
