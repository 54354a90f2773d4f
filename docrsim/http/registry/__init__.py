"""The registry host: the OCI distribution API, behind DOCR's token auth."""

from __future__ import annotations

from flask import Flask, Response, current_app
from werkzeug.exceptions import HTTPException

from docrsim.http import observe
from docrsim.http.endpoints import Endpoints
from docrsim.http.registry import auth
from docrsim.http.registry.blobs import blobs
from docrsim.http.registry.errors import OciError, render
from docrsim.http.registry.listing import listing
from docrsim.http.registry.manifests import manifests
from docrsim.http.routing import LazyBuilderRule

API_VERSION_HEADER = {"Docker-Distribution-API-Version": "registry/2.0"}


def create_registry_app(sim, *, endpoints: Endpoints | None = None) -> Flask:
    app = Flask("docrsim.registry", static_folder=None)  # nothing of the working directory is served
    app.url_rule_class = LazyBuilderRule  # URL builders made when first used (http/routing.py)
    # Blob bodies are streamed, never read whole, so no global body limit applies here.
    app.config.update(DOCRSIM_SIM=sim, DOCRSIM_ENDPOINTS=endpoints or Endpoints(), MAX_CONTENT_LENGTH=None)
    app.json.sort_keys = False

    @app.get("/v2/")
    def version_check():
        sim_ = current_app.config["DOCRSIM_SIM"]
        with sim_.transaction() as now:
            auth.require_any_token(sim_, now)
        return Response("{}", status=200, mimetype="application/json")

    app.register_blueprint(listing)  # before blobs: /v2/_catalog must not read as a repository
    app.register_blueprint(blobs)
    app.register_blueprint(manifests)
    observe.install(app, "registry")  # journal and fault rules

    @app.errorhandler(OciError)
    def oci_error(error):
        return render(error)

    @app.errorhandler(HTTPException)
    def http_error(error):
        return render(OciError("UNSUPPORTED", error.description, status=error.code))

    @app.after_request
    def version_header(response):
        response.headers.update(API_VERSION_HEADER)
        return response

    return app
