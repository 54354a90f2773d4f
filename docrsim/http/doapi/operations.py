"""Declaring DO API operations: auth, scopes and the state transaction, in one place."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Callable

from flask import Flask, current_app, request

from docrsim.http.body import read_body
from docrsim.http.limits import JSON_BODY_LIMIT

_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


@dataclass(frozen=True)
class Operation:
    operation_id: str
    method: str
    rule: str
    scopes: tuple[str, ...]
    view: Callable


OPERATIONS: list[Operation] = []


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def operation(operation_id: str, method: str, rule: str, *scopes: str):
    """Declare a handler ``fn(sim, now, **path_params)`` for one DO API operation.

    The caller's token must carry every scope; the handler runs inside a state transaction,
    so garbage-collection progress is settled before it reads anything.
    """

    def declare(fn):
        @functools.wraps(fn)
        def view(**path_params):
            current_app.config["DOCRSIM_TOKENS"].require(bearer_token(), *scopes)
            if request.method in _BODY_METHODS:
                read_body(request, JSON_BODY_LIMIT)  # too long is 413 before anything else is judged
            sim = current_app.config["DOCRSIM_SIM"]
            with sim.transaction() as now:
                return fn(sim, now, **path_params)

        OPERATIONS.append(Operation(operation_id, method, rule, scopes, view))
        return fn

    return declare


PLURAL = "/v2/registries"  # the current, multi-registry family
SINGULAR = "/v2/registry"  # the older family, deprecated but still used by doctl


def both_families(name: str, method: str, path: str, *scopes: str):
    """Declare one handler as ``registries_<name>`` at /v2/registries<path> and as
    ``registry_<name>`` at the older /v2/registry<path>: the twins behave alike."""

    def declare(fn):
        operation(f"registries_{name}", method, PLURAL + path, *scopes)(fn)
        operation(f"registry_{name}", method, SINGULAR + path, *scopes)(fn)
        return fn

    return declare


def register(app: Flask) -> None:
    for op in OPERATIONS:
        app.add_url_rule(op.rule, endpoint=op.operation_id, view_func=op.view, methods=[op.method])
