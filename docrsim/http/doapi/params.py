"""Query-string values, parsed strictly: a bad value is a 422 that says which and why.

A parameter left out takes its default; one given empty (``?page=``) is a bad value, as the
document's types (an integer, a boolean) have no empty form.
"""

from __future__ import annotations

from docrsim.core.errors import Invalid

_TRUE = {"true", "1"}
_FALSE = {"false", "0"}


def integer(args, name: str, default: int, *, minimum: int | None = None, maximum: int | None = None) -> int:
    raw = args.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise Invalid(f"{name} must be an integer, not {raw!r}") from None
    if minimum is not None and value < minimum:
        raise Invalid(f"{name} must be at least {minimum}")
    if maximum is not None and value > maximum:
        raise Invalid(f"{name} must be at most {maximum}")
    return value


def boolean(args, name: str, default: bool) -> bool:
    raw = args.get(name)
    if raw is None:
        return default
    lowered = raw.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise Invalid(f"{name} must be true or false, not {raw!r}")
