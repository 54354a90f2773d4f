"""The saved-world format (``docrsim-state/1``): its JSON Schema, and how a bad document is told.

The schema checks the shape only. Values it cannot judge (digests, instants, cross-references,
whether bytes hash to their digest) are checked while the world is rebuilt, and reported the
same way: one line per problem, naming its path in the document.
"""

from __future__ import annotations

from datetime import datetime

from docrsim.core import digests
from docrsim.core.clock import format_exact_instant, parse_instant
from docrsim.core.errors import DocumentProblem, DocumentProblems, Invalid, document_path

FORMAT = "docrsim-state/1"


class StateError(DocumentProblems):
    """A document that cannot be imported; ``problems`` are lines of ``<path>: <what is wrong>``."""

    def __init__(self, problems: list[str], prefix: str = "not a docrsim state: "):
        super().__init__(problems, prefix)


Problem = DocumentProblem  # one thing wrong, found while rebuilding the world


def check_shape(document) -> None:
    """Raise StateError naming every place where ``document`` departs from the schema."""
    if not isinstance(document, dict):
        raise StateError(["(top level): a saved state is a JSON object"])
    if document.get("format") != FORMAT:
        raise StateError([f"format: expected {FORMAT!r}, not {document.get('format')!r}"])
    import jsonschema  # only an import needs it: not imported with docrsim

    validator = jsonschema.Draft202012Validator(SCHEMA)
    errors = sorted(validator.iter_errors(document), key=lambda e: list(map(str, e.absolute_path)))
    if errors:
        raise StateError([f"{document_path(e.absolute_path) or '(top level)'}: {e.message}" for e in errors])


def write_instant(value: datetime | None) -> str | None:
    return None if value is None else format_exact_instant(value)


def read_instant(text: str | None, where: str) -> datetime | None:
    if text is None:
        return None
    try:
        return parse_instant(text)
    except Invalid as exc:
        raise Problem(where, exc.message) from None


def read_digest(text: str, where: str) -> str:
    try:
        digests.parse(text)
    except Invalid as exc:
        raise Problem(where, exc.message) from None
    return text


_INSTANT = {"type": "string", "minLength": 1}
_MAYBE_INSTANT = {"type": ["string", "null"], "minLength": 1}
_COUNT = {"type": "integer", "minimum": 0}
_NAME = {"type": "string", "minLength": 1}
_DIGEST = {"type": "string", "minLength": 1}
_PHASE = {"type": ["string", "null"]}


def _object(required: dict, optional: dict | None = None) -> dict:
    return {
        "type": "object",
        "additionalProperties": False,
        "required": list(required),
        "properties": {**required, **(optional or {})},
    }


_RATES = _object({
    "scan_manifests_per_second": {"type": "number"},
    "delete_objects_per_second": {"type": "number"},
    "delete_bytes_per_second": {"type": "number"},
})

_PLAN = _object({
    "manifests": {"type": "array", "items": _object({
        "repository": _NAME, "digest": _DIGEST, "frees": {"type": "boolean"}, "size": _COUNT,
    })},
    "blobs": {"type": "array", "items": _object({"digest": _DIGEST, "size": _COUNT})},
    "total_bytes": _COUNT,
})

_SCAN = _object({
    "repositories": {"type": "array", "items": _NAME},
    "total": _COUNT,
    "done": _COUNT,
    "repository_index": {"type": "integer", "minimum": -1},
    "digests": {"type": "array", "items": _DIGEST},
    "position": _COUNT,
    "keep": {"type": ["array", "null"], "items": _DIGEST},
    "marked": {"type": "array", "items": _DIGEST},
    "kept": {"type": "array", "items": _DIGEST},
    "marked_stored": _COUNT,
    "marked_bytes": _COUNT,
    "untagged": {"type": "array", "items": {"type": "array", "prefixItems": [_NAME, _DIGEST], "minItems": 2,
                                            "maxItems": 2}},
    "plan": {"oneOf": [{"type": "null"}, _PLAN]},
})

# Where an active run stands in its timeline; a finished run needs only its summary.
_PROGRESS = _object(
    {
        "rates": _RATES,
        "fail_in": _PHASE,
        "waiting_at": _INSTANT,
        "scanning_at": _INSTANT,
        "deleting_at": _MAYBE_INSTANT,
        "ends_at": _MAYBE_INSTANT,
        "stop_at": _MAYBE_INSTANT,
        "fail_at": _MAYBE_INSTANT,
        "steps_done": _COUNT,
        "planned_bytes_done": _COUNT,
        "scan": {"oneOf": [{"type": "null"}, _SCAN]},
        "plan": {"oneOf": [{"type": "null"}, _PLAN]},
    },
    {"hold_in": _PHASE, "held_since": _MAYBE_INSTANT},
)

_RUN = _object(
    {
        "uuid": _NAME,
        "type": {"type": "string"},
        "status": {"type": "string"},
        "created_at": _INSTANT,
        "updated_at": _INSTANT,
        "blobs_deleted": _COUNT,
        "freed_bytes": _COUNT,
    },
    {"progress": _PROGRESS},
)

