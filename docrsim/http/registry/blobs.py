"""Blobs: fetch (with Range), check, upload in one piece or in chunks, mount, cancel."""

from __future__ import annotations

import re

from flask import Blueprint, Response, current_app, request

from docrsim.core import distribution
from docrsim.core.distribution import split_name
from docrsim.core.errors import DomainError, Invalid
from docrsim.http.registry import auth
from docrsim.http.registry.errors import OciError, from_domain
from docrsim.http.registry.names import known_registry, parse_digest, parse_name
from docrsim.network.keepalive import BUFFERS_ACCEPTED

blobs = Blueprint("blobs", __name__)
_STREAM_CHUNK = 1024 * 1024
_CONTENT_RANGE = re.compile(r"^(?:bytes[ =])?(\d+)-(\d+)$")
_RANGE = re.compile(r"bytes=(\d*)-(\d*)")


def _sim():
    return current_app.config["DOCRSIM_SIM"]


def _byte_range(header: str | None, size: int):
    """The span ``(start, stop)`` a ``Range: bytes=...`` header asks of a ``size``-byte blob.

    None means serve the whole blob: no header, or one docrsim does not read (several ranges,
    another unit, bad syntax), which RFC 9110 lets a server ignore. ``()`` means unsatisfiable.
    A suffix longer than the blob, or a last position past its end, covers the rest of it.
    """
    match = _RANGE.fullmatch(header.strip()) if header else None
    if match is None or not (match[1] or match[2]):
        return None
    if not match[1]:  # bytes=-N: the last N bytes
        suffix = int(match[2])
        return (max(size - suffix, 0), size) if suffix and size else ()
    start = int(match[1])
    if match[2] and int(match[2]) < start:
        return None
    if start >= size:
        return ()
    return start, size if not match[2] else min(int(match[2]) + 1, size)


def _blob_headers(digest: str, size: int) -> dict:
    return {"Docker-Content-Digest": digest, "Content-Type": "application/octet-stream",
            "Accept-Ranges": "bytes", "Content-Length": str(size)}


@blobs.route("/v2/<path:name>/blobs/<digest>", methods=["GET", "HEAD"])
def fetch_blob(name, digest):
    sim = _sim()
    with sim.transaction() as now:
        auth.require(sim, now, "repository", name, "pull")
        registry, repository = parse_name(name)
        parse_digest(digest)
        content = known_registry(sim, registry, name).content
        if not content.has_blob(repository, digest):  # held for another repository is not enough
            raise OciError("BLOB_UNKNOWN", "blob unknown to repository", detail={"digest": digest})
        store = content.blobs
        size = store.size(digest)
        data = store.data(digest)
    headers = _blob_headers(digest, size)
    if request.method == "HEAD":
        return Response(status=200, headers=headers)
    if data is None:
        raise OciError("BLOB_UNKNOWN", "synthetic blob: docrsim holds its size but no bytes",
                       detail={"digest": digest, "size": size})
    start, stop, status = 0, size, 200
    span = _byte_range(request.headers.get("Range"), size)
    if span is not None:
        if not span:
            return Response(status=416, headers={"Content-Range": f"bytes */{size}"})
        start, stop = span
        status = 206
        headers["Content-Range"] = f"bytes {start}-{stop - 1}/{size}"
    headers["Content-Length"] = str(stop - start)
    view = memoryview(data)[start:stop]  # a window on the stored bytes, not a copy
    if request.environ.get(BUFFERS_ACCEPTED):
        body = (view,)  # docrsim's server sends it as it is: the kernel copies, Python does not
    else:
        # A WSGI server may take bytes only: slices copied one at a time.
        body = (bytes(view[offset: offset + _STREAM_CHUNK]) for offset in range(0, len(view), _STREAM_CHUNK))
    return Response(body, status=status, headers=headers, direct_passthrough=True)


def _upload_location(name: str, uuid: str) -> str:
    return f"/v2/{name}/blobs/uploads/{uuid}"


def _session_response(name: str, session, status: int = 202) -> Response:
    return Response(status=status, headers={
        "Location": _upload_location(name, session.uuid),
        "Range": f"0-{max(session.size - 1, 0)}",
        "Docker-Upload-UUID": session.uuid,
        "Content-Length": "0",
    })


def _commit(sim, name: str, registry: str, session, digest: str) -> Response:
    """Verify the upload against ``digest`` and store it; the session ends either way."""
    try:
        data = session.content(digest)
    except DomainError as exc:
        _end(sim, session)
        raise from_domain(exc) from None
    with sim.transaction() as now:
        try:
            distribution.store_blob(sim, registry, session.repository, data, digest, now)
        except DomainError as exc:
            raise from_domain(exc) from None
        finally:
            _end(sim, session)
    return Response(status=201, headers={"Location": f"/v2/{name}/blobs/{digest}",
                                         "Docker-Content-Digest": digest, "Content-Length": "0"})


def _end(sim, session) -> None:
    sim.uploads.discard(session.uuid)
    session.close()  # an unlisted session is not the list's to close


