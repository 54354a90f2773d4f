"""The shipped scenario library, found by name (``"small-app"``) as well as by path."""

from __future__ import annotations

import copy
from functools import lru_cache
from importlib import resources
from pathlib import Path

from docrsim.core.errors import Invalid
from docrsim.scenarios.loader import read_file, validate


def _library():
    # docrsim/scenarios/library links to the top-level fixtures/ folder, so a wheel carries it.
    return resources.files("docrsim.scenarios").joinpath("library")


def names() -> list[str]:
    return sorted(p.name[: -len(".yaml")] for p in _library().iterdir() if p.name.endswith(".yaml"))


def find(name: str) -> Path:
    candidate = _library().joinpath(f"{name}.yaml")
    if not candidate.is_file():
        raise Invalid(f"no scenario named {name!r}; known: {', '.join(names())}")
    return Path(str(candidate))


def documents(fixture) -> list[dict]:
    """Scenario documents from a name, a path, a document, or a list of those (None: none)."""
    if fixture is None:
        return []
    if isinstance(fixture, list | tuple):
        return [doc for item in fixture for doc in documents(item)]
    if isinstance(fixture, dict):
        validate(fixture)
        return [fixture]
    text = str(fixture)
    if isinstance(fixture, Path) or text.endswith((".yaml", ".yml", ".json")) or "/" in text:
        return [read_file(text)]
    return [copy.deepcopy(_shipped(text))]  # a copy: the caller may change what it gets


@lru_cache(maxsize=None)
def _shipped(name: str) -> dict:
    """A shipped scenario, read and checked once: tests reset to one by name again and again."""
    return read_file(find(name))
