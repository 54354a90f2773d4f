"""Manifests by tag or digest, and the referrers API."""

from __future__ import annotations

import json

from flask import Blueprint, Response, current_app, request

from docrsim.core import content as media
from docrsim.core import distribution
from docrsim.core.errors import DomainError, NotFound
from docrsim.core.store import MissingReference, validate_tag
from docrsim.http.body import BodyTooLarge, read_body
from docrsim.http.limits import MANIFEST_BODY_LIMIT
from docrsim.http.registry import auth
from docrsim.http.registry.errors import OciError, from_domain
from docrsim.http.registry.names import known_registry, known_repository, parse_digest, parse_name

manifests = Blueprint("manifests", __name__)
MAX_MANIFEST_BYTES = MANIFEST_BODY_LIMIT


def _sim():
    return current_app.config["DOCRSIM_SIM"]


def _is_digest(reference: str) -> bool:
    return ":" in reference


def _quality(params: list[str]) -> float:
    """The ``q`` of one Accept entry's parameters (1 when absent or unreadable)."""
    for param in params:
        key, _, value = param.partition("=")
        if key.strip().lower() == "q":
            try:
                return float(value)
            except ValueError:
                return 1.0
    return 1.0


def _acceptable(media_type: str) -> bool:
    """Whether the request's Accept headers admit ``media_type`` (no header admits all).
    Media ranges (``*/*``, ``application/*``) match as RFC 9110 says; ``q=0`` refuses."""
    ranges = []
    for value in request.headers.getlist("Accept"):
        for part in value.split(","):
            media_range, *params = (p.strip() for p in part.split(";"))
            if not media_range:
                continue
            ranges.append((media_range.lower(), _quality(params) <= 0))
    if not ranges:
        return True
    # The most specific range that matches decides (RFC 9110 12.5.1): a type, its kind, any.
    specificity = {media_type: 3, media_type.split("/", 1)[0] + "/*": 2, "*/*": 1}
    matching = [(specificity[r], not refused) for r, refused in ranges if r in specificity]
    return bool(matching) and max(matching, key=lambda m: m[0])[1]


@manifests.route("/v2/<path:name>/manifests/<reference>", methods=["GET", "HEAD"])
def fetch_manifest(name, reference):
    sim = _sim()
    with sim.transaction() as now:
        auth.require(sim, now, "repository", name, "pull")
        if _is_digest(reference):
            parse_digest(reference)
        content, repo = known_repository(sim, name)
        try:
            manifest = content.resolve(repo.name, reference)
        except NotFound as exc:
            raise OciError("MANIFEST_UNKNOWN", exc.message, detail={"reference": reference}) from None
        raw = content.blobs.data(manifest.digest)
    if not _acceptable(manifest.media_type):
        raise OciError("MANIFEST_UNKNOWN", f"the manifest is a {manifest.media_type}, which the request does not accept",
                       detail={"reference": reference})
    headers = {"Docker-Content-Digest": manifest.digest, "Content-Type": manifest.media_type,
               "Content-Length": str(len(raw))}
    if request.method == "HEAD":
        # No body at all: a b"" body would make werkzeug reset Content-Length to 0.
        return Response(status=200, headers=headers)
    return Response(raw, status=200, headers=headers)


@manifests.put("/v2/<path:name>/manifests/<reference>")
def push_manifest(name, reference):
    sim = _sim()
    with sim.transaction() as now:
        auth.require(sim, now, "repository", name, "push", challenge_actions="pull,push")
    # The body is read outside the lock; the push below lands with the registry's state as it
    # is then (read-only mode is checked again there, as for a blob upload).
    registry, repository = parse_name(name)
    tag = expected = None
    if _is_digest(reference):
        expected = parse_digest(reference)
    else:
        try:
            tag = validate_tag(reference)
        except DomainError as exc:
            raise OciError("MANIFEST_INVALID", exc.message, detail={"tag": reference}) from None
    try:
        raw = read_body(request, MAX_MANIFEST_BYTES)  # a chunked body too: never more held
    except BodyTooLarge:
        raise OciError("SIZE_INVALID", f"manifests are limited to {MAX_MANIFEST_BYTES} bytes", status=413) from None
    declared = (request.mimetype or None)
    with sim.transaction() as now:
        known_registry(sim, registry, name)
        try:
            digest = distribution.put_manifest(sim, registry, repository, raw, now, media_type=declared,
                                               tag=tag, expected_digest=expected)
        except MissingReference as exc:
            raise OciError("MANIFEST_BLOB_UNKNOWN", exc.message, detail={"digest": exc.digest}) from None
        except DomainError as exc:
            raise from_domain(exc, missing="MANIFEST_UNKNOWN") from None
        subject = sim.account.registry(registry).content.manifests[digest].parsed.subject
    headers = {"Location": f"/v2/{name}/manifests/{digest}", "Docker-Content-Digest": digest, "Content-Length": "0"}
    if subject is not None:
        headers["OCI-Subject"] = subject.digest
    return Response(status=201, headers=headers)


@manifests.delete("/v2/<path:name>/manifests/<reference>")
def delete_manifest(name, reference):
    sim = _sim()
    with sim.transaction() as now:
        auth.require(sim, now, "repository", name, "delete")
        registry, _ = parse_name(name)
        digest = parse_digest(reference) if _is_digest(reference) else None
        content, repo = known_repository(sim, name)
        try:
            sim.gc.check_content_change(registry)
            if digest is not None:
                content.delete_manifest(repo.name, digest)
            else:
                content.delete_tag(repo.name, reference)
        except NotFound as exc:
            raise OciError("MANIFEST_UNKNOWN", exc.message, detail={"reference": reference}) from None
        except DomainError as exc:
            raise from_domain(exc) from None
    return Response(status=202, headers={"Content-Length": "0"})


@manifests.get("/v2/<path:name>/referrers/<digest>")
def referrers(name, digest):
    sim = _sim()
    wanted = request.args.get("artifactType")
    with sim.transaction() as now:
        auth.require(sim, now, "repository", name, "pull")
        registry, repository = parse_name(name)
        parse_digest(digest, code="DIGEST_INVALID")
        # The referrers API never answers 404 for a well-formed digest: a registry, repository
        # or subject docrsim does not know has no referrers, so the index is empty.
        found_registry = sim.account.registries.get(registry)
        repo = found_registry.content.repositories.get(repository) if found_registry else None
        content = found_registry.content if found_registry else None
        found = []
        for linked in sorted(repo.manifests) if repo is not None else ():
            manifest = content.manifests[linked]
            parsed = manifest.parsed
            if parsed.subject is None or parsed.subject.digest != digest:
                continue
            if wanted and parsed.artifact_type != wanted:
                continue
            entry = {"mediaType": manifest.media_type, "digest": linked, "size": manifest.size}
            if parsed.artifact_type:
                entry["artifactType"] = parsed.artifact_type
            if parsed.annotations:
                entry["annotations"] = parsed.annotations
            found.append(entry)
    body = json.dumps({"schemaVersion": 2, "mediaType": media.OCI_INDEX, "manifests": found})
    headers = {"Content-Type": media.OCI_INDEX}
    if wanted:
        headers["OCI-Filters-Applied"] = "artifactType"
    return Response(body, status=200, headers=headers)
