"""The control panel: the registry page of DOCR's control panel, served by the API host at ``/``.

Server-rendered pages and fragments show what the DO API and the control API answer (see
``docrsim.http.panel.api``); everything the page changes it changes by calling those same
APIs from the browser (``static/panel.js``). The panel itself holds no rules.
"""

from __future__ import annotations

import hashlib
import math

from flask import Blueprint, render_template, request, url_for

from docrsim.core.clock import parse_instant
from docrsim.core.errors import DomainError, Forbidden, Unauthorized
from docrsim.core.gc_plan import GC_TYPES, UNREFERENCED_BLOBS, UNTAGGED_AND_BLOBS
from docrsim.http.errors import do_status
from docrsim.http.panel import api
from docrsim.http.rawpath import segment

panel = Blueprint(
    "panel", __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/_docrsim/panel/static",
)

PER_PAGE = 20
HISTORY_PER_PAGE = 20
WAITING = "waiting for write JWTs to expire"


# -- presentation helpers -------------------------------------------------------------------------
@panel.app_template_filter("bytes")
def human_bytes(value) -> str:
    value = int(value or 0)
    if value < 1024:
        return f"{value} B"
    for unit in ("KiB", "MiB", "GiB", "TiB"):
        value /= 1024
        if value < 1024 or unit == "TiB":
            return f"{value:.1f} {unit}"
    return f"{value} B"  # unreachable


@panel.app_template_filter("when")
def when(value: str | None) -> str:
    if not value:
        return ""
    return parse_instant(value).strftime("%Y-%m-%d %H:%M:%S UTC")


@panel.app_template_filter("short_digest")
def short_digest(digest: str) -> str:
    algorithm, _, hex_part = digest.partition(":")
    return f"{algorithm}:{hex_part[:12]}"


@panel.app_template_filter("objects")
def objects(count: int) -> str:
    return f"{count} object" if count == 1 else f"{count} objects"


@panel.app_template_filter("percent")
def percent(part, whole) -> int:
    return 0 if not whole else min(100, math.floor(100 * part / whole))


def _signature(*parts) -> str:
    return hashlib.sha1(repr(parts).encode()).hexdigest()[:16]


def _pages(total: int, per_page: int, page: int) -> dict:
    last = max(1, math.ceil(total / per_page))
    return {"page": page, "last": last, "total": total, "per_page": per_page}


def _page_number() -> int:
    """The page asked for, for the pager's links; the DO API itself checks the value."""
    try:
        number = int(request.args.get("page", "1"))
    except ValueError:  # str.isdigit would pass "²", which int refuses
        return 1
    return number if number > 0 else 1


def _paging_query(per_page_default: int) -> dict:
    query = {"per_page": request.args.get("per_page") or per_page_default}
    if request.args.get("page"):
        query["page"] = request.args["page"]
    return query


def _section(fn, *args, **kwargs):
    """(body, None) or (None, message) for one read the page makes."""
    try:
        return fn(*args, **kwargs), None
    except (Unauthorized, Forbidden):
        raise
    except DomainError as exc:
        return None, exc.message


# -- the page ------------------------------------------------------------------------------------
@panel.get("/")
def page():
    bearer = api.token()
    context = {"clock": api.clock(), "has_token": bool(bearer), "tab": None, "selected": None}
    if not bearer:
        return render_template("panel/page.html", need_token=True, **context)
    try:
        return _registry_page(bearer, context)
    except (Unauthorized, Forbidden) as exc:
        return render_template("panel/page.html", need_token=True, token_error=exc.message, **context)


