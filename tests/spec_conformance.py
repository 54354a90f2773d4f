"""Check live responses against docrsim's own OpenAPI document.

Every response a test's HTTP session receives from the API host is matched to its operation
by method and path template, and must be a documented status whose body validates against
the documented schema and whose required headers are present.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

import jsonschema
import referencing
import referencing.jsonschema
import yaml

SPEC_PATH = Path(__file__).resolve().parents[1] / "openapi" / "docrsim.yaml"
_ROOT = "urn:docrsim:openapi"


class SpecViolation(AssertionError):
    pass


@lru_cache(maxsize=1)
def document() -> dict:
    return yaml.safe_load(SPEC_PATH.read_text())


@lru_cache(maxsize=1)
def _registry() -> referencing.Registry:
    resource = referencing.Resource.from_contents(document(), default_specification=referencing.jsonschema.DRAFT202012)
    return referencing.Registry().with_resource(_ROOT, resource)


def _resolve(node: dict, pointer: str = "") -> tuple[dict, str]:
    """Follow $refs inside the document; return the node and its JSON pointer."""
    while "$ref" in node:
        pointer = node["$ref"].lstrip("#")
        target = document()
        for part in pointer.lstrip("/").split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        node = target
    return node, pointer


def _escape(part: str) -> str:
    return part.replace("~", "~0").replace("/", "~1")


@lru_cache(maxsize=1)
def _routes() -> list[tuple[re.Pattern, str]]:
    routes = []
    for template in document()["paths"]:
        pattern = re.sub(r"\{[^}]+\}", "[^/]+", template)
        routes.append((re.compile(f"^{pattern}$"), template))
    # Literal segments win over parameters, as they do on the server.
    routes.sort(key=lambda r: r[1].count("{"))
    return routes


def operation_for(method: str, raw_path: str):
    """The operation of the path ``raw_path`` is: a literal path (``/v2/registries/options``)
    is never also the parametrised one beside it, whatever the method."""
    for pattern, template in _routes():
        if pattern.match(raw_path):
            operation = document()["paths"][template].get(method.lower())
            return (template, operation) if operation is not None else None
    return None


def check(response) -> None:
    """Raise SpecViolation unless ``response`` (requests.Response) is documented."""
    request = response.request
    path = urlsplit(request.url).path
    found = operation_for(request.method, path)
    if found is None:
        return  # undocumented routes answer 404/405, checked by their own tests
    template, operation = found
    where = f"{request.method} {template} → {response.status_code}"
    documented = operation["responses"]
    status = str(response.status_code)
    if status not in documented:
        raise SpecViolation(f"{where}: status not documented (documented: {', '.join(documented)}); body {response.text[:300]}")
    spec, pointer = _resolve(documented[status], f"/paths/{_escape(template)}/{request.method.lower()}/responses/{status}")
    for name, header in (spec.get("headers") or {}).items():
        if _resolve(header)[0].get("required") and name not in response.headers:
            raise SpecViolation(f"{where}: missing required header {name}")
    content = spec.get("content")
    if not content:
        if response.content:
            raise SpecViolation(f"{where}: documented without a body but got {response.text[:200]!r}")
        return
    media = content.get("application/json")
    if media is None or "schema" not in media:
        return
    try:
        body = response.json()
    except json.JSONDecodeError:
        raise SpecViolation(f"{where}: body is not JSON: {response.text[:200]!r}") from None
    # Point at the schema inside the whole document, so its relative $refs resolve there.
    schema_ref = f"{_ROOT}#{pointer}/content/{_escape('application/json')}/schema"
    validator = jsonschema.Draft202012Validator({"$ref": schema_ref}, registry=_registry())
    errors = sorted(validator.iter_errors(body), key=lambda e: list(map(str, e.absolute_path)))
    if errors:
        first = errors[0]
        at = "/".join(map(str, first.absolute_path)) or "(body)"
        raise SpecViolation(f"{where}: body does not match the schema at {at}: {first.message}")


def hook(response, *args, **kwargs):
    check(response)
    return response
