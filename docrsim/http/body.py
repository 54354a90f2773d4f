"""Parse JSON request bodies into plain dicts, with the errors DO clients expect."""

from __future__ import annotations

import json

from docrsim.core.errors import BadRequest, Invalid


def json_object(request, *, allowed: set[str] | None = None, optional: bool = False) -> dict:
    """The body as a JSON object. Empty is ``{}`` when ``optional``; unknown fields are 422."""
    raw = request.get_data(cache=True)
    if not raw.strip():
        if optional:
            return {}
        raise BadRequest("error parsing request body: the body is empty")
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, ValueError) as exc:
        raise BadRequest(f"error parsing request body: {exc}") from None
    if not isinstance(body, dict):
        raise BadRequest("error parsing request body: expected a JSON object")
    if allowed is not None:
        unknown = sorted(set(body) - allowed)
        if unknown:
            raise Invalid(f"unknown field{'s' if len(unknown) > 1 else ''}: {', '.join(unknown)}")
    return body
