"""What the API host serves and what openapi/docrsim.yaml documents are the same set."""

from __future__ import annotations

import re

from docrsim.core.state import Simulation
from docrsim.http.api_app import create_api_app
from docrsim.http.doapi import OPERATIONS
from tests import spec_conformance

HTTP_METHODS = {"get", "post", "put", "delete", "patch"}


def documented() -> dict[tuple[str, str], str]:
    ops = {}
    for path, item in spec_conformance.document()["paths"].items():
        for method, operation in item.items():
            if method in HTTP_METHODS:
                ops[(method.upper(), path)] = operation["operationId"]
    return ops


def served() -> set[tuple[str, str]]:
    app = create_api_app(Simulation())
    routes = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        # Flask's <path:x> and <x> become OpenAPI's {x}.
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            routes.add((method, path))
    return routes


def test_every_served_route_is_documented_and_vice_versa():
    assert served() == set(documented())


def test_do_operations_use_the_published_operation_ids():
    ids = documented()
    for op in OPERATIONS:
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", op.rule)
        assert ids[(op.method, path)] == op.operation_id


def test_there_are_37_do_operations():
    do_ops = [op for op in OPERATIONS if op.rule.startswith("/v2/")]
    assert len(do_ops) == 37
    assert len({op.operation_id for op in do_ops}) == 37
