"""The registry's token service on the API host: ``GET /v2/registry/auth``.

Docker, skopeo and oras follow the registry host's challenge here with HTTP Basic
credentials and the scopes they need, and get a JWT for the registry host.
"""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request

from docrsim.core.errors import BadRequest, Invalid, Unauthorized
from docrsim.core.registry_auth import parse_scope
from docrsim.http import addresses

token_service = Blueprint("token_service", __name__)


@token_service.get("/v2/registry/auth")
def issue_token():
    config = current_app.config
    sim = config["DOCRSIM_SIM"]
    service = request.args.get("service") or addresses.of_request().service
    accepted = addresses.accepted_services()
    if service not in accepted:
        raise BadRequest(f"unknown service {service!r}: this token service serves {' and '.join(accepted)}")
    try:
        scopes = [parse_scope(s) for value in request.args.getlist("scope") for s in value.split(" ") if s]
    except Invalid as exc:
        raise BadRequest(exc.message) from None
    basic = request.authorization
    if basic is None or basic.type != "basic":
        raise Unauthorized("registry credentials required: use HTTP Basic with docker-credentials or a DO API token")
    with sim.transaction() as now:
        principal = sim.registry_tokens.authenticate(sim, basic.username or "", basic.password or "",
                                                     config["DOCRSIM_TOKENS"], now)
        granted = sim.registry_tokens.grant(sim, principal, scopes, now)
        body = sim.registry_tokens.issue(sim, principal, granted, service, now)
    return jsonify(body)
