"""Garbage-collection operations; the engine itself is docrsim.core.gc."""

from __future__ import annotations

from docrsim.core.errors import NotFound
from docrsim.core.gc import DEFAULT_GC_TYPE
from docrsim.http.doapi import render
from docrsim.http.doapi.bodies import fields
from docrsim.http.doapi.operations import both_families
from docrsim.http.doapi.pagination import page_request, paginate

READ, UPDATE = "registry:read", "registry:update"


@both_families("get_garbageCollection", "GET", "/<registry_name>/garbage-collection", READ)
def get_active(sim, now, registry_name):
    sim.account.registry(registry_name)
    return {"garbage_collection": render.gc_run(sim.gc.active(registry_name))}


@both_families("run_garbageCollection", "POST", "/<registry_name>/garbage-collection", UPDATE)
def start(sim, now, registry_name):
    # The body is optional: godo's default, and doctl without flags, mean "unreferenced blobs only".
    body = fields({"type": (str, False)}, optional_body=True)
    sim.account.registry(registry_name)
    run = sim.gc.start(registry_name, body.get("type", DEFAULT_GC_TYPE), now)
    return {"garbage_collection": render.gc_run(run)}, 201


@both_families("list_garbageCollections", "GET", "/<registry_name>/garbage-collections", READ)
def history(sim, now, registry_name):
    sim.account.registry(registry_name)
    window, extra = paginate(sim.gc.runs(registry_name), page_request())
    return {"garbage_collections": [render.gc_run(run) for run in window], **extra}


@both_families("update_garbageCollection", "PUT", "/<registry_name>/garbage-collection/<garbage_collection_uuid>", UPDATE)
def update(sim, now, registry_name, garbage_collection_uuid):
    body = fields({"cancel": (bool, True)})
    sim.account.registry(registry_name)
    if body["cancel"]:
        run = sim.gc.cancel(registry_name, garbage_collection_uuid, now)
    else:
        # Nothing to change, but the run must still be the active one.
        run = sim.gc.active(registry_name)
        if run.uuid != garbage_collection_uuid:
            raise NotFound(f"no active garbage collection {garbage_collection_uuid} in registry {registry_name!r}")
    return {"garbage_collection": render.gc_run(run)}
