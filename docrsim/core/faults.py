"""Fault rules a test sets up: answer matching requests with an error or after a delay, or hold
a registry's garbage collection in one status.

A request rule matches on any of ``method``, ``path`` (a glob on the raw path, see
``RequestInfo``), ``operation_id`` and ``host``. The DO API serves most registry operations
twice, in the ``/v2/registries`` family (``registries_delete_repositoryTag``) and the older
``/v2/registry`` one (``registry_delete_repositoryTag``): an ``operation_id`` with its family's
prefix matches that family alone, and one without (``delete_repositoryTag``) matches both, so a
rule need not know which family the client under test calls; a rule naming none matches every request the
rules see (docrsim's own control calls never reach them). Its one effect is either ``status``
(the edge answers with that error instead of serving the request) or ``delay_ms`` (the edge
waits that long in real time, then serves it as usual). With ``times: N`` the rule acts on the
first N matching requests and then stays listed as exhausted; without it, until deleted.
When several rules match, the oldest live one acts and no other: one rule per request.

A ``gc_hold`` rule matches no request: while it exists the garbage collector stops the
registry's runs in the given status (``GarbageCollector.hold``); deleting it releases them.

Fault rules belong to the world (a reset clears them); every method expects the caller to
hold the simulation's lock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from fnmatch import fnmatchcase

from docrsim.core.errors import Invalid, NotFound

HOSTS = ("api", "registry")
# The transient failures a client's retry logic has to handle; every DO operation documents them.
FAULT_STATUSES = (429, 500, 503)
# Delays are real time (simulated time does not pass while a request is served), so small.
MAX_DELAY_MS = 5000
DEFAULT_RETRY_AFTER_SECONDS = 1
MAX_RETRY_AFTER_SECONDS = 3600

_MATCHERS = ("method", "path", "operation_id", "host")
FAMILY_PREFIXES = ("registries_", "registry_")  # the DO API's two families of operations
_EFFECTS = ("status", "delay_ms", "gc_hold")
_FIELDS = {*_MATCHERS, *_EFFECTS, "times", "message", "retry_after_seconds"}


@dataclass(frozen=True)
class RequestInfo:
    """What a rule can match a request on. ``path`` is the path as the client sent it, still
    percent-encoded and without the query; ``operation_id`` is the DO operationId, the
    registry host's own id (``oci_...``) or None for an unknown route."""

    host: str
    method: str
    path: str
    operation_id: str | None


@dataclass
class FaultRule:
    id: str
    created_at: datetime
    method: str | None = None
    path: str | None = None
    operation_id: str | None = None
    host: str | None = None
    status: int | None = None
    message: str | None = None
    retry_after_seconds: int | None = None
    delay_ms: int | None = None
    gc_hold: tuple[str, str] | None = None  # (registry, status)
    times: int | None = None
    hits: int = 0

    @property
    def effect(self) -> str:
        return "status" if self.status is not None else "delay" if self.delay_ms is not None else "gc_hold"

    @property
    def remaining(self) -> int | None:
        return None if self.times is None else self.times - self.hits

    @property
    def exhausted(self) -> bool:
        return self.remaining == 0

    def matches(self, request: RequestInfo) -> bool:
        if self.gc_hold is not None or self.exhausted:
            return False
        return ((self.method is None or self.method == request.method)
                and (self.host is None or self.host == request.host)
                and (self.operation_id is None or self.operation_id in names_of(request.operation_id))
                and (self.path is None or fnmatchcase(request.path, self.path)))

    def as_dict(self) -> dict:
        """The rule as the control API lists it: what was asked, and how far it has got."""
        body = {"id": self.id}
        for name in ("method", "path", "operation_id", "host", "status", "message",
                     "retry_after_seconds", "delay_ms"):
            if getattr(self, name) is not None:
                body[name] = getattr(self, name)
        if self.gc_hold is not None:
            body["gc_hold"] = {"registry": self.gc_hold[0], "status": self.gc_hold[1]}
        else:
            body.update(times=self.times, remaining=self.remaining, hits=self.hits, exhausted=self.exhausted)
        return body


def family_free(operation_id: str) -> str | None:
    """``delete_repositoryTag`` for either family's ``..._delete_repositoryTag``; None for an id
    of neither family (the registry host's ``oci_*``)."""
    for prefix in FAMILY_PREFIXES:
        if operation_id.startswith(prefix):
            return operation_id[len(prefix):]
    return None


def names_of(operation_id: str | None) -> tuple:
    """The names a request's operation goes by: its own, and its family-free one (a fault rule
    and a journal query may use either)."""
    if operation_id is None:
        return ()
    return (operation_id, family_free(operation_id))


