"""Request-body fields, checked strictly: unknown or mistyped fields are a 422 naming them."""

from __future__ import annotations

from flask import request

from docrsim.core.errors import Invalid
from docrsim.http.body import json_object


def fields(spec: dict[str, tuple[type, bool]], *, optional_body: bool = False) -> dict:
    """Parse the body; ``spec`` maps field name → (type, required)."""
    body = json_object(request, allowed=set(spec), optional=optional_body)
    for name, (kind, required) in spec.items():
        if name not in body:
            if required:
                raise Invalid(f"{name} is required")
            continue
        value = body[name]
        if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
            raise Invalid(f"{name} must be a {_KIND_NAMES.get(kind, kind.__name__)}")
    return body


_KIND_NAMES = {str: "string", bool: "boolean", int: "integer"}
