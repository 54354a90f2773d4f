"""Saving and restoring garbage collection exactly: runs mid-phase, their scans and plans.

An active run is saved with everything its future depends on (timeline, rates, fault and
hold, scan marks or deletion plan and progress), so a restored run goes on exactly as the
saved one would have. A finished run is saved as its summary: nothing reads the rest.

The collector, scans and plans hand over and take back that state through methods made for
it (``run_records``/``restore_registry``/``restore_hold``, ``Scan.position``/``Scan.resume``,
``DeletionPlan.with_known_blobs``); a run's timeline is its own public fields.
``check_known`` fails loudly when one of those classes gains an attribute this module does
not save, instead of letting a restored world drift.
"""

from __future__ import annotations

import weakref

from docrsim.core import gc_run
from docrsim.core.errors import Invalid
from docrsim.core.gc import FAULT_PHASES, GC_TYPES, GarbageCollector, Rates
from docrsim.core.gc_plan import DeletionPlan, Scan
from docrsim.core.gc_run import ACTIVE_STATUSES, DELETING, SCANNING, Run
from docrsim.core.persistence.format import Problem, read_digest, read_instant, write_instant
from docrsim.core.store import RegistryContent

_STATUSES = ACTIVE_STATUSES + (gc_run.SUCCEEDED, gc_run.FAILED, gc_run.CANCELLED)
_HOLD_STATUSES = gc_run.HOLD_STATUSES
_WAITING_FOR_DELETES = gc_run.WAITING_FOR_DELETES
_RUN_SUMMARY = ("uuid", "registry_name", "type", "status", "created_at", "updated_at", "blobs_deleted",
                "freed_bytes")
_RUN_INSTANTS = ("waiting_at", "scanning_at", "deleting_at", "ends_at", "stop_at", "fail_at", "held_since")
_RUN_VALUES = ("fail_in", "hold_in", "steps_done", "planned_bytes_done")
_RUN_KNOWN = {*_RUN_SUMMARY, *_RUN_INSTANTS, *_RUN_VALUES, "rates", "scan", "plan"}
_SCAN_KNOWN = {"content", "gc_type", "_repositories", "total", "done", "_repo_index", "_digests", "_position",
               "_keep", "marked", "kept", "marked_stored", "marked_bytes", "untagged", "_plan"}
_PLAN_KNOWN = {"manifests", "blob_count", "total_bytes", "_blobs", "_sweep", "_marked", "_freed", "_position",
               "_found", "_found_sizes"}
_COLLECTOR_KNOWN = {"sim", "rates", "ledger", "allow_deletes_during_gc", "_runs", "_active", "_faults", "_holds"}


def check_known(obj, known: set[str]) -> None:
    unknown = sorted(set(vars(obj)) - known)
    if unknown:
        raise RuntimeError(f"docrsim.core.persistence.gc_state does not save {type(obj).__name__}.{unknown[0]}: "
                           "teach it to, or a restored world would differ")


# -- saving -----------------------------------------------------------------------------------------
def export_settings(gc: GarbageCollector) -> dict:
    check_known(gc, _COLLECTOR_KNOWN)
    return {"rates": gc.rates.as_dict(), "allow_deletes_during_gc": gc.allow_deletes_during_gc}


def export_registry(gc: GarbageCollector, registry_name: str, *, shared_plans: bool = False) -> dict:
    """The registry's armed fault and its runs (newest first, as the API lists them). Holds
    are saved with the fault rules that set them (docrsim.core.persistence.fault_state)."""
    return {
        "gc_fault": gc.armed_fault(registry_name),
        "garbage_collections": [_export_run(run, shared_plans) for run in reversed(gc.run_records(registry_name))],
    }


def holds(gc: GarbageCollector) -> dict[str, str]:
    """Registry -> status its runs are held in."""
    return gc.holds()


def _export_run(run: Run, shared: bool) -> dict:
    check_known(run, _RUN_KNOWN)
    summary = {
        "uuid": run.uuid, "type": run.type, "status": run.status,
        "created_at": write_instant(run.created_at), "updated_at": write_instant(run.updated_at),
        "blobs_deleted": run.blobs_deleted, "freed_bytes": run.freed_bytes,
    }
    if not run.active:
        return summary
    progress = {"rates": run.rates.as_dict()}
    attributes = vars(run)
    progress.update({name: attributes[name] for name in _RUN_VALUES if name in attributes})
    progress.update({name: write_instant(attributes[name]) for name in _RUN_INSTANTS if name in attributes})
    progress["scan"] = None if run.scan is None else _export_scan(run.scan, shared)
    progress["plan"] = None if run.plan is None else _export_plan(run.plan, shared)
    return {**summary, "progress": progress}


