"""State files: a saved world (``docrsim-state/1``) on disk, read whole and written atomically."""

from __future__ import annotations

import json
from pathlib import Path

from docrsim.core.errors import Invalid
from docrsim.core.persistence.format import FORMAT
from docrsim.files import write_atomically


class StateFileError(Invalid):
    """A state file that cannot be read or written; the message names the file."""


def read(path: str | Path) -> dict:
    """The document in ``path``, if it looks like a saved state (the server checks the rest)."""
    try:
        text = Path(path).read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise StateFileError(f"{path}: cannot read the state file: {getattr(exc, 'strerror', None) or exc}") from None
    return parse(path, text)


def parse(path: str | Path, text: str | bytes) -> dict:
    """The document ``text`` read from ``path`` holds, if it looks like a saved state."""
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise StateFileError(f"{path}: not JSON: {exc}") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise StateFileError(f'{path}: not a docrsim state (it has no "format": "{FORMAT}")')
    return document


def write(path: str | Path, document: dict) -> None:
    """Replace ``path`` with ``document`` so that a crash leaves the old file or the new one,
    never half of either: write a temporary file beside it, sync it, rename it over."""
    path = Path(path)
    data = (json.dumps(document, indent=1) + "\n").encode()
    try:
        # Readable by its owner only, fitting the secrets a state holds.
        write_atomically(path, data, 0o600)
    except OSError as exc:
        raise StateFileError(f"{path}: cannot write the state file: {exc.strerror or exc}") from None
