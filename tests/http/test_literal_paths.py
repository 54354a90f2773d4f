"""Literal paths beside a name (``/v2/registries/options``, ``.../repositories/web/tags``) reach
their own operations only: never the operations of a registry or repository of that name."""

from __future__ import annotations

import pytest

OPTIONS_PATHS = {
    "/v2/registries/options": "GET, HEAD, OPTIONS",
    "/v2/registry/options": "GET, HEAD, OPTIONS",
    "/v2/registries/subscription": "GET, HEAD, OPTIONS, POST",
    "/v2/registries/validate-name": "OPTIONS, POST",
    "/v2/registry/validate-name": "OPTIONS, POST",
    "/v2/registries/acme": "DELETE, GET, HEAD, OPTIONS",
    "/v2/registries/acme/repositories/web/tags": "GET, HEAD, OPTIONS",
    "/v2/registries/acme/repositories/tools/migrate/digests": "GET, HEAD, OPTIONS",
    "/v2/registries/acme/repositories/web": "DELETE, OPTIONS",
    "/_docrsim/faults/gc": "OPTIONS, POST",
    "/_docrsim/faults/fault-1": "DELETE, OPTIONS",
}


def _allowed(answer) -> str:
    return ", ".join(sorted(method.strip() for method in answer.headers["Allow"].split(",")))


@pytest.mark.parametrize("path", OPTIONS_PATHS)
def test_options_lists_the_methods_of_that_path_alone(scenario, path):
    live = scenario("small-app")
    answer = live.http.options(live.url(path))
    assert answer.status_code == 200
    assert _allowed(answer) == OPTIONS_PATHS[path]


@pytest.mark.parametrize("path", ["/v2/registries/options", "/v2/registries/subscription",
                                  "/v2/registries/validate-name", "/v2/registries/acme/repositories/web/tags",
                                  "/_docrsim/faults/gc"])
def test_a_method_another_path_would_take_is_refused_with_405(scenario, path):
    live = scenario("small-app")
    answer = live.http.delete(live.url(path))
    assert answer.status_code == 405, answer.text
    assert "DELETE" not in answer.headers["Allow"]
    assert answer.json()["id"] == "method_not_allowed"


def test_a_repository_whose_name_ends_in_tags_is_still_reached_encoded(scenario):
    live = scenario("small-app")
    answer = live.http.delete(live.url("/v2/registries/acme/repositories/web%2Ftags"))
    assert answer.status_code == 404  # no such repository: the name arrived whole
    assert "web/tags" in answer.json()["message"]
