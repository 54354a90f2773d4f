"""Fault rules and the request journal at the edges: the control endpoints that manage them
(``/_docrsim/faults``, ``/_docrsim/journal``) and the hooks both hosts install.

Each request a host receives is numbered in the journal on arrival and written there once
answered. Before it is served, the oldest live fault rule that matches it may act: answer with
an error in the host's own format (the DO error body on the API host, the OCI error envelope on
the registry host) or wait ``delay_ms`` of real time first. docrsim's own endpoints (the
control API and ``/openapi.json``) are journaled, marked ``control``, and never faulted, so a
test can always reach them.
"""

from __future__ import annotations

import difflib
import re
import time
from functools import lru_cache
from urllib.parse import quote

from flask import Blueprint, Flask, current_app, g, jsonify, request
from werkzeug.routing import BaseConverter

from docrsim.core.clock import format_exact_instant, parse_instant
from docrsim.core.errors import Invalid
from docrsim.core.faults import HOSTS, FaultRule, RequestInfo, family_free
from docrsim.core.journal import Entry, Query
from docrsim.http.body import control_object
from docrsim.http.errors import do_error_response
from docrsim.http.openapi import document
from docrsim.http.registry.errors import OciError, render

observe = Blueprint("observe", __name__, url_prefix="/_docrsim")

CONTROL_PATHS = ("/_docrsim/", "/openapi.json")
PANEL_PAGE = "/"  # the control panel's page; its other routes live under /_docrsim/


def is_docrsim_own(path: str) -> bool:
    """docrsim's own endpoints: never faulted, journaled only for those who ask."""
    return path == PANEL_PAGE or path.startswith(CONTROL_PATHS)

# The registry host has no operationIds of its own: these name its routes, by Flask endpoint
# and method, for the journal and for fault rules.
OCI_OPERATION_IDS = {
    ("version_check", "GET"): "oci_version_check",
    ("blobs.fetch_blob", "GET"): "oci_blob_get",
    ("blobs.fetch_blob", "HEAD"): "oci_blob_head",
    ("blobs.delete_blob", "DELETE"): "oci_blob_delete",
    ("blobs.start_upload", "POST"): "oci_blob_upload",
    ("blobs.upload_chunk", "PATCH"): "oci_blob_upload_chunk",
    ("blobs.finish_upload", "PUT"): "oci_blob_upload_finish",
    ("blobs.upload_status", "GET"): "oci_blob_upload_status",
    ("blobs.cancel_upload", "DELETE"): "oci_blob_upload_cancel",
    ("manifests.fetch_manifest", "GET"): "oci_manifest_get",
    ("manifests.fetch_manifest", "HEAD"): "oci_manifest_head",
    ("manifests.push_manifest", "PUT"): "oci_manifest_put",
    ("manifests.delete_manifest", "DELETE"): "oci_manifest_delete",
    ("manifests.referrers", "GET"): "oci_referrers",
    ("listing.tags_list", "GET"): "oci_tags_list",
    ("listing.catalog", "GET"): "oci_catalog",
}

# DO's error ids, and the OCI codes docker's distribution uses, for the statuses a fault gives.
_DO_ERRORS = {
    429: ("too_many_requests", "API rate limit exceeded."),
    500: ("server_error", "Unexpected server-side error"),
    503: ("service_unavailable", "The service is temporarily unavailable."),
}
_OCI_ERRORS = {
    429: ("TOOMANYREQUESTS", "too many requests"),
    500: ("UNKNOWN", "unknown error"),
    503: ("UNAVAILABLE", "service unavailable"),
}


def _sim():
    return current_app.config["DOCRSIM_SIM"]


# -- operation ids ----------------------------------------------------------------------------------
@lru_cache(maxsize=None)
def _documented_operation_id(method: str, rule: str) -> str | None:
    template = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule)  # Flask's <x> is OpenAPI's {x}
    operation = document()["paths"].get(template, {}).get(method.lower())
    return operation["operationId"] if operation else None


def _api_operation_id() -> str | None:
    """The operationId our OpenAPI document gives the matched route; None for an unknown one."""
    req = request._get_current_object()
    if req.url_rule is None:
        return None
    return _documented_operation_id("GET" if req.method == "HEAD" else req.method, req.url_rule.rule)


def _registry_operation_id() -> str | None:
    found = OCI_OPERATION_IDS.get((request.endpoint, request.method))
    if found is None and request.method == "HEAD":  # Flask answers HEAD on every GET route
        found = OCI_OPERATION_IDS.get((request.endpoint, "GET"))
    return found


