"""The change log of a state folder: records of what changed, and replaying them.

A record is what one save wrote: the content changes made since the previous save
(docrsim.core.changes lists them) and, when it differs from the last one saved, the world's
*frame*, everything but the registries' content (snapshot.export_frame). A blob's bytes are not
in the log but in a file of their own, written before the record that names them.

A GC deletion plan can be large and never changes once made, while the run going through it
changes with every step: a record's frame names each plan by a token instead, and the record
that first names a plan (since the last compaction) carries it under ``plans``.

Replaying records onto the document they started from gives the world as it was when the last
of them was saved: the changes are applied to the document's content, in order, and the last
frame saved replaces all the rest. Records are JSON; instants are written as the saved document
writes them, so the result is a ``docrsim-state/1`` document like any other, checked by the
same import. A record that does not fit the document (a change to a registry that is not
there, a frame naming one that is) raises Problem: the log does not belong to this document.
"""

from __future__ import annotations

from datetime import datetime

from docrsim.core.persistence.format import Problem, write_instant
from docrsim.core.persistence.snapshot import blob_entry

_CONTENT = ("blobs", "repositories", "blob_links")


def encode(change: tuple) -> list:
    """A recorded change as JSON: bytes stay out (they are in a file), instants as text."""
    registry, kind, *args = change
    if kind == "blob":
        digest, size, data, uncompressed = args
        args = [digest, size, data is not None, uncompressed]
    return [registry, kind, *(write_instant(a) if isinstance(a, datetime) else a for a in args)]


PLAN_TOKEN = "saved_plan"


def plan_places(frame: dict):
    """(container, key) of every GC deletion plan a frame holds: an active run's, and the one a
    scan has made."""
    for registry in frame["registries"]:
        for run in registry.get("garbage_collections") or ():
            progress = run.get("progress") if isinstance(run, dict) else None
            if not isinstance(progress, dict):
                continue
            if progress.get("plan") is not None:
                yield progress, "plan"
            scan = progress.get("scan")
            if isinstance(scan, dict) and scan.get("plan") is not None:
                yield scan, "plan"


def frame_of(document: dict) -> dict:
    """The document without its registries' content."""
    return {**document, "registries": [{k: v for k, v in registry.items() if k not in _CONTENT}
                                       for registry in document["registries"]]}


class _Content:
    """A registry's content, indexed for changes to apply in constant time."""

    def __init__(self, registry: dict | None = None):
        registry = registry or {}
        self.blobs = {entry["digest"]: entry for entry in registry.get("blobs", ())}
        self.repositories = {
            repo["name"]: {
                "created_at": repo["created_at"],
                "manifests": {m["digest"]: (m["media_type"], m["updated_at"]) for m in repo["manifests"]},
                "tags": {t["tag"]: (t["manifest_digest"], t["updated_at"]) for t in repo["tags"]},
            }
            for repo in registry.get("repositories", ())
        }
        self.links = {entry["repository"]: set(entry["digests"]) for entry in registry.get("blob_links", ())}

    def as_document(self) -> dict:
        return {
            "blobs": list(self.blobs.values()),
            "repositories": [
                {
                    "name": name,
                    "created_at": repo["created_at"],
                    "manifests": [{"digest": d, "media_type": media_type, "updated_at": at}
                                  for d, (media_type, at) in sorted(repo["manifests"].items())],
                    "tags": [{"tag": t, "manifest_digest": d, "updated_at": at}
                             for t, (d, at) in sorted(repo["tags"].items())],
                }
                for name, repo in sorted(self.repositories.items())
            ],
            "blob_links": [{"repository": name, "digests": sorted(digests)}
                           for name, digests in sorted(self.links.items()) if digests],
        }

    # -- the changes, as docrsim.core.changes lists them ------------------------------------------
    def blob(self, digest, size, has_bytes, uncompressed):
        # A blob already listed keeps its place; its bytes are in the folder's files.
        self.blobs[digest] = blob_entry(digest, size, None, not has_bytes,
                                        size if uncompressed is None else uncompressed)

    def unblob(self, digest):
        del self.blobs[digest]
        for digests in self.links.values():
            digests.discard(digest)

    def link(self, repository, digest):
        self.links.setdefault(repository, set()).add(digest)

    def drop_links(self, repository):
        self.links.pop(repository, None)

    def repo(self, repository, created_at):
        self.repositories[repository] = {"created_at": created_at, "manifests": {}, "tags": {}}

    def unrepo(self, repository):
        del self.repositories[repository]

    def manifest(self, repository, digest, media_type, updated_at):
        self.repositories[repository]["manifests"][digest] = (media_type, updated_at)

    def unmanifest(self, repository, digest):
        del self.repositories[repository]["manifests"][digest]

    def tag(self, repository, tag, digest, updated_at):
        self.repositories[repository]["tags"][tag] = (digest, updated_at)

    def untag(self, repository, tag):
        del self.repositories[repository]["tags"][tag]


_KINDS = {"blob", "unblob", "link", "drop_links", "repo", "unrepo", "manifest", "unmanifest", "tag", "untag"}


class Replay:
    """A saved document with records applied to it, one after another."""

    def __init__(self, document: dict):
        self.frame = frame_of(document)
        self.contents = {registry["name"]: _Content(registry) for registry in document["registries"]}
        self.plans: dict[str, dict] = {}

    def apply(self, record: dict, where: str) -> None:
        plans = record.get("plans", {})
        if not isinstance(plans, dict):
            raise Problem(f"{where}.plans", "saved plans are an object of tokens")
        self.plans.update(plans)
        for index, change in enumerate(record.get("changes", ())):
            try:
                self._apply_change(change)
            except (KeyError, TypeError, ValueError) as exc:
                raise Problem(f"{where}.changes[{index}]",
                              f"{change!r} does not fit the saved world ({type(exc).__name__}: {exc})") from None
        if "frame" in record:
            self.frame = record["frame"]
            try:
                for place, key in plan_places(self.frame):
                    token = place[key]
                    if isinstance(token, dict) and set(token) == {PLAN_TOKEN}:
                        place[key] = self.plans[token[PLAN_TOKEN]]
            except KeyError as exc:
                raise Problem(f"{where}.frame", f"names a plan no record saved: {exc}") from None
            except (TypeError, AttributeError) as exc:
                raise Problem(f"{where}.frame", f"is not a saved frame ({type(exc).__name__}: {exc})") from None

    def _apply_change(self, change: list) -> None:
        registry, kind, *args = change
        if kind == "registry":
            if registry in self.contents:
                raise ValueError(f"registry {registry!r} already exists")
            self.contents[registry] = _Content()
        elif kind == "unregistry":
            del self.contents[registry]
        elif kind in _KINDS:
            getattr(self.contents[registry], kind)(*args)
        else:
            raise ValueError(f"unknown change {kind!r}")

    def document(self) -> dict:
        """The saved document the records have led to."""
        try:
            names = [registry["name"] for registry in self.frame["registries"]]
        except (KeyError, TypeError):
            raise Problem("frame", "a saved frame lists registries by name") from None
        if sorted(names) != sorted(self.contents):
            raise Problem("frame", f"the saved frame lists the registries {sorted(names)}, "
                                   f"the changes leave {sorted(self.contents)}")
        registries = [{**registry, **self.contents[registry["name"]].as_document()}
                      for registry in self.frame["registries"]]
        return {**self.frame, "registries": registries}
