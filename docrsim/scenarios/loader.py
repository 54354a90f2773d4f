"""Read, validate and apply scenario documents.

Applying is all-or-nothing: every registry is built aside and checked before any of them
joins the account, so a bad document leaves the simulation exactly as it was.
"""

from __future__ import annotations

import base64
import binascii
import json
from contextlib import contextmanager
from datetime import datetime
from functools import lru_cache
from importlib import resources
from pathlib import Path

from docrsim.core import content as media
from docrsim.core import digests, progress
from docrsim.core.account import MULTI_REGISTRY_REGIONS, TIERS, Registry, name_problem
from docrsim.core.clock import format_instant, parse_instant
from docrsim.core.errors import Conflict, DocumentProblem, DocumentProblems, DomainError, Invalid, document_path
from docrsim.core.state import DEFAULT_TIER, Simulation
from docrsim.core.store import RegistryContent
from docrsim.core.tokens import WRITE_TOKEN_TTL


class ScenarioError(DocumentProblems):
    """A scenario that cannot be loaded; ``problems`` are lines of ``<path>: <what is wrong>``."""

    def __init__(self, problems: list[str], source: str | None = None):
        super().__init__(problems, f"{source}: " if source else "")




# PyYAML and jsonschema are imported where a scenario is read or checked, not when docrsim is:
# a Simulator that starts empty, or resets to scenarios it has already checked, needs neither.
@lru_cache(maxsize=1)
def _yaml_loader():
    """A SafeLoader that leaves unquoted timestamps as the strings they were written as."""
    import yaml

    class ScenarioYamlLoader(yaml.SafeLoader):
        yaml_implicit_resolvers = {
            first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
            for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
        }

    return ScenarioYamlLoader


@lru_cache(maxsize=1)
def schema() -> dict:
    text = resources.files("docrsim.scenarios").joinpath("scenario.schema.json").read_text()
    return json.loads(text)


