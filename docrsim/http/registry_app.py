"""The registry host. It speaks the OCI distribution API's error envelope; until the
distribution endpoints land it answers the version check with DOCR's token challenge."""

from __future__ import annotations

from flask import Flask, jsonify
from werkzeug.exceptions import HTTPException

from docrsim.http.endpoints import Endpoints


def _oci_error(status: int, code: str, message: str):
    response = jsonify({"errors": [{"code": code, "message": message, "detail": None}]})
    response.status_code = status
    return response


def create_registry_app(sim, *, endpoints: Endpoints | None = None) -> Flask:
    app = Flask("docrsim.registry")
    app.config.update(DOCRSIM_SIM=sim, DOCRSIM_ENDPOINTS=endpoints or Endpoints())

    @app.get("/v2/")
    def version_check():
        ends = app.config["DOCRSIM_ENDPOINTS"]
        response = _oci_error(401, "UNAUTHORIZED", "authentication required")
        response.headers["WWW-Authenticate"] = (
            f'Bearer realm="{ends.api_url}/v2/registry/auth",service="{ends.registry_host}"'
        )
        response.headers["Docker-Distribution-API-Version"] = "registry/2.0"
        return response

    @app.errorhandler(HTTPException)
    def http_error(error):
        code = "UNSUPPORTED" if error.code in (404, 405) else "UNKNOWN"
        return _oci_error(error.code, code, error.description)

    return app
