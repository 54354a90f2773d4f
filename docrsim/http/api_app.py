"""The API host: the DO API, the control API and our OpenAPI document, in one Flask app."""

from __future__ import annotations

from flask import Flask, g, request
from werkzeug.exceptions import HTTPException

from docrsim.core.credentials import TokenPolicy
from docrsim.core.errors import DomainError
from docrsim.http import doapi, observe
from docrsim.http.control import control
from docrsim.http.doapi.memo import PageMemo
from docrsim.http.endpoints import Endpoints
from docrsim.http.errors import do_error_response, render_do_error
from docrsim.http.limits import SCENARIO_BODY_LIMIT
from docrsim.http.openapi import openapi
from docrsim.http.panel import panel
from docrsim.http.ratelimit import RateLimitCounter
from docrsim.http.token_service import token_service
from docrsim.http.rawpath import RawPathMiddleware
from docrsim.http.routing import LazyBuilderRule

_HTTP_ERROR_IDS = {400: "bad_request", 404: "not_found", 405: "method_not_allowed", 413: "request_too_large"}
_HTTP_ERROR_MESSAGES = {
    404: "The resource you requested could not be found.",
    405: "The method is not allowed for the requested URL.",
}
# For any body no endpoint sets its own limit for (see docrsim.http.limits).
MAX_BODY_BYTES = SCENARIO_BODY_LIMIT


def create_api_app(sim, *, endpoints: Endpoints | None = None, baseline=(), tokens: TokenPolicy | None = None) -> Flask:
    # No static folder: Flask would otherwise serve ./static of whatever directory docrsim runs in.
    app = Flask("docrsim.api", static_folder=None)
    app.url_rule_class = LazyBuilderRule  # URL builders made when first used (http/routing.py)
    app.config.update(
        DOCRSIM_SIM=sim,
        DOCRSIM_TOKENS=tokens or TokenPolicy(),
        DOCRSIM_ENDPOINTS=endpoints or Endpoints(),
        DOCRSIM_BASELINE=list(baseline),
        DOCRSIM_RATELIMIT=RateLimitCounter(),
        DOCRSIM_PAGES=PageMemo(),
        MAX_CONTENT_LENGTH=MAX_BODY_BYTES,
    )
    app.json.sort_keys = False
    app.json.compact = True
    app.json.mimetype = "application/json; charset=utf-8"

    app.url_map.converters["fault_id"] = observe.FaultId
    doapi.register(app)  # first: its name converters serve the panel's routes too
    app.register_blueprint(control)
    app.register_blueprint(observe.observe)
    app.register_blueprint(openapi)
    app.register_blueprint(token_service)
    app.register_blueprint(panel)  # the control panel at /

    @app.before_request
    def assign_request_id():
        g.request_id = sim.request_ids.uuid()

    observe.install(app, "api")  # journal and fault rules, after the request id is known

    rate_limit = app.config["DOCRSIM_RATELIMIT"]

    @app.after_request
    def add_common_headers(response):
        headers = response.headers
        headers["x-request-id"] = g.get("request_id", "")
        token = request.headers.get("Authorization", "anonymous")
        epoch = int(sim.now().timestamp())
        limits = rate_limit.record(token, epoch)
        if g.get("fault_rule") is None:
            headers.extend(limits)
        else:  # a throttling fault has set its own remaining and reset; the request still counts
            headers.extend({name: value for name, value in limits.items() if name not in headers})
        return response

    @app.errorhandler(DomainError)
    def domain_error(error):
        return render_do_error(error)

    @app.errorhandler(HTTPException)
    def http_error(error):
        response = do_error_response(
            error.code,
            _HTTP_ERROR_IDS.get(error.code, "error"),
            _HTTP_ERROR_MESSAGES.get(error.code, error.description),
        )
        if error.code == 405 and error.valid_methods:
            response.headers["Allow"] = ", ".join(error.valid_methods)
        return response

    app.wsgi_app = RawPathMiddleware(app.wsgi_app)
    return app