def _registry_page(bearer: str, context: dict):
    listing = api.call("registries_list", bearer)
    registries = listing["registries"]
    subscription, _ = _section(api.call, "registries_get_subscription", bearer)
    tier = subscription["subscription"]["tier"] if subscription else None
    names = [r["name"] for r in registries]
    wanted = request.args.get("registry") or (names[0] if names else None)
    notice = None
    if wanted is not None and wanted not in names:
        notice = f"There is no registry named {wanted!r} in this account."
        wanted = names[0] if names else None
    context.update(registries=registries, tier=tier, selected=wanted, notice=notice,
                   total_storage=listing.get("total_storage_usage_bytes", 0))
    if wanted is None:
        return render_template("panel/page.html", **context)

    registry = next(r for r in registries if r["name"] == wanted)
    tab = "history" if request.args.get("tab") == "history" else "repositories"
    context.update(registry=registry, tab=tab, page_number=_page_number())

    # Garbage collection: the active run, the latest one, and what a run now would delete.
    active, _ = _section(api.call, "registries_get_garbageCollection", bearer, registry_name=wanted)
    active = active["garbage_collection"] if active else None
    latest, _ = _section(api.call, "registries_list_garbageCollections", bearer, {"per_page": 1}, registry_name=wanted)
    context.update(
        active=active,
        last_run=(latest["garbage_collections"] or [None])[0] if latest else None,
        run_count=latest["meta"]["total"] if latest else 0,
    )
    preview, context["preview_error"] = _section(api.garbage, wanted)
    context["preview"] = preview
    if active and preview:
        remaining = preview[active["type"]]["count"]
        context["progress_total"] = active["blobs_deleted"] + remaining
    if active and active["status"] == WAITING:
        context["write_tokens"] = api.write_tokens(wanted)

    if tab == "repositories":
        repos, context["list_error"] = _section(
            api.call, "registries_list_repositoriesV2", bearer, _paging_query(PER_PAGE), registry_name=wanted)
        if repos:
            per_page = int(request.args.get("per_page") or PER_PAGE)
            context.update(
                repositories=repos["repositories"],
                repo_count=repos["meta"]["total"],
                pages=_pages(repos["meta"]["total"], per_page, _page_number()),
                repo_signature=_signature(
                    registry["read_only"],
                    [(r["name"], r["tag_count"], r["manifest_count"],
                      (r["latest_manifest"] or {}).get("digest")) for r in repos["repositories"]]),
            )
    else:
        count, _ = _section(api.call, "registries_list_repositoriesV2", bearer, {"per_page": 1}, registry_name=wanted)
        context["repo_count"] = count["meta"]["total"] if count else None
        runs, context["list_error"] = _section(
            api.call, "registries_list_garbageCollections", bearer, _paging_query(HISTORY_PER_PAGE),
            registry_name=wanted)
        if runs:
            per_page = int(request.args.get("per_page") or HISTORY_PER_PAGE)
            context.update(
                runs=runs["garbage_collections"],
                pages=_pages(runs["meta"]["total"], per_page, _page_number()),
                open_run=request.args.get("run"),
                history_signature=_signature([tuple(r.values()) for r in runs["garbage_collections"]]),
            )
    return render_template("panel/page.html", gc_types=GC_TYPES, blobs_only=UNREFERENCED_BLOBS,
                           with_untagged=UNTAGGED_AND_BLOBS, **context)


@panel.app_template_global("page_url")
def page_url(**changes) -> str:
    """This page's URL with some query values changed (None drops one)."""
    args = {k: v for k, v in request.args.items() if k not in ("run",)}
    args.update(changes)
    return url_for("panel.page", **{k: v for k, v in args.items() if v is not None})


# -- a repository's versions, loaded when its row is expanded -----------------------------------------
@panel.get("/_docrsim/panel/registries/<registry_name>/repositories/<repository_name:repository_name>/versions")
def versions(registry_name, repository_name):
    name = segment(repository_name)
    bearer = api.token()
    try:
        body = api.call("registries_list_repositoryManifests", bearer, _paging_query(PER_PAGE),
                        registry_name=registry_name, repository_name=name)
        registry = api.call("registries_get", bearer, registry_name=registry_name)["registry"]
    except DomainError as exc:
        status, _ = do_status(exc)
        return render_template("panel/error_fragment.html", message=exc.message), status
    per_page = int(request.args.get("per_page") or PER_PAGE)
    return render_template(
        "panel/versions.html",
        registry=registry, repository=name, manifests=body["manifests"],
        pages=_pages(body["meta"]["total"], per_page, _page_number()),
        fragment_url=lambda page: url_for("panel.versions", registry_name=registry_name,
                                          repository_name=name, page=page, per_page=request.args.get("per_page")),
    )