class FaultSet:
    def __init__(self, gc):
        self._gc = gc  # gc_hold rules hold and release its runs
        self._rules: dict[str, FaultRule] = {}  # in creation order: the oldest live match acts
        self._count = 0

    def rules(self) -> list[FaultRule]:
        return list(self._rules.values())

    @property
    def created(self) -> int:
        """How many rules were ever added: the next rule's id follows it."""
        return self._count

    def restore(self, rules: list[FaultRule], created: int) -> None:
        """Put saved rules back as they were, hits included (docrsim.core.snapshot_faults);
        their gc_holds are the caller's to put back on the collector."""
        if self._rules:
            raise RuntimeError("restore into an empty fault set")
        for rule in rules:
            if rule.id in self._rules:
                raise Invalid(f"rule {rule.id!r} appears twice")
            self._rules[rule.id] = rule
        self._count = created

    def add(self, spec: dict, now: datetime) -> FaultRule:
        """Add a rule from its JSON form; a ``gc_hold`` takes effect at ``now``."""
        rule = FaultRule(id=f"fault-{self._count + 1}", created_at=now, **_parse(spec))
        if rule.gc_hold is not None:
            self._gc.hold(*rule.gc_hold, now)  # validates the registry and status, may refuse
        self._count += 1
        self._rules[rule.id] = rule
        return rule

    def remove(self, rule_id: str, now: datetime) -> FaultRule:
        rule = self._rules.pop(rule_id, None)
        if rule is None:
            raise NotFound(f"no fault rule {rule_id!r}")
        if rule.gc_hold is not None:
            self._gc.release(rule.gc_hold[0], now)
        return rule

    def clear(self, now: datetime) -> None:
        for rule_id in list(self._rules):
            self.remove(rule_id, now)

    def take(self, request: RequestInfo) -> FaultRule | None:
        """The rule that acts on ``request``, counted as used; None when none matches."""
        for rule in self._rules.values():
            if rule.matches(request):
                rule.hits += 1
                return rule
        return None


def _parse(spec: dict) -> dict:
    """A rule's fields from its JSON form, or Invalid naming what is wrong."""
    unknown = sorted(set(spec) - _FIELDS)
    if unknown:
        raise Invalid(f"unknown field{'s' if len(unknown) > 1 else ''}: {', '.join(unknown)}")
    effects = [name for name in _EFFECTS if name in spec]
    if len(effects) != 1:
        raise Invalid("give exactly one effect: 'status', 'delay_ms' or 'gc_hold'")
    if "gc_hold" in spec:
        return _parse_gc_hold(spec)
    fields: dict = {}
    for name in ("method", "path", "operation_id", "host", "message"):
        if name in spec:
            value = spec[name]
            if not isinstance(value, str) or not value:
                raise Invalid(f"{name} must be a non-empty string")
            fields[name] = value
    if "method" in fields:
        fields["method"] = fields["method"].upper()
    if "path" in fields and not fields["path"].startswith(("/", "*")):
        raise Invalid("path must be a glob on the raw path, starting with '/' (or '*')")
    if "host" in fields and fields["host"] not in HOSTS:
        raise Invalid(f"host must be one of {', '.join(repr(h) for h in HOSTS)}")
    if "times" in spec:
        fields["times"] = _integer(spec, "times", 1, None)
    if "status" in spec:
        fields["status"] = _integer(spec, "status", None, None)
        if fields["status"] not in FAULT_STATUSES:
            raise Invalid(f"status must be one of {', '.join(map(str, FAULT_STATUSES))}")
        if fields["status"] == 429:
            fields["retry_after_seconds"] = DEFAULT_RETRY_AFTER_SECONDS
        if "retry_after_seconds" in spec:
            if fields["status"] != 429:
                raise Invalid("retry_after_seconds goes only with status 429")
            fields["retry_after_seconds"] = _integer(spec, "retry_after_seconds", 0, MAX_RETRY_AFTER_SECONDS)
    else:
        for name in ("message", "retry_after_seconds"):
            if name in spec:
                raise Invalid(f"{name} goes only with 'status'")
        fields["delay_ms"] = _integer(spec, "delay_ms", 1, MAX_DELAY_MS)
    return fields


def _parse_gc_hold(spec: dict) -> dict:
    extra = sorted(set(spec) - {"gc_hold"})
    if extra:
        raise Invalid(f"a gc_hold rule matches no request and lasts until deleted: drop {', '.join(extra)}")
    hold = spec["gc_hold"]
    if not isinstance(hold, dict) or set(hold) != {"registry", "status"} \
            or not all(isinstance(v, str) for v in hold.values()):
        raise Invalid("gc_hold must be an object with the strings 'registry' and 'status'")
    return {"gc_hold": (hold["registry"], hold["status"])}


def _integer(spec: dict, name: str, low: int | None, high: int | None) -> int:
    value = spec[name]
    if isinstance(value, bool) or not isinstance(value, int):
        raise Invalid(f"{name} must be an integer")
    if (low is not None and value < low) or (high is not None and value > high):
        bounds = f"at least {low}" if high is None else f"between {low} and {high}"
        raise Invalid(f"{name} must be {bounds}")
    return value