def read_file(path: str | Path) -> dict:
    """Parse a YAML or JSON scenario file (YAML is a superset of JSON) and validate it."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise ScenarioError([f"cannot read the file: {exc.strerror or exc}"], str(path)) from None
    try:
        document = parse(text)
    except ScenarioError as exc:
        raise ScenarioError(exc.problems, str(path)) from None
    try:
        validate(document)
    except ScenarioError as exc:
        raise ScenarioError(exc.problems, str(path)) from None
    return document


def parse(text: str):
    """The document in YAML or JSON ``text`` (YAML is a superset of JSON), instants left as the
    strings they were written as; ScenarioError naming the line and column it cannot read."""
    import yaml

    try:
        return yaml.load(text, Loader=_yaml_loader())
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ScenarioError([f"{where}not valid YAML or JSON: {problem}"]) from None


def compose(text: str):
    """The YAML node tree of ``text``, which knows the line of every part (None: unreadable)."""
    import yaml

    try:
        return yaml.compose(text, Loader=_yaml_loader())
    except yaml.YAMLError:
        return None


def validate(document) -> None:
    """Check a document against the scenario schema; raise ScenarioError naming each path."""
    problems = schema_problems(document)
    if problems:
        raise ScenarioError(problems)


def schema_problems(document) -> list[str]:
    """Where ``document`` departs from the scenario schema, one line each (none: it fits)."""
    import jsonschema

    if document is None:
        return ["the scenario is empty"]
    validator = jsonschema.Draft202012Validator(schema())
    errors = sorted(validator.iter_errors(document), key=lambda e: (list(map(str, e.absolute_path)), e.message))
    return [_describe(e) for e in errors]


def _describe(error) -> str:
    """One line for a jsonschema ValidationError."""
    import jsonschema

    where = document_path(error.absolute_path) or "(top level)"
    if error.validator == "oneOf" and error.schema is schema()["$defs"]["blob"]:
        return f"{where}: a blob needs exactly one of 'content', 'base64' or 'size'"
    if error.validator == "not" and "platforms" in json.dumps(error.validator_value):
        return f"{where}: an index ('platforms') has no config or layers of its own; put them in each platform"
    if error.validator == "additionalProperties":
        return f"{where}: {error.message}"
    best = jsonschema.exceptions.best_match([error])
    return f"{where}: {best.message}"


def apply(sim: Simulation, document, *, replace: bool = False, checked: bool = False,
          skip: frozenset[int] = frozenset()) -> list[str]:
    """Validate ``document`` and add what it describes to ``sim``; return the registry names.

    With ``replace`` the simulation is reset first and the manual clock moves to the
    scenario's start. Raises ScenarioError (nothing changed) or Conflict (a registry exists).
    ``checked`` skips the schema check for a document docrsim holds and has loaded before (a
    start-up scenario applied again on reset): the check is most of a small reset's cost.
    ``skip`` leaves out the registries at those indexes (a check that has already found them
    malformed looks at the others).
    """
    if not checked:
        validate(document)
    with sim.lock:
        start = document.get("clock", {}).get("start")
        # The scenario's start applies to a manual clock on a reset; the clock moves only once
        # the document has proved loadable.
        problems: list[str] = []
        restart_at = None
        try:
            restart_at = parse_instant(start) if replace and start and sim.clock.kind == "manual" else None
        except Invalid as exc:
            problems.append(f"clock.start: {exc.message}")
        now = restart_at or sim.now()
        tier_slug = document.get("account", {}).get("tier")
        existing = {} if replace else sim.account.registries
        tier = TIERS[tier_slug or (DEFAULT_TIER if replace else sim.account.tier_slug)]

        built, write_tokens, found = _build_all(document, existing, now, tier, skip)
        problems.extend(found)
        total = len(existing) + len(built)
        if total > tier.max_registries:
            problems.append(
                f"registries: the {tier.slug} tier allows {tier.max_registries} "
                f"{'registry' if tier.max_registries == 1 else 'registries'}, this would make {total}"
            )
        if not tier.allow_storage_overage:
            used = sum(r.content.blobs.total_bytes for r in built) + sum(
                r.content.blobs.total_bytes for r in existing.values()
            )
            if used > tier.included_storage_bytes:
                problems.append(
                    f"registries: {used} bytes of content exceed the {tier.slug} tier's "
                    f"{tier.included_storage_bytes} bytes, and it allows no overage"
                )
        if problems:
            raise ScenarioError(problems)

        if replace:
            if restart_at is not None:
                sim.clock.restart(restart_at)
            sim.reset(tier=tier.slug)
        elif tier_slug and tier_slug != sim.account.tier_slug:
            sim.account.change_tier(tier_slug, now)
        for registry in built:
            sim.account.registries[registry.name] = registry
        for name, issued_at, expires_at in write_tokens:
            sim.gc.ledger.record(name, issued_at, expires_at)
        for spec in document.get("registries", []):
            if "fail_next_gc" in spec:
                sim.gc.fail_next(spec["name"], spec["fail_next_gc"])
        return [r.name for r in built]


def _build_all(document: dict, existing, now: datetime, tier, skip=frozenset()):
    """Every registry the document declares, built aside, with every problem found on the way
    (a registry with problems is not among those built). ``skip`` are indexes of registries
    not to build (``rule_problems``: those the schema already refused)."""
    built: list[Registry] = []
    write_tokens: list[tuple[str, datetime, datetime]] = []
    problems: list[str] = []
    names_seen: set[str] = set()
    for i, spec in enumerate(document.get("registries", [])):
        if i in skip:
            continue
        where = f"registries[{i}]"
        name = spec["name"]
        if name in names_seen:
            problems.append(f"{where}.name: registry {name!r} appears twice in the scenario")
            continue
        names_seen.add(name)
        if name in existing:
            raise Conflict(f"{where}.name: registry {name!r} already exists")
        found: list[str] = []
        registry = _build_registry(spec, where, now, tier, found)
        for t, token in enumerate(spec.get("write_tokens", [])):
            with _collected(found):
                write_tokens.append(_write_token(name, token, f"{where}.write_tokens[{t}]", now))
        if found:
            problems.extend(found)
        else:
            built.append(registry)
    return built, write_tokens, problems


class _Dependent(Exception):
    """A part that cannot be built because one it refers to had a problem (already reported)."""


@contextmanager
def _collected(problems: list[str]):
    """Go on past a part with a problem, noting the problem: a check reports them all."""
    try:
        yield
    except DocumentProblem as exc:
        problems.append(str(exc))
    except _Dependent:
        pass


def _instant(value: str, where: str) -> datetime:
    """An instant the schema let through by its shape, which may still be no real date."""
    try:
        return parse_instant(value)
    except Invalid as exc:
        raise DocumentProblem(where, exc.message) from None


def _write_token(registry: str, token: dict, at: str, now: datetime) -> tuple[str, datetime, datetime]:
    """A write token someone still holds for the registry: a garbage collection waits it out."""
    issued_at = _instant(token["issued_at"], f"{at}.issued_at")
    if issued_at > now:
        raise DocumentProblem(f"{at}.issued_at", f"a token cannot be issued after the scenario's present ({format_instant(now)})")
    expires_at = _instant(token["expires_at"], f"{at}.expires_at") if "expires_at" in token else None
    if expires_at is None:
        expires_at = issued_at + WRITE_TOKEN_TTL
    elif not issued_at < expires_at <= issued_at + WRITE_TOKEN_TTL:
        raise DocumentProblem(f"{at}.expires_at", "must lie after issued_at, by at most 15 minutes (a write token's lifetime)")
    return registry, issued_at, expires_at


def _build_registry(spec: dict, where: str, now: datetime, tier, problems: list[str]) -> Registry:
    """The registry ``spec`` declares; each problem found is added to ``problems`` and the
    building goes on, so that one pass finds them all."""
    name = spec["name"]
    problem = name_problem(name)
    if problem:
        problems.append(f"{where}.name: {problem}")
    region = spec.get("region", "nyc3")
    if region not in MULTI_REGISTRY_REGIONS:
        problems.append(f"{where}.region: unknown region {region!r}: expected one of {', '.join(MULTI_REGISTRY_REGIONS)}")
        region = "nyc3"
    created_at = now
    if "created_at" in spec:
        with _collected(problems):
            created_at = _instant(spec["created_at"], f"{where}.created_at")
    registry = Registry(name=name, region=region, created_at=created_at, storage_usage_updated_at=now)
    builder = _ContentBuilder(registry.content, name, now, problems)
    for r, repo_spec in enumerate(spec.get("repositories", [])):
        with _collected(problems):
            builder.repository(repo_spec, f"{where}.repositories[{r}]")
    for b, blob_spec in enumerate(spec.get("blobs", [])):
        with _collected(problems):
            builder.blob(blob_spec, f"{where}.blobs[{b}]", f"{name}/blobs/{b}")
    if "generate" in spec:
        with _collected(problems):
            builder.generate(spec["generate"], f"{where}.generate")
    allowed = tier.included_repositories
    count = len(registry.content.repositories)
    if allowed and count > allowed:
        problems.append(
            f"{where}.repositories: the {tier.slug} tier allows {allowed} "
            f"repositor{'y' if allowed == 1 else 'ies'} per registry, this makes {count}"
        )
    registry.refresh_usage(now)
    return registry


_FORMATS = {
    "oci": {
        "manifest": media.OCI_MANIFEST,
        "index": media.OCI_INDEX,
        "config": "application/vnd.oci.image.config.v1+json",
        "layer": "application/vnd.oci.image.layer.v1.tar+gzip",
    },
    "docker": {
        "manifest": media.DOCKER_MANIFEST,
        "index": media.DOCKER_MANIFEST_LIST,
        "config": "application/vnd.docker.container.image.v1+json",
        "layer": "application/vnd.docker.image.rootfs.diff.tar.gzip",
    },
}


def _dumps(document: dict) -> bytes:
    return json.dumps(document, separators=(",", ":")).encode()


class _ContentBuilder:
    """Turns scenario specs into real manifests (bytes and all) in a RegistryContent."""

    def __init__(self, content: RegistryContent, registry_name: str, now: datetime, problems: list[str]):
        self.content = content
        self.registry_name = registry_name
        self.now = now
        self.problems = problems  # where a repository's manifests note theirs, to go on past them

    # -- blobs --------------------------------------------------------------------------------
    def blob(self, spec: dict, where: str, label: str, media_type: str | None = None) -> dict:
        """Store a blob and return its descriptor as a manifest would carry it."""
        declared = spec.get("digest")
        if declared is not None:
            try:
                digests.parse(declared)
            except Invalid as exc:
                raise DocumentProblem(f"{where}.digest", exc.message) from None
        if "content" in spec or "base64" in spec:
            if "content" in spec:
                data = spec["content"].encode()
            else:
                try:
                    data = base64.b64decode(spec["base64"], validate=True)
                except (binascii.Error, ValueError):
                    raise DocumentProblem(f"{where}.base64", "not valid base64") from None
            try:
                digest = self.content.blobs.put(data, declared)
            except DomainError as exc:
                raise DocumentProblem(f"{where}.digest", exc.message) from None
            if "uncompressed_size" in spec:
                self.content.blobs.put_synthetic(digest, len(data), spec["uncompressed_size"])
            size = len(data)
        else:
            size = spec["size"]
            digest = declared or digests.synthetic(spec.get("seed") or f"{self.registry_name}/{label}")
            try:
                self.content.blobs.put_synthetic(digest, size, spec.get("uncompressed_size"))
            except DomainError as exc:
                raise DocumentProblem(where, exc.message) from None
        return {"mediaType": spec.get("media_type") or media_type or "application/octet-stream", "digest": digest, "size": size}

    # -- manifests ----------------------------------------------------------------------------
    def repository(self, spec: dict, where: str) -> None:
        name = spec["name"]
        if name in self.content.repositories:
            raise DocumentProblem(f"{where}.name", f"repository {name!r} appears twice in this registry")
        self.content.ensure_repository(name, self.now)
        ids: dict[str, dict] = {}
        tag_owner: dict[str, str] = {}
        for m, manifest_spec in enumerate(spec.get("manifests", [])):
            built = False
            with _collected(self.problems):
                self.manifest(name, manifest_spec, f"{where}.manifests[{m}]", ids, tag_owner)
                built = True
            if not built and "id" in manifest_spec:  # one that refers to it cannot be built either
                ids.setdefault(manifest_spec["id"], None)

    def manifest(self, repo: str, spec: dict, where: str, ids: dict, tag_owner: dict) -> dict:
        fmt = _FORMATS[spec.get("format", "oci")]
        pushed_at = _instant(spec["pushed_at"], f"{where}.pushed_at") if "pushed_at" in spec else self.now
        label = f"{repo}/{where.rsplit('.', 1)[-1]}"
        if "platforms" in spec:
            children = []
            for p, platform_spec in enumerate(spec["platforms"]):
                child = self.image(repo, platform_spec, f"{where}.platforms[{p}]", fmt, pushed_at, f"{label}/{p}",
                                   platform=platform_spec["platform"])
                self._tag(repo, platform_spec.get("tags", []), child["digest"], f"{where}.platforms[{p}].tags",
                          tag_owner, pushed_at)
                children.append({**child, "platform": platform_spec["platform"]})
            document = {"schemaVersion": 2, "mediaType": fmt["index"], "manifests": children}
            self._add_subject(document, spec, where, ids)
            descriptor = self._put(repo, document, pushed_at, where)
        else:
            descriptor = self.image(repo, spec, where, fmt, pushed_at, label, ids=ids)
        self._tag(repo, spec.get("tags", []), descriptor["digest"], f"{where}.tags", tag_owner, pushed_at)
        if "id" in spec:
            if ids.get(spec["id"]) is not None:
                raise DocumentProblem(f"{where}.id", f"id {spec['id']!r} is already used in this repository")
            ids[spec["id"]] = descriptor
        return descriptor

    def image(self, repo, spec, where, fmt, pushed_at, label, *, platform=None, ids=None) -> dict:
        layers = [
            self.blob(layer, f"{where}.layers[{i}]", f"{label}/layer/{i}", fmt["layer"])
            for i, layer in enumerate(spec.get("layers", []))
        ]
        if "config" in spec:
            config = self.blob(spec["config"], f"{where}.config", f"{label}/config", fmt["config"])
        else:
            config = self.blob({"content": self._default_config(label, platform, layers)}, f"{where}.config",
                               f"{label}/config", fmt["config"])
        document = {"schemaVersion": 2, "mediaType": fmt["manifest"], "config": config, "layers": layers}
        if spec.get("artifact_type"):
            document["artifactType"] = spec["artifact_type"]
        if ids is not None:
            self._add_subject(document, spec, where, ids)
        return self._put(repo, document, pushed_at, where)

    @staticmethod
    def _default_config(label: str, platform: dict | None, layers: list) -> str:
        platform = platform or {"os": "linux", "architecture": "amd64"}
        return json.dumps({
            **platform,
            "config": {"Labels": {"org.docrsim.image": label}},
            "rootfs": {"type": "layers", "diff_ids": [layer["digest"] for layer in layers]},
        }, separators=(",", ":"))

    @staticmethod
    def _add_subject(document: dict, spec: dict, where: str, ids: dict) -> None:
        if "subject" not in spec:
            return
        if spec["subject"] in ids and ids[spec["subject"]] is None:
            raise _Dependent(spec["subject"])
        subject = ids.get(spec["subject"])
        if subject is None:
            raise DocumentProblem(f"{where}.subject", f"no earlier manifest in this repository has id {spec['subject']!r}")
        document["subject"] = {k: subject[k] for k in ("mediaType", "digest", "size")}

    def _put(self, repo: str, document: dict, pushed_at: datetime, where: str) -> dict:
        raw = _dumps(document)
        try:
            digest = self.content.put_manifest(repo, raw, pushed_at, media_type=document["mediaType"])
        except DomainError as exc:
            raise DocumentProblem(where, exc.message) from None
        return {"mediaType": document["mediaType"], "digest": digest, "size": len(raw)}

    def _tag(self, repo: str, tags: list, digest: str, where: str, tag_owner: dict, pushed_at: datetime) -> None:
        for t, tag in enumerate(tags):
            if tag in tag_owner:
                raise DocumentProblem(f"{where}[{t}]", f"tag {tag!r} is already given to {tag_owner[tag]}")
            tag_owner[tag] = where.rsplit(".tags", 1)[0]
            self.content.tag_manifest(repo, tag, digest, pushed_at)

    # -- bulk synthetic content ---------------------------------------------------------------
    def generate(self, spec: dict, where: str) -> None:
        from docrsim.scenarios import synthetic

        def on_repository(done: int, count: int) -> None:
            progress.step(f"generating {self.registry_name}: repositories", done, count)

        try:
            synthetic.generate(self.content, self.registry_name, spec, self.now, on_repository)
        except synthetic.RepositoryClash as exc:
            raise DocumentProblem(where, str(exc)) from None
