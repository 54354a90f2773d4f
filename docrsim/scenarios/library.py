"""The shipped scenario library, found by name (``"small-app"``) as well as by path."""

from __future__ import annotations

import copy
from dataclasses import dataclass
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
    if name not in names():  # a name, never a path: "../x" reaches nothing outside the library
        raise Invalid(f"no shipped scenario named {name!r} (shipped: {', '.join(names())})")
    return Path(str(_library().joinpath(f"{name}.yaml")))


def is_path(reference: str | Path) -> bool:
    """Whether ``reference`` names a file rather than a shipped scenario: a Path, an existing
    file, or text that looks like a path (a '/' or a scenario file's extension)."""
    text = str(reference)
    return (isinstance(reference, Path) or text.endswith((".yaml", ".yml", ".json")) or "/" in text
            or Path(text).is_file())


def read(reference: str | Path) -> dict:
    """The scenario a name or a path refers to, read and checked (a copy the caller may change)."""
    if is_path(reference):
        return read_file(reference)
    if str(reference) not in names():
        raise unknown(reference)
    return shipped(str(reference))


def unknown(reference) -> Invalid:
    return Invalid(f"{reference}: neither a file nor a shipped scenario (shipped: {', '.join(names())})")


def shipped(name: str) -> dict:
    """The shipped scenario ``name``, checked (a copy the caller may change)."""
    return copy.deepcopy(_shipped(name))


def documents(fixture) -> list[dict]:
    """Scenario documents from a name, a path, a document, or a list of those (None: none)."""
    if fixture is None:
        return []
    if isinstance(fixture, list | tuple):
        return [doc for item in fixture for doc in documents(item)]
    if isinstance(fixture, dict):
        validate(fixture)
        return [fixture]
    return [read(fixture)]


@lru_cache(maxsize=None)
def _shipped(name: str) -> dict:
    """A shipped scenario, read and checked once: tests reset to one by name again and again."""
    return read_file(find(name))


@dataclass(frozen=True)
class Entry:
    """One shipped scenario as `docrsim fixture list` shows it."""

    name: str
    description: str
    registries: int
    manifests: int


def entries() -> list[Entry]:
    """Every shipped scenario with its size, counted from the document (nothing is built)."""
    return [_entry(name, _shipped(name)) for name in names()]


def _entry(name: str, document: dict) -> Entry:
    manifests = 0
    for registry in document.get("registries", []):
        for repository in registry.get("repositories", []):
            for manifest in repository.get("manifests", []):
                manifests += 1 + len(manifest.get("platforms", []))  # an index and its children
        generate = registry.get("generate")
        if generate:
            manifests += generate["repositories"] * generate["images_per_repository"]
    description = " ".join(str(document.get("description", "")).split())
    return Entry(name, description, len(document.get("registries", [])), manifests)
