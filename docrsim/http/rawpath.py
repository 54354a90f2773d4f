"""Keep ``%2F`` intact in the path Flask routes on.

Repository names may contain ``/`` and DO clients send it as ``%2F`` inside one path segment.
WSGI servers decode PATH_INFO, which would split the name across segments; this middleware
rebuilds PATH_INFO from the raw request URI, decoding everything except ``%2F``.
"""

from __future__ import annotations

import re
from urllib.parse import unquote

_ENCODED_SLASH = re.compile(r"%2[fF]")
PLACEHOLDER = "%2F"


class RawPathMiddleware:
    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
        if raw:
            path = raw.split("?", 1)[0]
            if "://" in path:  # absolute-form request target
                path = "/" + path.split("://", 1)[1].split("/", 1)[-1]
            pieces = _ENCODED_SLASH.split(path)
            script = environ.get("SCRIPT_NAME", "")
            # WSGI carries paths as latin-1 strings of the raw bytes.
            decoded = PLACEHOLDER.join(unquote(piece, encoding="latin-1") for piece in pieces)
            if script and decoded.startswith(script):
                decoded = decoded[len(script):]
            environ["PATH_INFO"] = decoded
        return self.app(environ, start_response)


def segment(value: str) -> str:
    """Turn a routed segment back into the name the client meant."""
    return value.replace(PLACEHOLDER, "/")
