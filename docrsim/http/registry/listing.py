"""Tag lists and the catalog, with ``n``/``last`` pagination and ``Link`` headers."""

from __future__ import annotations

from urllib.parse import urlencode

from flask import Blueprint, current_app, jsonify, request

from docrsim.http.registry import auth
from docrsim.http.registry.errors import OciError
from docrsim.http.registry.names import known_repository

listing = Blueprint("listing", __name__)
MAX_PAGE = 10000


def _sim():
    return current_app.config["DOCRSIM_SIM"]


def _page(items: list[str], path: str):
    """Items after ``last`` (exclusive), at most ``n`` of them, with a Link to the rest."""
    raw_n = request.args.get("n")
    last = request.args.get("last")
    if last is not None:
        items = [i for i in items if i > last]
    n = None
    if raw_n is not None:
        try:
            n = int(raw_n)
        except ValueError:
            raise OciError("PAGINATION_NUMBER_INVALID", f"n must be an integer, not {raw_n!r}") from None
        if n < 0:
            raise OciError("PAGINATION_NUMBER_INVALID", "n must not be negative")
        n = min(n, MAX_PAGE)
    page = items if n is None else items[:n]
    headers = {}
    if n is not None and len(items) > n and page:
        headers["Link"] = f'<{path}?{urlencode({"n": n, "last": page[-1]})}>; rel="next"'
    return page, headers


@listing.get("/v2/<path:name>/tags/list")
def tags_list(name):
    sim = _sim()
    with sim.transaction() as now:
        auth.require(sim, now, "repository", name, "pull")
        _, repo = known_repository(sim, name)
        tags = sorted(repo.tags)
    page, headers = _page(tags, f"/v2/{name}/tags/list")
    response = jsonify({"name": name, "tags": page})
    response.headers.update(headers)
    return response


@listing.get("/v2/_catalog")
def catalog():
    sim = _sim()
    with sim.transaction() as now:
        claims = auth.require(sim, now, "registry", "catalog", "*")
        names = sorted(
            f"{registry.name}/{repo}"
            for registry in sim.account.registries.values()
            if claims.reaches(registry.name)
            for repo in registry.content.repositories
        )
    page, headers = _page(names, "/v2/_catalog")
    response = jsonify({"repositories": page})
    response.headers.update(headers)
    return response
