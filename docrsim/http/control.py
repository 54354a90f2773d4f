"""The control API under /_docrsim: drive the clock, reset, load scenarios, read the state."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request

from docrsim.core.clock import format_instant, parse_instant
from docrsim.core.errors import Invalid
from docrsim.http.body import json_object
from docrsim.scenarios import apply

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
    body = json_object(request, allowed={"advance_seconds", "set"})
    if len(body) != 1:
        raise Invalid("give exactly one of 'advance_seconds' or 'set'")
    sim = _sim()
    with sim.lock:
        if "advance_seconds" in body:
            seconds = body["advance_seconds"]
            if isinstance(seconds, bool) or not isinstance(seconds, int | float):
                raise Invalid("advance_seconds must be a number")
            sim.clock.advance(seconds)
        else:
            if not isinstance(body["set"], str):
                raise Invalid("set must be an ISO 8601 instant")
            sim.clock.set(parse_instant(body["set"]))
    return jsonify(_clock_body())


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


def restore(sim, documents) -> None:
    """Replace the world with the given scenarios, applied in order."""
    with sim.lock:
        if not documents:
            sim.reset()
            return
        apply(sim, documents[0], replace=True)
        for document in documents[1:]:
            apply(sim, document)


@control.post("/fixtures")
def load_fixture():
    body = json_object(request)
    names = apply(_sim(), body)
    return jsonify({"registries": names}), 201


@control.get("/state")
def state():
    return jsonify(_sim().snapshot())



