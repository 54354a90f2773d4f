"""Garbage-collection operations; the engine itself is docrsim.core.gc."""

from __future__ import annotations

from docrsim.core.errors import NotFound
from docrsim.core.gc import DEFAULT_GC_TYPE
from docrsim.http.doapi import render
from docrsim.http.doapi.bodies import fields
from docrsim.http.doapi.operations import operation
from docrsim.http.doapi.pagination import page_request, paginate

READ, UPDATE = "registry:read", "registry:update"
PLURAL, SINGULAR = "/v2/registries/<registry_name>", "/v2/registry/<registry_name>"


def _active(sim, registry_name):
    sim.account.registry(registry_name)
    return {"garbage_collection": render.gc_run(sim.gc.active(registry_name))}


def _run(sim, now, registry_name):
    # The body is optional: godo's default, and doctl without flags, mean "unreferenced blobs only".
    body = fields({"type": (str, False)}, optional_body=True)
    sim.account.registry(registry_name)
    run = sim.gc.start(registry_name, body.get("type", DEFAULT_GC_TYPE), now)
    return {"garbage_collection": render.gc_run(run)}, 201


def _list(sim, registry_name):
    sim.account.registry(registry_name)
    window, extra = paginate(sim.gc.runs(registry_name), page_request())
    return {"garbage_collections": [render.gc_run(run) for run in window], **extra}


def _update(sim, now, registry_name, garbage_collection_uuid):
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


@operation("registries_get_garbageCollection", "GET", PLURAL + "/garbage-collection", READ)
def registries_get_garbage_collection(sim, now, registry_name):
    return _active(sim, registry_name)


@operation("registry_get_garbageCollection", "GET", SINGULAR + "/garbage-collection", READ)
def registry_get_garbage_collection(sim, now, registry_name):
    return _active(sim, registry_name)


@operation("registries_run_garbageCollection", "POST", PLURAL + "/garbage-collection", UPDATE)
def registries_run_garbage_collection(sim, now, registry_name):
    return _run(sim, now, registry_name)


@operation("registry_run_garbageCollection", "POST", SINGULAR + "/garbage-collection", UPDATE)
def registry_run_garbage_collection(sim, now, registry_name):
    return _run(sim, now, registry_name)


@operation("registries_list_garbageCollections", "GET", PLURAL + "/garbage-collections", READ)
def registries_list_garbage_collections(sim, now, registry_name):
    return _list(sim, registry_name)


@operation("registry_list_garbageCollections", "GET", SINGULAR + "/garbage-collections", READ)
def registry_list_garbage_collections(sim, now, registry_name):
    return _list(sim, registry_name)


@operation("registries_update_garbageCollection", "PUT", PLURAL + "/garbage-collection/<garbage_collection_uuid>", UPDATE)
def registries_update_garbage_collection(sim, now, registry_name, garbage_collection_uuid):
    return _update(sim, now, registry_name, garbage_collection_uuid)


@operation("registry_update_garbageCollection", "PUT", SINGULAR + "/garbage-collection/<garbage_collection_uuid>", UPDATE)
def registry_update_garbage_collection(sim, now, registry_name, garbage_collection_uuid):
    return _update(sim, now, registry_name, garbage_collection_uuid)
