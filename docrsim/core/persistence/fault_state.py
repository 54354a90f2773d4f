"""Saving and restoring a test's fault rules (docrsim.core.faults) with the world.

A rule is saved field by field, hits included, so a restored ``times: N`` rule acts on exactly
the requests the saved one would have; the count of rules created keeps new rule ids where
they were. A ``gc_hold`` rule brings its hold on the collector back with it (a held run's own
state travels with the run, see ``docrsim.core.persistence.gc_state``).

A guard refuses to save a FaultSet that has gained state this module does not know.
"""

from __future__ import annotations

import dataclasses

from docrsim.core.persistence import gc_state
from docrsim.core.faults import FaultRule, FaultSet
from docrsim.core.persistence.format import Problem, read_instant, write_instant

_SET_KNOWN = {"_gc", "_rules", "_count"}


def export_faults(faults: FaultSet, holds: dict[str, str]) -> dict:
    """The rules in creation order; ``holds`` (the collector's) must be the gc_hold rules'."""
    gc_state.check_known(faults, _SET_KNOWN)
    rules = faults.rules()
    if holds != {rule.gc_hold[0]: rule.gc_hold[1] for rule in rules if rule.gc_hold is not None}:
        raise RuntimeError("the collector's holds differ from the gc_hold fault rules: "
                           "docrsim.core.persistence.fault_state would not restore them")
    return {"created": faults.created, "rules": [_export_rule(rule) for rule in rules]}


def _export_rule(rule: FaultRule) -> dict:
    saved = {}
    for field in dataclasses.fields(rule):
        value = getattr(rule, field.name)
        if field.name == "created_at":
            value = write_instant(value)
        elif field.name == "gc_hold" and value is not None:
            value = {"registry": value[0], "status": value[1]}
        saved[field.name] = value
    return saved


def build_faults(gc, document: dict) -> FaultSet:
    """The saved rules, bound to ``gc``; their holds are put back on it."""
    faults = FaultSet(gc)
    rules, seen = [], set()
    for index, saved in enumerate(document["rules"]):
        where = f"faults.rules[{index}]"
        fields = {**saved, "created_at": read_instant(saved["created_at"], f"{where}.created_at")}
        if saved.get("gc_hold") is not None:
            fields["gc_hold"] = (saved["gc_hold"]["registry"], saved["gc_hold"]["status"])
        try:
            rule = FaultRule(**fields)
        except TypeError:
            unknown = sorted(set(fields) - {f.name for f in dataclasses.fields(FaultRule)})
            raise Problem(where, f"unknown field{'s' if len(unknown) > 1 else ''}: {', '.join(unknown)}") from None
        if rule.id in seen:
            raise Problem(f"{where}.id", f"rule {rule.id!r} appears twice")
        seen.add(rule.id)
        rules.append(rule)
        if rule.gc_hold is not None:
            gc_state.restore_hold(gc, *rule.gc_hold, f"{where}.gc_hold")
    faults.restore(rules, document["created"])
    return faults
