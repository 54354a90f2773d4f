"""Declaring DO API operations: auth, scopes and the state transaction, in one place."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Callable

from flask import Flask, current_app, request
from werkzeug.routing import BaseConverter, PathConverter

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
    memo: bool = False


OPERATIONS: list[Operation] = []
_NAME = "<registry_name>"
_NAME_RULE = "<registry_name:registry_name>"  # see _name_converter


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def operation(operation_id: str, method: str, rule: str, *scopes: str, memo: bool = False):
    """Declare a handler ``fn(sim, now, **path_params)`` for one DO API operation.

    The caller's token must carry every scope; the handler runs inside a state transaction,
    so garbage-collection progress is settled before it reads anything. ``memo``: the
    handler's page depends on nothing but its registry's content, the request's path and
    query and the address it came to, so it is answered again from memory while the content
    is unchanged (docrsim.http.doapi.memo).
    """

    def declare(fn):
        @functools.wraps(fn)
        def view(**path_params):
            config = current_app.config
            config["DOCRSIM_TOKENS"].require(bearer_token(), *scopes)
            if request.method in _BODY_METHODS:
                read_body(request, JSON_BODY_LIMIT)  # too long is 413 before anything else is judged
            sim = config["DOCRSIM_SIM"]
            with sim.transaction() as now:
                registry = sim.account.registries.get(path_params["registry_name"]) if memo else None
                if registry is None:  # an unknown registry is the handler's 404 to give
                    return fn(sim, now, **path_params)
                return config["DOCRSIM_PAGES"].answer(
                    registry.content, operation_id, path_params, lambda: fn(sim, now, **path_params))

        OPERATIONS.append(Operation(operation_id, method, rule.replace(_NAME, _NAME_RULE), scopes, view, memo))
        return fn

    return declare


PLURAL = "/v2/registries"  # the current, multi-registry family
SINGULAR = "/v2/registry"  # the older family, deprecated but still used by doctl


def both_families(name: str, method: str, path: str, *scopes: str, memo: bool = False):
    """Declare one handler as ``registries_<name>`` at /v2/registries<path> and as
    ``registry_<name>`` at the older /v2/registry<path>: the twins behave alike."""

    def declare(fn):
        operation(f"registries_{name}", method, PLURAL + path, *scopes, memo=memo)(fn)
        operation(f"registry_{name}", method, SINGULAR + path, *scopes, memo=memo)(fn)
        return fn

    return declare


def _literal_names() -> frozenset[str]:
    """The literal segments that sit where a registry name would (``options``,
    ``subscription``, ``validate-name``): paths of their own, never registry names."""
    literals = set()
    for op in OPERATIONS:
        for family in (PLURAL, SINGULAR):
            rest = op.rule[len(family) + 1:] if op.rule.startswith(family + "/") else ""
            segment = rest.partition("/")[0]
            if segment and "<" not in segment:
                literals.add(segment)
    return frozenset(literals)


def _name_converter(literals: frozenset[str]) -> type[BaseConverter]:
    class RegistryName(BaseConverter):
        # Without it, /v2/registries/options would also match /v2/registries/{registry_name}:
        # OPTIONS would list that rule's methods in Allow, and DELETE would reach it.
        regex = "(?!(?:" + "|".join(re.escape(word) for word in sorted(literals)) + ")$)[^/]+"

    return RegistryName


class RepositoryName(PathConverter):
    """A repository name whose ``/`` may arrive as-is (as well as ``%2F``), but never so that a
    sub-resource reads as part of the name: ``web/tags`` is repository ``web``'s tags, not a
    repository of that name (which a client names ``web%2Ftags``)."""

    regex = r"[^/]+(?:/(?!(?:tags|digests)(?:/|$))[^/]+)*"


def register(app: Flask) -> None:
    app.url_map.converters["registry_name"] = _name_converter(_literal_names())
    app.url_map.converters["repository_name"] = RepositoryName
    for op in OPERATIONS:
        app.add_url_rule(op.rule, endpoint=op.operation_id, view_func=op.view, methods=[op.method])
