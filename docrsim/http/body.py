"""Parse request bodies into plain dicts, with the errors DO clients expect: JSON for the DO
API; JSON or YAML, told apart by ``Content-Type``, for docrsim's control API."""

from __future__ import annotations

import json

from werkzeug.exceptions import RequestEntityTooLarge

from docrsim.core.errors import BadRequest, Invalid, UnsupportedMediaType
from docrsim.http.limits import JSON_BODY_LIMIT


class BodyTooLarge(RequestEntityTooLarge):
    """413: the body is longer than its endpoint's limit (each host renders it its own way)."""

    def __init__(self, limit: int):
        super().__init__(f"the request body is larger than this endpoint's limit of {limit} bytes")
        self.limit = limit


def read_body(request, limit: int) -> bytes:
    """The whole body, or BodyTooLarge when it is longer than ``limit`` bytes.

    Checked before reading when a Content-Length announces the size, and while reading a
    chunked body (which has none): at most ``limit + 1`` bytes are ever held.
    """
    if request.content_length is not None and request.content_length > limit:
        raise BodyTooLarge(limit)
    # One byte over the limit is what tells a chunked body that is too long from one that fits.
    request.max_content_length = limit + 1
    try:
        raw = request.get_data(cache=True)
    except RequestEntityTooLarge:
        raise BodyTooLarge(limit) from None
    if len(raw) > limit:
        raise BodyTooLarge(limit)
    return raw


def json_object(request, *, allowed: set[str] | None = None, optional: bool = False,
                limit: int = JSON_BODY_LIMIT) -> dict:
    """The body as a JSON object. Empty is ``{}`` when ``optional``; unknown fields are 422;
    a body longer than ``limit`` bytes is 413."""
    raw = read_body(request, limit)
    if not raw.strip():
        return _empty(optional)
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, ValueError) as exc:
        raise BadRequest(f"error parsing request body: {exc}") from None
    return _checked(body, allowed, "a JSON object")


YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml")
# A body with no type of its own, or with curl's default for -d, is read as JSON, as it always was.
UNTYPED = ("", "application/x-www-form-urlencoded")


def control_object(request, *, allowed: set[str] | None = None, optional: bool = False,
                   limit: int = JSON_BODY_LIMIT) -> dict:
    """The body of a control API call as an object: YAML when ``Content-Type`` says so
    (``application/yaml`` and its older spellings), JSON for ``application/json``, a ``+json``
    type or no type; any other type is 415 naming the accepted ones."""
    kind = request.mimetype or ""
    if kind in YAML_TYPES or kind.endswith("+yaml"):
        raw = read_body(request, limit)
        if not raw.strip():
            return _empty(optional)
        return _checked(_yaml(raw), allowed, "a YAML mapping")
    if kind in UNTYPED or kind == "application/json" or kind.endswith("+json"):
        try:
            return json_object(request, allowed=allowed, optional=optional, limit=limit)
        except BadRequest as exc:
            if kind == "application/json":
                raise
            raise BadRequest(f"{exc.message} (a YAML body needs Content-Type: application/yaml)") from None
    raise UnsupportedMediaType(f"Content-Type {kind!r} is not one docrsim reads here: send application/json "
                               "or application/yaml")


def _yaml(raw: bytes):
    from docrsim.scenarios.loader import ScenarioError, parse

    try:
        return parse(raw.decode())
    except UnicodeDecodeError as exc:
        raise BadRequest(f"error parsing request body: not UTF-8 text: {exc}") from None
    except ScenarioError as exc:
        raise BadRequest(f"error parsing request body: {exc.problems[0]}") from None


def _empty(optional: bool) -> dict:
    if optional:
        return {}
    raise BadRequest("error parsing request body: the body is empty")


def _checked(body, allowed: set[str] | None, expected: str) -> dict:
    if not isinstance(body, dict):
        raise BadRequest(f"error parsing request body: expected {expected}")
    if allowed is not None:
        unknown = sorted(set(body) - allowed)
        if unknown:
            raise Invalid(f"unknown field{'s' if len(unknown) > 1 else ''}: {', '.join(unknown)}")
    return body
