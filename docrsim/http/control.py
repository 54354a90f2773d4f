"""The control API under /_docrsim: drive the clock, reset, load scenarios, read the state."""

from __future__ import annotations


from flask import Blueprint, current_app, jsonify, request

from docrsim.core import timekeeping
from docrsim.core.clock import format_exact_instant, parse_instant
from docrsim.core.errors import Conflict, DomainError, Invalid
from docrsim.core.gc import Rates
from docrsim.http.body import control_object
from docrsim.http.limits import SCENARIO_BODY_LIMIT, STATE_BODY_LIMIT
from docrsim.scenarios import ScenarioError, apply, library

control = Blueprint("control", __name__, url_prefix="/_docrsim")


def _sim():
    return current_app.config["DOCRSIM_SIM"]


def _clock_body():
    clock = _sim().clock
    return {"now": format_exact_instant(clock.now()), "kind": clock.kind}


@control.get("/clock")
def get_clock():
    return jsonify(_clock_body())


@control.post("/clock")
def set_clock():
    body = control_object(request, allowed={"advance_seconds", "set", "until_idle"})
    if len(body) != 1:
        raise Invalid("give exactly one of 'advance_seconds', 'set' or 'until_idle'")
    sim = _sim()
    if "until_idle" in body:
        if body["until_idle"] is not True:
            raise Invalid("until_idle must be true")
        timekeeping.run_until_idle(sim)
    elif "advance_seconds" in body:
        seconds = body["advance_seconds"]
        if isinstance(seconds, bool) or not isinstance(seconds, int | float):
            raise Invalid("advance_seconds must be a number")
        timekeeping.advance(sim, seconds)
    else:
        if not isinstance(body["set"], str):
            raise Invalid("set must be an ISO 8601 instant")
        timekeeping.move_to(sim, parse_instant(body["set"]))
    return jsonify(_clock_body())


@control.post("/reset")
def reset():
    """Back to the start-up scenarios, to the scenario given as ``fixture`` (a document, or a
    shipped scenario's name), or to the world an export (``GET /_docrsim/state``) saved, given
    as ``state``."""
    try:
        body = control_object(request, allowed={"fixture", "state"}, optional=True, limit=STATE_BODY_LIMIT)
    except Invalid as exc:
        if "unknown field" in exc.message:  # a scenario or a state sent bare, most likely
            raise Invalid(f"{exc.message} (a reset takes {{\"fixture\": <scenario or name>}} or "
                          f"{{\"state\": <saved state>}})") from None
        raise
    if len(body) > 1:
        raise Invalid("give at most one of 'fixture' or 'state'")
    sim = _sim()
    if "state" in body:
        sim.import_state(body["state"])
    elif "fixture" in body:
        restore(sim, [_scenario(body["fixture"])])
    else:
        restore(sim, current_app.config["DOCRSIM_BASELINE"], checked=True)  # loaded at start
    current_app.config["DOCRSIM_RATELIMIT"].clear()
    return "", 204


def restore(sim, documents, sources=None, *, checked: bool = False) -> None:
    """Replace the world with the given scenarios, applied in order. ``sources`` names each
    document (a file path) in the error of the one that fails; ``checked`` says they were
    all loaded before, unchanged (see ``apply``)."""
    with sim.lock:
        if not documents:
            sim.reset()
            return
        for index, document in enumerate(documents):
            try:
                apply(sim, document, replace=index == 0, checked=checked)
            except ScenarioError as exc:
                if sources is None:
                    raise
                raise ScenarioError(exc.problems, sources[index]) from None
            except DomainError as exc:
                if sources is None:
                    raise
                raise type(exc)(f"{sources[index]}: {exc.message}") from None


def _scenario(given) -> dict:
    """A scenario document given whole, or by the name of a shipped one."""
    if isinstance(given, str):  # never a path: the server reads no files on a client's behalf
        return library.shipped(given)
    if not isinstance(given, dict):
        raise Invalid("fixture must be a scenario document (an object) or the name of a shipped scenario")
    return given


@control.post("/fixtures")
def load_fixture():
    """Add a scenario's registries: the body's document, or the shipped scenario ``?name=``."""
    name = request.args.get("name")
    if name is not None:
        if request.content_length or request.headers.get("Transfer-Encoding"):  # chunked bodies too
            raise Invalid("give the scenario as ?name= or as the body, not both")
        document = _scenario(name)
    else:
        document = control_object(request, limit=SCENARIO_BODY_LIMIT)
    names = apply(_sim(), document)
    return jsonify({"registries": names}), 201


@control.get("/endpoints")
def endpoints():
    """Where this docrsim listens, and what a client needs to reach it by DOCR's production
    names: the proxy's URL and the CA's files (``docrsim env`` prints them as variables)."""
    return jsonify(current_app.config["DOCRSIM_ENDPOINTS"].as_dict())


@control.get("/state")
def state():
    """The whole world as an exact ``docrsim-state/1`` document; ``reset`` takes it back."""
    return jsonify(_sim().export_state())


@control.post("/state/compact")
def compact_state():
    """Fold the state folder's log into its world.json now (``serve --state``)."""
    folder = current_app.config.get("DOCRSIM_STATE_FOLDER")
    if folder is None:
        raise Conflict("this docrsim keeps no state folder: start it with --state DIR")
    folder.compact()
    return jsonify({"folder": str(folder.path)})


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
    body = control_object(request, allowed={"registry", "fail_in"})
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
    body = control_object(request, allowed=set(sim.gc.rates.as_dict()))
    with sim.transaction():
        sim.gc.rates = Rates(**{**sim.gc.rates.as_dict(), **body})
        return jsonify(sim.gc.rates.as_dict())