def _export_scan(scan: Scan, shared: bool) -> dict:
    check_known(scan, _SCAN_KNOWN)
    at = scan.position()
    return {
        "repositories": at["repositories"],
        "total": scan.total,
        "done": scan.done,
        "repository_index": at["repository_index"],
        "digests": at["digests"],
        "position": at["position"],
        # Sets are only ever asked for membership, so their order is free: sorted, to be stable.
        "keep": None if at["keep"] is None else sorted(at["keep"]),
        "marked": sorted(scan.marked),
        "kept": sorted(scan.kept),
        "marked_stored": scan.marked_stored,
        "marked_bytes": scan.marked_bytes,
        "untagged": [list(link) for link in scan.untagged],
        "plan": None if at["plan"] is None else _export_plan(at["plan"], shared),
    }


def _export_plan(plan: DeletionPlan, shared: bool) -> dict:
    """Every step, the blobs included: finding the rest now (which the plan would otherwise do
    lazily) gives the same blobs in the same order, and the saved plan needs no sweep.

    A plan never changes once made (a run's progress through it is the run's), so with
    ``shared`` its export is made once and handed out again, the same object each time (not
    to be changed): a state folder relies on that to write a plan once rather than with every
    save of a run in progress."""
    if not shared:
        return _export_plan_steps(plan)
    exported = _SHARED_PLANS.get(plan)
    if exported is None:
        exported = _SHARED_PLANS[plan] = _export_plan_steps(plan)
    return exported


_SHARED_PLANS: "weakref.WeakKeyDictionary[DeletionPlan, dict]" = weakref.WeakKeyDictionary()


def _export_plan_steps(plan: DeletionPlan) -> dict:
    check_known(plan, _PLAN_KNOWN)
    first_blob = len(plan.manifests)
    return {
        "manifests": [{"repository": r, "digest": d, "frees": f, "size": s} for r, d, f, s in plan.manifests],
        "blobs": [{"digest": plan.blob(i), "size": plan.size(first_blob + i)} for i in range(plan.blob_count)],
        "total_bytes": plan.total_bytes,
    }


# -- restoring --------------------------------------------------------------------------------------
def build_collector(sim, settings: dict, registries: dict[str, tuple[dict, RegistryContent]]) -> GarbageCollector:
    """A collector holding the saved runs, faults and holds; ``registries`` maps each name to
    (its document, its rebuilt content). Write tokens are the caller's (the ledger is public)."""
    gc = GarbageCollector(sim, _rates(settings["rates"], "gc.rates"))
    gc.allow_deletes_during_gc = settings["allow_deletes_during_gc"]
    for index, (name, (document, content)) in enumerate(registries.items()):
        where = f"registries[{index}]"
        fault = document["gc_fault"]
        if fault is not None:
            _phase(fault, FAULT_PHASES, f"{where}.gc_fault")
        runs = [_build_run(run, name, content, f"{where}.garbage_collections[{i}]")
                for i, run in enumerate(document["garbage_collections"])]
        runs.reverse()  # saved newest first; the collector keeps them oldest first
        try:
            gc.restore_registry(name, runs, fault)
        except Invalid as exc:
            raise Problem(f"{where}.garbage_collections", exc.message) from None
    return gc


def restore_hold(gc: GarbageCollector, registry_name: str, status: str, where: str) -> None:
    """Put back a hold as it stood: held runs keep their own hold state, so unlike
    ``GarbageCollector.hold`` this touches no run."""
    try:
        gc.restore_hold(registry_name, _phase(status, _HOLD_STATUSES, f"{where}.status"))
    except Invalid as exc:
        raise Problem(where, exc.message) from None


