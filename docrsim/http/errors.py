"""One mapping from domain errors to the DO API's JSON error body."""

from __future__ import annotations

from flask import g, jsonify

from docrsim.core import errors

# (status, id) per domain error; the most specific class wins (checked in MRO order).
_DO_ERRORS: dict[type, tuple[int, str]] = {
    errors.BadRequest: (400, "bad_request"),
    errors.Unauthorized: (401, "unauthorized"),
    errors.Forbidden: (403, "forbidden"),
    errors.NotFound: (404, "not_found"),
    errors.Conflict: (409, "conflict"),
    errors.PreconditionFailed: (412, "precondition_failed"),
    errors.UnsupportedMediaType: (415, "unsupported_media_type"),
    errors.LimitExceeded: (412, "precondition_failed"),
    errors.Invalid: (422, "unprocessable_entity"),
}


def do_status(error: errors.DomainError) -> tuple[int, str]:
    for cls in type(error).__mro__:
        if cls in _DO_ERRORS:
            return _DO_ERRORS[cls]
    return 500, "server_error"


def do_error_response(status: int, error_id: str, message: str, problems: list[str] | None = None):
    body = {"id": error_id, "message": message, "request_id": g.get("request_id", "")}
    if problems is not None:
        body["problems"] = problems
    response = jsonify(body)
    response.status_code = status
    return response


def render_do_error(error: errors.DomainError):
    status, error_id = do_status(error)
    # A document with several problems (a scenario, a saved state) lists them all, one a line.
    problems = error.lines() if isinstance(error, errors.DocumentProblems) and len(error.problems) > 1 else None
    return do_error_response(status, error_id, error.message, problems)
