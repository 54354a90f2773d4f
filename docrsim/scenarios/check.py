"""Everything wrong with a scenario, in one pass: the schema's complaints and the model's rules
together, each with the line of the file it is on.

The rules (names, regions, tier limits, cross-references) are checked by building the content
in a scratch simulation, registry by registry; a registry the schema already refused is not
built (its parts may be missing), and when the schema refuses the document as a whole (its
account, its clock, the list of registries) only the schema's complaints are given.
"""

from __future__ import annotations

import re
from pathlib import Path

from docrsim.core.errors import DomainError
from docrsim.scenarios import library
from docrsim.scenarios.loader import ScenarioError, apply, compose, parse, schema_problems

_REGISTRY = re.compile(r"registries\[(\d+)\]")
_PATH = re.compile(r"^([A-Za-z_]\w*(?:\.[A-Za-z_]\w*|\[\d+\])*): ")
_STEP = re.compile(r"\.?([A-Za-z_]\w*)|\[(\d+)\]")


def problems(reference: str | Path) -> list[tuple[int | None, str]]:
    """``(line, problem)`` for each problem of the scenario a name or path refers to, in the
    order of the file; none when it loads. ``line`` is None where no line can be told."""
    path = reference if library.is_path(reference) else _shipped_path(str(reference))
    if isinstance(path, list):
        return path
    try:
        text = Path(path).read_text()
    except (OSError, UnicodeDecodeError) as exc:
        return [(None, f"cannot read the file: {getattr(exc, 'strerror', None) or exc}")]
    return text_problems(text)


def text_problems(text: str) -> list[tuple[int | None, str]]:
    """The same for a scenario's YAML or JSON text."""
    try:
        document = parse(text)
    except ScenarioError as exc:
        return [(None, exc.problems[0])]  # it names its line and column itself
    found = schema_problems(document)
    found += rule_problems(document, found)
    return sorted(locate(text, found), key=lambda item: item[0] or 0)  # stable: a line's problems keep their order


def locate(text: str, problems: list[str]) -> list[tuple[int | None, str]]:
    """``(line, problem)`` for each problem found in the scenario ``text``."""
    tree = compose(text)
    return [(line_of(tree, problem), problem) for problem in problems]


def rule_problems(document, schema_found: list[str]) -> list[str]:
    """What the model's rules find wrong in the parts the schema let through."""
    if document is None:
        return []
    skip = set()
    for problem in schema_found:
        match = _REGISTRY.match(problem)
        if not match:
            return []  # the document as a whole is malformed: building it would be guesswork
        skip.add(int(match.group(1)))
    from docrsim.core.state import Simulation

    try:
        apply(Simulation(), document, replace=True, checked=True, skip=frozenset(skip))
    except ScenarioError as exc:
        return exc.problems
    except DomainError as exc:
        return [exc.message]
    return []


def line_of(node, problem: str) -> int | None:
    """The line (from 1) of the deepest part of the document (``compose``'s tree) that the
    problem's path reaches."""
    match = _PATH.match(problem)
    if not match:
        return None
    import yaml

    line = None
    for key, index in _STEP.findall(match.group(1)):
        if node is None:
            break
        if key and isinstance(node, yaml.MappingNode):
            pair = next(((k, v) for k, v in node.value if getattr(k, "value", None) == key), None)
            if pair is None:
                break
            line, node = pair[0].start_mark.line + 1, pair[1]
        elif index and isinstance(node, yaml.SequenceNode) and int(index) < len(node.value):
            node = node.value[int(index)]
            line = node.start_mark.line + 1
        else:
            break
    return line


def _shipped_path(name: str):
    if name not in library.names():
        return [(None, library.unknown(name).message.removeprefix(f"{name}: "))]
    return library.find(name)
