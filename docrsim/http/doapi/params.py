"""Query-string values, parsed strictly: a bad value is a 422 that says which and why.

A parameter left out takes its default; one given empty (``?page=``) is a bad value, as the
document's types (an integer, a boolean) have no empty form.
"""

from __future__ import annotations

import re

from docrsim.core.errors import Invalid

_DECIMAL = re.compile(r"-?[0-9]+")
_TRUE = {"true", "1"}
_FALSE = {"false", "0"}


def _one(args, name: str) -> str | None:
    """The parameter's one value: given twice, which one was meant cannot be told."""
    values = args.getlist(name)
    if len(values) > 1:
        raise Invalid(f"{name} is given {len(values)} times; give it once")
    return values[0] if values else None


def integer(args, name: str, default: int, *, minimum: int | None = None, maximum: int | None = None) -> int:
    raw = _one(args, name)
    if raw is None:
        return default
    if not _DECIMAL.fullmatch(raw):  # int() would also take spaces, '1_000' and other scripts' digits
        raise Invalid(f"{name} must be an integer, not {raw!r}")
    value = int(raw)
    if minimum is not None and value < minimum:
        raise Invalid(f"{name} must be at least {minimum}")
    if maximum is not None and value > maximum:
        raise Invalid(f"{name} must be at most {maximum}")
    return value


def boolean(args, name: str, default: bool) -> bool:
    raw = _one(args, name)
    if raw is None:
        return default
    lowered = raw.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise Invalid(f"{name} must be true or false, not {raw!r}")
