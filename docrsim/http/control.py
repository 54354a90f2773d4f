"""The control API under /_docrsim: drive the clock, reset, load scenarios, read the state."""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, current_app, jsonify, request

from docrsim.core.clock import format_instant, parse_instant
from docrsim.core.errors import DomainError, Invalid
from docrsim.core.gc import Rates
from docrsim.http.body import json_object
from docrsim.scenarios import ScenarioError, apply

control = Blueprint("control", __name__, url_prefix="/_docrsim")


def _sim():
    return current_app.config["DOCRSIM_SIM"]


def _clock_body():
    clock = _sim().clock
    return {"now": format_instant(clock.now()), "kind": clock.kind}


@control.get("/clock")
def get_clock():
    return jsonify(_clock_body())


@control.post("/clock")
def set_clock():
    body = json_object(request, allowed={"advance_seconds", "set", "until_idle"})
    if len(body) != 1:
        raise Invalid("give exactly one of 'advance_seconds', 'set' or 'until_idle'")
    sim = _sim()
    if "until_idle" in body:
        if body["until_idle"] is not True:
            raise Invalid("until_idle must be true")
        _step_through_gc(sim, until=None)
        return jsonify(_clock_body())
    if "advance_seconds" in body:
        seconds = body["advance_seconds"]
        if isinstance(seconds, bool) or not isinstance(seconds, int | float):
            raise Invalid("advance_seconds must be a number")
        target = _later(sim.clock, seconds)
        if target is None:
            sim.clock.advance(seconds)  # refused: the clock says why
            return jsonify(_clock_body())
    else:
        if not isinstance(body["set"], str):
            raise Invalid("set must be an ISO 8601 instant")
        target = parse_instant(body["set"])
    _step_through_gc(sim, until=target)
    with sim.lock:
        sim.clock.set(target)
    return jsonify(_clock_body())


def _later(clock, seconds):
    """The instant ``seconds`` after a manual clock's now; None when the clock would refuse."""
    if clock.kind != "manual" or not seconds >= 0:
        return None
    try:
        return clock.now() + timedelta(seconds=seconds)
    except (OverflowError, ValueError):
        return None


def _step_through_gc(sim, until) -> None:
    """Move a manual clock from one GC checkpoint to the next, each step in its own
    transaction, up to ``until`` (exclusive) or, with None, to where every run has ended.

    A move far ahead would otherwise make the next request settle a whole run on a large
    registry while holding the lock. What the runs do is the same whatever the steps.
    """
    while True:
        with sim.transaction() as now:
            stop = sim.gc.next_checkpoint()
            if stop is None or (until is not None and stop >= until):
                return
            assert stop > now, "a checkpoint must lie ahead of a settled clock"
            sim.clock.set(stop)


@control.post("/reset")
def reset():
    """Back to the start-up scenarios, or to the scenario given as ``fixture``."""
    body = json_object(request, allowed={"fixture"}, optional=True)
    sim = _sim()
    if "fixture" in body:
        if not isinstance(body["fixture"], dict):
            raise Invalid("fixture must be a scenario document (a JSON object)")
        documents = [body["fixture"]]
    else:
        documents = current_app.config["DOCRSIM_BASELINE"]
    restore(sim, documents)
    current_app.config["DOCRSIM_RATELIMIT"].clear()
    return "", 204


def restore(sim, documents, sources=None) -> None:
    """Replace the world with the given scenarios, applied in order. ``sources`` names each
    document (a file path) in the error of the one that fails."""
    with sim.lock:
        if not documents:
            sim.reset()
            return
        for index, document in enumerate(documents):
            try:
                apply(sim, document, replace=index == 0)
            except ScenarioError as exc:
                if sources is None:
                    raise
                raise ScenarioError(exc.problems, sources[index]) from None
            except DomainError as exc:
                if sources is None:
                    raise
                raise type(exc)(f"{sources[index]}: {exc.message}") from None


@control.post("/fixtures")
def load_fixture():
    body = json_object(request)
    names = apply(_sim(), body)
    return jsonify({"registries": names}), 201


@control.get("/state")
def state():
    return jsonify(_sim().snapshot())


# -- garbage collection ---------------------------------------------------------------------------
@control.get("/registries/<registry_name>/garbage")
def garbage(registry_name):
    """What each GC type would delete from the registry now."""
    sim = _sim()
    with sim.transaction():
        return jsonify(sim.gc.preview(registry_name))


@control.post("/faults/gc")
def fail_gc():
    """Make the registry's next garbage collection fail in the given phase."""
    body = json_object(request, allowed={"registry", "fail_in"})
    registry, phase = body.get("registry"), body.get("fail_in")
    if not isinstance(registry, str) or not isinstance(phase, str):
        raise Invalid("'registry' and 'fail_in' are both required strings")
    sim = _sim()
    with sim.transaction():
        sim.gc.fail_next(registry, phase)
    return "", 204


@control.get("/gc-rates")
def get_gc_rates():
    return jsonify(_sim().gc.rates.as_dict())


@control.put("/gc-rates")
def set_gc_rates():
    """Change how fast runs started from now on scan and delete (until the next reset)."""
    sim = _sim()
    body = json_object(request, allowed=set(sim.gc.rates.as_dict()))
    with sim.transaction():
        sim.gc.rates = Rates(**{**sim.gc.rates.as_dict(), **body})
        return jsonify(sim.gc.rates.as_dict())
