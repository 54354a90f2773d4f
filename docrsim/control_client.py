"""Calls to a running docrsim's control API, for the CLI: a few small JSON requests, so the
standard library's urllib rather than another dependency."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

DEFAULT_URL = "http://127.0.0.1:8080"
TIMEOUT_SECONDS = 120  # a large state takes a while to export or import

# Exit codes of the commands that call a server (click's own usage errors are 2 as well).
REFUSED = 1  # the server answered with an error: unknown registry, invalid state...
BAD_INPUT = 2  # a bad invocation or an unreadable file
UNREACHABLE = 3  # nothing (or nothing like docrsim) answers at the URL


class ControlError(Exception):
    def __init__(self, message: str, exit_code: int):
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code


def call(base_url: str, method: str, path: str, body=None, *, token: str | None = None) -> tuple[int, object]:
    """``(status, parsed JSON body or None)``; ControlError when no docrsim answers. ``token``
    goes as ``Authorization: Bearer`` (the DO API wants one; the control API none)."""
    url = base_url.rstrip("/") + path
    data = None if body is None else json.dumps(body).encode()
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as exc:  # an answer all the same, with an error status
        status, raw = exc.code, exc.read()
    except ValueError as exc:  # a malformed URL
        raise ControlError(f"not a URL docrsim can be reached at: {base_url} ({exc})", BAD_INPUT) from None
    except (urllib.error.URLError, OSError) as exc:  # refused, unknown host, timed out
        reason = getattr(exc, "reason", None) or exc
        raise ControlError(f"cannot reach docrsim at {base_url}: {reason} (is `docrsim serve` running?)",
                           UNREACHABLE) from None
    try:
        return status, json.loads(raw) if raw else None
    except ValueError:
        raise ControlError(f"{base_url} does not answer as docrsim does (HTTP {status}, not JSON)",
                           UNREACHABLE) from None


def error_message(payload) -> str:
    """The message of a DO-style error body."""
    if isinstance(payload, dict) and isinstance(payload.get("message"), str):
        return payload["message"]
    return "no message"