@lru_cache(maxsize=1)
def _faultable_operation_ids() -> frozenset[str]:
    """Every operation a fault rule can name: the API host's, but for docrsim's own, and the
    registry host's."""
    api = {operation["operationId"]
           for path, item in document()["paths"].items() if not is_docrsim_own(path)
           for method, operation in item.items() if isinstance(operation, dict) and "operationId" in operation}
    return frozenset(api | set(OCI_OPERATION_IDS.values()))


def check_operation_id(operation_id) -> None:
    """Invalid, naming the nearest real names, for an ``operation_id`` no request could have:
    a rule that silently never fires is the worst kind (the Simulator checks its rules too)."""
    if isinstance(operation_id, str) and operation_id not in _fault_names():
        close = difflib.get_close_matches(operation_id, sorted(_fault_names()), n=3)
        hint = f"; did you mean {' or '.join(repr(name) for name in close)}?" if close else ""
        raise Invalid(f"no operation {operation_id!r} a fault can act on (docrsim's own endpoints are never "
                      "faulted; registry host ids start with 'oci_', and a DO operation's name without its "
                      f"family, such as 'delete_repositoryTag', names both families){hint}")


@lru_cache(maxsize=1)
def _fault_names() -> frozenset[str]:
    """What a rule's ``operation_id`` may be: a faultable operation's id, or the family-free
    name of one (``delete_repositoryTag`` for both families' twins, see core/faults.py)."""
    ids = _faultable_operation_ids()
    return ids | {name for name in map(family_free, ids) if name is not None}


# -- the hooks --------------------------------------------------------------------------------------
def raw_path(environ) -> str:
    """The path as the client sent it, percent-encoding intact, without the query."""
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if not raw:  # not behind a real server (Flask's test client): rebuild it
        return quote(environ.get("PATH_INFO", "").encode("latin-1"), safe="/%:@!$&'()*+,;=~")
    path = raw.split("?", 1)[0]
    if "://" in path:  # absolute-form request target
        path = "/" + path.split("://", 1)[1].partition("/")[2]
    return path


def install(app: Flask, host: str) -> None:
    """Journal every request ``app`` receives and let fault rules act on it. Install after the
    app's own before_request hooks: a DO error body repeats the request id they assign."""
    assert host in HOSTS
    operation_id = _api_operation_id if host == "api" else _registry_operation_id
    answer = _do_answer if host == "api" else _oci_answer

    @app.before_request
    def arrive():
        # The request and g bound once: each use of Flask's proxies costs a context look-up.
        req, ctx = request._get_current_object(), g._get_current_object()
        sim = app.config["DOCRSIM_SIM"]
        path = raw_path(req.environ)
        control = host == "api" and is_docrsim_own(path)
        op = operation_id()
        with sim.lock:
            # The journal that numbered the request writes it: one a reset replaced meanwhile
            # is gone, and the request with it.
            ctx.journal_arrival = (sim.journal, sim.journal.open(), sim.now(), path, op, control, time.perf_counter())
            rule = None if control else sim.faults.take(RequestInfo(host, req.method, path, op))
        ctx.fault_rule = rule
        if rule is None:
            return None
        if rule.delay_ms is not None:
            time.sleep(rule.delay_ms / 1000)  # real time, outside the lock: the outcome is unchanged
            return None
        _discard_body()
        return answer(rule)

    @app.after_request
    def leave(response):
        ctx = g._get_current_object()
        arrival = ctx.pop("journal_arrival", None)
        if arrival is None:
            return response
        journal, seq, at, path, op, control, started = arrival
        rule: FaultRule | None = ctx.get("fault_rule")
        req = request._get_current_object()
        entry = Entry(
            seq=seq, at=at, host=host, method=req.method, path=path,
            query=req.environ.get("QUERY_STRING", ""), operation_id=op, control=control,
            status=response.status_code, request_id=ctx.get("request_id"),
            fault=None if rule is None else {"id": rule.id, "effect": rule.effect},
        )
        with app.config["DOCRSIM_SIM"].lock:
            journal.write(entry)
        log = app.config.get("DOCRSIM_REQUEST_LOG")  # serve --verbose (http/requestlog.py)
        if log is not None:
            log.write(entry, time.perf_counter() - started)
        return response


