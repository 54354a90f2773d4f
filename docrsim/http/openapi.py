"""Serve docrsim's own OpenAPI document at /openapi.json."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

from flask import Blueprint, jsonify

openapi = Blueprint("openapi", __name__)


@lru_cache(maxsize=1)
def document() -> dict:
    # docrsim/openapi.yaml links to openapi/docrsim.yaml, so a wheel carries the same file.
    import yaml  # read on first use (a fault rule, the journal, /openapi.json), not at start

    return yaml.safe_load(resources.files("docrsim").joinpath("openapi.yaml").read_text())


@openapi.get("/openapi.json")
def serve_document():
    return jsonify(document())
