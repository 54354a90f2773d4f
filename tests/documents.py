"""Editing JSON documents in tests: a change to apply to a saved state or a scenario."""

from __future__ import annotations


def set_at(path, value):
    """A function that sets ``document[path[0]][path[1]]...`` to ``value``, in place."""
    def change(document):
        target = document
        for part in path[:-1]:
            target = target[part]
        target[path[-1]] = value
    return change