def _discard_body() -> None:
    """Read what the client sends before answering without it, so it is not cut off mid-upload."""
    while request.stream.read(64 * 1024):
        pass


def _do_answer(rule: FaultRule):
    error_id, message = _DO_ERRORS[rule.status]
    response = do_error_response(rule.status, error_id, rule.message or message)
    if rule.status == 429:
        # A throttled caller has nothing left until it may retry; the API host's after-request
        # hook adds ratelimit-limit and leaves these as they are.
        retry_after = rule.retry_after_seconds
        response.headers.update({
            "ratelimit-remaining": "0",
            "ratelimit-reset": str(int(_sim().now().timestamp()) + retry_after),
            "retry-after": str(retry_after),
        })
    return response


def _oci_answer(rule: FaultRule):
    code, message = _OCI_ERRORS[rule.status]
    headers = {"Retry-After": str(rule.retry_after_seconds)} if rule.status == 429 else {}
    return render(OciError(code, rule.message or message, status=rule.status, headers=headers))


# -- fault rules ------------------------------------------------------------------------------------
@observe.post("/faults")
def add_fault():
    body = control_object(request)
    check_operation_id(body.get("operation_id"))
    sim = _sim()
    with sim.transaction() as now:
        rule = sim.faults.add(body, now)
        return jsonify(rule.as_dict()), 201


@observe.get("/faults")
def list_faults():
    sim = _sim()
    with sim.lock:
        return jsonify({"faults": [rule.as_dict() for rule in sim.faults.rules()]})


@observe.delete("/faults")
def clear_faults():
    """Delete every rule; gc holds release their runs."""
    sim = _sim()
    with sim.transaction() as now:
        sim.faults.clear(now)
    return "", 204


class FaultId(BaseConverter):
    """A rule's id (``fault-1``): so ``/faults/gc``, a path of its own, is not also a rule."""

    regex = "fault-[0-9]+"


@observe.delete("/faults/<fault_id:fault_id>")
def delete_fault(fault_id):
    sim = _sim()
    with sim.transaction() as now:
        sim.faults.remove(fault_id, now)
    return "", 204


# -- the journal ------------------------------------------------------------------------------------
_JOURNAL_PARAMETERS = {"method", "operation_id", "host", "status", "since", "after", "limit",
                       "include_control", "faulted"}


@observe.get("/journal")
def get_journal():
    args = request.args
    unknown = sorted(set(args) - _JOURNAL_PARAMETERS)
    if unknown:
        raise Invalid(f"unknown query parameter{'s' if len(unknown) > 1 else ''}: {', '.join(unknown)}")
    hosts = tuple(args.getlist("host"))
    if set(hosts) - set(HOSTS):
        raise Invalid(f"host must be one of {', '.join(repr(h) for h in HOSTS)}")
    query = Query(
        methods=tuple(m.upper() for m in args.getlist("method")),
        operation_ids=tuple(args.getlist("operation_id")),
        hosts=hosts,
        statuses=tuple(args.getlist("status")),
        since=parse_instant(args["since"]) if "since" in args else None,
        after=_int_arg("after", 0),
        limit=_int_arg("limit", Query.limit),
        include_control=_bool_arg("include_control", False),
        faulted=_bool_arg("faulted", None),
    )
    sim = _sim()
    with sim.lock:
        entries, next_after = sim.journal.select(query)
        dropped = sim.journal.dropped
    return jsonify({"entries": [entry_body(e) for e in entries], "next_after": next_after, "dropped": dropped})


@observe.delete("/journal")
def clear_journal():
    sim = _sim()
    with sim.lock:
        sim.journal.clear()
    return "", 204


def entry_body(entry: Entry) -> dict:
    return {
        "seq": entry.seq,
        "time": format_exact_instant(entry.at),  # to the microsecond: order within a second matters
        "host": entry.host,
        "method": entry.method,
        "path": entry.path,
        "query": entry.query,
        "operation_id": entry.operation_id,
        "control": entry.control,
        "status": entry.status,
        "request_id": entry.request_id,
        "fault": entry.fault,
    }


def _int_arg(name: str, default: int) -> int:
    value = request.args.get(name)
    if value is None:
        return default
    try:
        return int(value)
    except ValueError:
        raise Invalid(f"{name} must be an integer") from None


def _bool_arg(name: str, default):
    value = request.args.get(name)
    if value is None:
        return default
    if value not in ("true", "false"):
        raise Invalid(f"{name} must be true or false")
    return value == "true"
