"""Reading through the DO API from inside the panel's own requests.

The panel shows what a DO API client would see: each read calls the view of a DO API
operation (same token check, same state transaction, same rendering and paging) with the
panel's token and query, in a request context of its own, and gets the body it would have
answered. Domain errors pass through unchanged for the page to show.
"""

from __future__ import annotations

from flask import Response, current_app, request

from docrsim.core.clock import format_exact_instant

TOKEN_COOKIE = "docrsim_token"


def token() -> str | None:
    """The panel's DO API token: its cookie, else a bearer token sent with the request."""
    cookie = request.cookies.get(TOKEN_COOKIE, "").strip()
    if cookie:
        return cookie
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def call(operation_id: str, bearer: str | None, query: dict | None = None, **path_params) -> dict:
    """The JSON body the DO API operation answers with; raises its DomainError instead."""
    view = current_app.view_functions[operation_id]
    headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
    with current_app.test_request_context(
        "/", base_url=request.host_url, headers=headers, query_string=query or {}
    ):
        result = view(**path_params)
    if isinstance(result, Response):  # a page the API answered from memory (http/doapi/memo.py)
        return result.get_json()
    return result[0] if isinstance(result, tuple) else result


def sim():
    return current_app.config["DOCRSIM_SIM"]


def clock() -> dict:
    """What ``GET /_docrsim/clock`` answers."""
    clock = sim().clock
    return {"now": format_exact_instant(clock.now()), "kind": clock.kind}


def garbage(registry_name: str) -> dict:
    """What ``GET /_docrsim/registries/<name>/garbage`` answers, without the digest lists
    (only their counts and sizes are shown; a large registry has hundreds of thousands)."""
    simulation = sim()
    with simulation.transaction():
        preview = simulation.gc.preview(registry_name)
    return {gc_type: {"count": p["count"], "bytes": p["bytes"]} for gc_type, p in preview.items()}


def write_tokens(registry_name: str) -> list[str]:
    """Expiry instants of the registry's outstanding write tokens, as the state export lists them."""
    simulation = sim()
    with simulation.transaction() as now:
        return [format_exact_instant(t.expires_at) for t in simulation.gc.ledger.outstanding(registry_name, now)]