def _stream(session):
    length = request.content_length
    try:
        session.append(request.stream, None, length)
    except DomainError as exc:
        raise from_domain(exc) from None


@blobs.post("/v2/<path:name>/blobs/uploads/")
def start_upload(name):
    sim = _sim()
    mount, source = request.args.get("mount"), request.args.get("from")
    # A mount from a repository of the same registry needs pull there too; from elsewhere it
    # cannot succeed (each registry has its own store), so it asks for nothing more.
    same_registry = bool(source) and source.partition("/")[0] == name.partition("/")[0]
    with sim.transaction() as now:
        auth.require(sim, now, "repository", name, "push", challenge_actions="pull,push",
                     pull_from=source if mount and same_registry else None)
        registry, repository = parse_name(name)
        known_registry(sim, registry, name)
        try:
            distribution.check_repository_allowed(sim, registry, repository)
        except DomainError as exc:
            raise from_domain(exc) from None
        if mount:
            parse_digest(mount)
            # Without a source, or one that does not link the blob, the client uploads it
            # (the 202 session below), as distribution answers.
            if same_registry and _mount(sim, registry, repository, mount, source, now):
                return Response(status=201, headers={"Location": f"/v2/{name}/blobs/{mount}",
                                                     "Docker-Content-Digest": mount, "Content-Length": "0"})
        digest = request.args.get("digest")
        if digest:
            parse_digest(digest)  # before a session exists, so a refusal leaves none behind
            session = sim.uploads.unlisted(registry, repository, now)
        else:
            session = sim.uploads.start(sim.ids.uuid(), registry, repository, now)
    if digest:
        try:
            _stream(session)
        except BaseException:
            session.close()
            raise
        return _commit(sim, name, registry, session, digest)
    return _session_response(name, session)


def _mount(sim, registry: str, repository: str, digest: str, source: str, now) -> bool:
    try:
        _, source_repository = split_name(source)
    except Invalid:
        return False  # a source that names no repository holds nothing to mount
    try:
        return distribution.mount_blob(sim, registry, repository, digest, source_repository, now)
    except DomainError as exc:
        raise from_domain(exc) from None


def _session(name: str, uuid: str):
    sim = _sim()
    with sim.transaction() as now:
        auth.require(sim, now, "repository", name, "push", challenge_actions="pull,push")
        registry, repository = parse_name(name)
        try:
            return sim, registry, sim.uploads.get(uuid, registry, repository)
        except DomainError as exc:
            raise from_domain(exc) from None


def _append_chunk(session) -> None:
    """Append the request body, which a Content-Range (if any) must place at the upload's end."""
    content_range = request.headers.get("Content-Range")
    start = None
    length = request.content_length
    if content_range:
        match = _CONTENT_RANGE.match(content_range.strip())
        if not match:
            raise OciError("BLOB_UPLOAD_INVALID", f"malformed Content-Range {content_range!r}", status=416,
                           headers={"Range": f"0-{max(session.size - 1, 0)}"})
        start, end = int(match[1]), int(match[2])
        if end < start or (length is not None and length != end - start + 1):
            raise OciError("BLOB_UPLOAD_INVALID", "Content-Range does not match the body's length", status=416,
                           headers={"Range": f"0-{max(session.size - 1, 0)}"})
        length = end - start + 1
    try:
        session.append(request.stream, start, length)
    except DomainError as exc:
        raise from_domain(exc) from None


@blobs.patch("/v2/<path:name>/blobs/uploads/<uuid>")
def upload_chunk(name, uuid):
    _, _, session = _session(name, uuid)
    _append_chunk(session)
    return _session_response(name, session)


@blobs.put("/v2/<path:name>/blobs/uploads/<uuid>")
def finish_upload(name, uuid):
    sim, registry, session = _session(name, uuid)
    digest = request.args.get("digest")
    if not digest:
        raise OciError("DIGEST_INVALID", "the digest query parameter is required to finish an upload")
    parse_digest(digest)
    if request.content_length or request.headers.get("Transfer-Encoding"):
        _append_chunk(session)  # a final chunk out of order is refused, the session kept
    return _commit(sim, name, registry, session, digest)


@blobs.get("/v2/<path:name>/blobs/uploads/<uuid>")
def upload_status(name, uuid):
    _, _, session = _session(name, uuid)
    return _session_response(name, session, status=204)


@blobs.delete("/v2/<path:name>/blobs/uploads/<uuid>")
def cancel_upload(name, uuid):
    sim, _, session = _session(name, uuid)
    sim.uploads.discard(session.uuid)
    return Response(status=204)


@blobs.delete("/v2/<path:name>/blobs/<digest>")
def delete_blob(name, digest):
    # Authorised as a write to the repository, so nothing answers without a fitting token;
    # then refused: DOCR frees storage only through garbage collection.
    sim = _sim()
    with sim.transaction() as now:
        auth.require(sim, now, "repository", name, "push", challenge_actions="pull,push")
    raise OciError("UNSUPPORTED", "blobs are deleted by garbage collection, not directly")