# A registry can hold a million blobs, and jsonschema takes some 50 µs over each entry, so the
# schema only checks that they are a list; check_blob checks each entry as it is rebuilt.
_BLOB_FIELDS = {"digest": str, "size": int, "synthetic": bool, "base64": str, "uncompressed_size": int}
_BLOB_REQUIRED = ("digest", "size", "synthetic")
_TYPE_NAMES = {str: "a string", int: "an integer", bool: "a boolean"}


def check_blob(entry, where: str) -> None:
    """The shape of one entry of a registry's ``blobs``."""
    if not isinstance(entry, dict):
        raise Problem(where, "a blob is a JSON object")
    for name in _BLOB_REQUIRED:
        if name not in entry:
            raise Problem(where, f"{name!r} is a required property")
    for name, value in entry.items():
        kind = _BLOB_FIELDS.get(name)
        if kind is None:
            raise Problem(where, f"unknown field {name!r}")
        if type(value) is not kind:  # not isinstance: True is no size
            raise Problem(f"{where}.{name}", f"{value!r} is not {_TYPE_NAMES[kind]}")
        if kind is int and value < 0:
            raise Problem(f"{where}.{name}", f"{value} is less than the minimum of 0")


def check_blob_links(entry, where: str) -> None:
    """The shape of one entry of a registry's ``blob_links`` (as large as ``blobs``, so checked
    here rather than by the schema, like them)."""
    if not isinstance(entry, dict):
        raise Problem(where, "an entry of blob_links is a JSON object")
    for name in ("repository", "digests"):
        if name not in entry:
            raise Problem(where, f"{name!r} is a required property")
    for name in entry:
        if name not in ("repository", "digests"):
            raise Problem(where, f"unknown field {name!r}")
    if not isinstance(entry["repository"], str) or not entry["repository"]:
        raise Problem(f"{where}.repository", "a repository name is a non-empty string")
    if not isinstance(entry["digests"], list) or not all(isinstance(d, str) for d in entry["digests"]):
        raise Problem(f"{where}.digests", "a list of digests")


_REPOSITORY = _object({
    "name": _NAME,
    "created_at": _INSTANT,
    "manifests": {"type": "array", "items": _object({
        "digest": _DIGEST, "media_type": {"type": "string"}, "updated_at": _INSTANT,
    })},
    "tags": {"type": "array", "items": _object({
        "tag": _NAME, "manifest_digest": _DIGEST, "updated_at": _INSTANT,
    })},
})

_REGISTRY = _object({
    "name": _NAME,
    "region": {"type": "string"},
    "created_at": _INSTANT,
    "storage_usage_bytes": _COUNT,
    "storage_usage_bytes_updated_at": _INSTANT,
    "blobs": {"type": "array"},  # entries: check_blob
    "repositories": {"type": "array", "items": _REPOSITORY},
    "write_tokens": {"type": "array", "items": _object({"issued_at": _INSTANT, "expires_at": _INSTANT})},
    "gc_fault": _PHASE,
    "garbage_collections": {"type": "array", "items": _RUN},
}, {
    # Always written; a state saved before blob links existed has none, and gets the links its
    # manifests imply (see snapshot._build_registry).
    "blob_links": {"type": "array"},  # entries: check_blob_links
})

# A rule's fields are docrsim.core.faults.FaultRule's own (checked when it is rebuilt); the
# ones every rule has, and the one that is an object, are checked here.
_FAULT_RULE = {
    "type": "object",
    "required": ["id", "created_at"],
    "properties": {
        "id": _NAME,
        "created_at": _INSTANT,
        "gc_hold": {"oneOf": [{"type": "null"}, _object({"registry": _NAME, "status": {"type": "string"}})]},
        "hits": _COUNT,
        "times": {"type": ["integer", "null"], "minimum": 1},
        "status": {"type": ["integer", "null"]},
        "delay_ms": {"type": ["integer", "null"], "minimum": 0},
        "retry_after_seconds": {"type": ["integer", "null"], "minimum": 0},
    },
    "additionalProperties": {"type": ["string", "integer", "null"]},
}

_CREDENTIAL = _object({
    "username": {"type": "string"},
    "secret": _NAME,
    "registry": {"type": ["string", "null"]},
    "read_write": {"type": "boolean"},
    "created_at": _INSTANT,
    "expires_at": _MAYBE_INSTANT,
    "revoked": {"type": "boolean"},
})

SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    **_object({
        "format": {"const": FORMAT},
        "clock": _object({"kind": {"enum": ["manual", "system"]}, "now": _INSTANT}),
        "seed": {"type": ["integer", "string"]},
        # Words the id generator has drawn (bounded, as resuming replays them).
        "id_position": {"type": "integer", "minimum": 0, "maximum": 1_000_000_000},
        "account": _object({
            "tier": {"type": "string"},
            "subscription_created_at": _INSTANT,
            "subscription_updated_at": _INSTANT,
        }),
        "registries": {"type": "array", "items": _REGISTRY},
        "credentials": {"type": "array", "items": _CREDENTIAL},
        "gc": _object({"rates": _RATES, "allow_deletes_during_gc": {"type": "boolean"}}),
        "faults": _object({"created": _COUNT, "rules": {"type": "array", "items": _FAULT_RULE}}),
    }),
}
