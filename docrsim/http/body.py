"""Parse JSON request bodies into plain dicts, with the errors DO clients expect."""

from __future__ import annotations

import json

from werkzeug.exceptions import RequestEntityTooLarge

from docrsim.core.errors import BadRequest, Invalid
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