def _build_run(document: dict, registry_name: str, content: RegistryContent, where: str) -> Run:
    status = _phase(document["status"], _STATUSES, f"{where}.status")
    gc_type = _phase(document["type"], GC_TYPES, f"{where}.type")
    progress = document.get("progress")
    if (progress is not None) != (status in ACTIVE_STATUSES):
        raise Problem(where, "an active run needs its 'progress', a finished one has none")
    created_at = read_instant(document["created_at"], f"{where}.created_at")
    rates = _rates(progress["rates"], f"{where}.progress.rates") if progress else Rates()
    fail_in = progress["fail_in"] if progress else None
    if fail_in is not None:
        _phase(fail_in, FAULT_PHASES, f"{where}.progress.fail_in")
    run = Run(document["uuid"], registry_name, gc_type, created_at, rates=rates, drained_at=None, fail_in=fail_in)
    run.status = status
    run.updated_at = read_instant(document["updated_at"], f"{where}.updated_at")
    run.blobs_deleted, run.freed_bytes = document["blobs_deleted"], document["freed_bytes"]
    if progress is None:
        return run
    for name in _RUN_VALUES:
        if name in progress:
            setattr(run, name, progress[name])
    for name in _RUN_INSTANTS:
        if name in progress:
            setattr(run, name, read_instant(progress[name], f"{where}.progress.{name}"))
    run.scan = None if progress["scan"] is None else _build_scan(progress["scan"], gc_type, content,
                                                                 f"{where}.progress.scan")
    run.plan = None if progress["plan"] is None else _build_plan(progress["plan"], content, f"{where}.progress.plan")
    if status in (SCANNING, _WAITING_FOR_DELETES) and run.scan is None:
        raise Problem(f"{where}.progress.scan", f"a run {status!r} needs its scan")
    if status == DELETING and run.plan is None:
        raise Problem(f"{where}.progress.plan", f"a run {status!r} needs its plan")
    if run.plan is not None and run.steps_done > len(run.plan):
        raise Problem(f"{where}.progress.steps_done", "more steps done than the plan has")
    if run.phase_end() is None:
        raise Problem(f"{where}.progress", f"a run {status!r} needs the instant its phase ends")
    return run


def _build_scan(document: dict, gc_type: str, content: RegistryContent, where: str) -> Scan:
    repositories, repository_index = list(document["repositories"]), document["repository_index"]
    digests = [read_digest(d, f"{where}.digests[{i}]") for i, d in enumerate(document["digests"])]
    position = document["position"]
    if document["done"] > document["total"] or position > len(digests):
        raise Problem(where, "the scan has looked at more links than it holds")
    if repository_index >= len(repositories) or repository_index < 0 and (digests or position):
        raise Problem(f"{where}.repository_index", "does not name one of the scan's repositories")
    return Scan.resume(
        content, gc_type, total=document["total"], done=document["done"],
        marked=set(document["marked"]), kept=set(document["kept"]),
        marked_stored=document["marked_stored"], marked_bytes=document["marked_bytes"],
        untagged=[tuple(link) for link in document["untagged"]],
        repositories=repositories, repository_index=repository_index, digests=digests, position=position,
        keep=None if document["keep"] is None else set(document["keep"]),
        plan=None if document["plan"] is None else _build_plan(document["plan"], content, f"{where}.plan"),
    )


def _build_plan(document: dict, content: RegistryContent, where: str) -> DeletionPlan:
    manifests = [(m["repository"], read_digest(m["digest"], f"{where}.manifests[{i}].digest"), m["frees"], m["size"])
                 for i, m in enumerate(document["manifests"])]
    blobs = [read_digest(b["digest"], f"{where}.blobs[{i}].digest") for i, b in enumerate(document["blobs"])]
    manifest_bytes = sum(m[3] for m in manifests)
    if document["total_bytes"] < manifest_bytes:
        raise Problem(f"{where}.total_bytes", "less than the bytes of the plan's manifest steps")
    return DeletionPlan.with_known_blobs(content.blobs, manifests, blobs, [b["size"] for b in document["blobs"]],
                                         document["total_bytes"])


def _rates(document: dict, where: str) -> Rates:
    try:
        return Rates(**document)
    except Invalid as exc:
        raise Problem(where, exc.message) from None


def _phase(value: str, allowed, where: str) -> str:
    if value not in allowed:
        raise Problem(where, f"expected one of {', '.join(repr(a) for a in allowed)}, not {value!r}")
    return value
