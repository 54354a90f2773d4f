"""The account: its subscription tier, its registries, and the limits the tier sets."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from docrsim.core.errors import Conflict, Invalid, LimitExceeded, NotFound, PreconditionFailed
from docrsim.core.store import RegistryContent

MiB = 1024 * 1024
GiB = 1024 * MiB


@dataclass(frozen=True)
class Tier:
    slug: str
    name: str
    included_repositories: int  # 0 means unlimited
    included_storage_bytes: int
    allow_storage_overage: bool
    included_bandwidth_bytes: int
    monthly_price_in_cents: int
    storage_overage_price_in_cents: int
    max_registries: int


TIERS: dict[str, Tier] = {
    t.slug: t
    for t in (
        Tier("starter", "Starter", 1, 500 * MiB, False, 500 * MiB, 0, 0, 1),
        Tier("basic", "Basic", 5, 5 * GiB, True, 5 * GiB, 500, 2, 1),
        Tier("professional", "Professional", 0, 100 * GiB, True, 100 * GiB, 2000, 2, 10),
    )
}

# The singular (older) family accepts fewer regions than the multi-registry family.
REGIONS = ("nyc3", "sfo3", "ams3", "sgp1", "fra1")
MULTI_REGISTRY_REGIONS = REGIONS + ("sfo2", "blr1", "syd1")
DEFAULT_REGION = "nyc3"

# Words that sit where a registry name would in /v2/registries/<word> and must win over it.
RESERVED_NAMES = frozenset({"options", "subscription", "validate-name"})
_NAME = re.compile(r"^[a-z0-9-]{1,63}$")


def name_problem(name) -> str | None:
    """Why ``name`` cannot name a registry, or None if it can."""
    if not isinstance(name, str) or not name:
        return "name must be a non-empty string"
    if len(name) > 63:
        return f"name must be at most 63 characters, not {len(name)}"
    if not _NAME.fullmatch(name):
        return "name may contain only lowercase letters, digits and hyphens"
    if not name[0].isalpha():
        return "name must start with a letter"
    if name.endswith("-"):
        return "name must end with a letter or a digit"
    if name in RESERVED_NAMES:
        return f"name {name!r} is reserved"
    return None


def validate_name(name) -> str:
    problem = name_problem(name)
    if problem:
        raise Invalid(f"invalid registry name {name!r}: {problem}")
    return name


def tier(slug) -> Tier:
    if slug not in TIERS:
        raise Invalid(f"unknown subscription tier {slug!r}: expected one of {', '.join(TIERS)}")
    return TIERS[slug]


@dataclass
class Registry:
    name: str
    region: str
    created_at: datetime
    storage_usage_updated_at: datetime
    content: RegistryContent = field(default_factory=RegistryContent)
    # DO computes usage asynchronously; docrsim refreshes the reported figure when content is
    # added and when a garbage collection ends, never in the middle of a run.
    storage_usage_bytes: int = 0

    def refresh_usage(self, now: datetime) -> None:
        self.storage_usage_bytes = self.content.blobs.total_bytes
        self.storage_usage_updated_at = now


@dataclass
class Account:
    tier_slug: str
    subscription_created_at: datetime
    subscription_updated_at: datetime
    registries: dict[str, Registry] = field(default_factory=dict)
    # A docrsim.core.changes.Changes while someone records the content's changes.
    changes: object = field(default=None, repr=False, compare=False)

    @property
    def tier(self) -> Tier:
        return TIERS[self.tier_slug]

    # -- registries ---------------------------------------------------------------------------
    def registry(self, name: str) -> Registry:
        try:
            return self.registries[name]
        except KeyError:
            raise NotFound(f"registry {name!r} not found") from None

    def only_registry(self) -> Registry:
        """The registry the name-less endpoints of the older API family mean."""
        if not self.registries:
            raise NotFound("this account has no registry")
        if len(self.registries) > 1:
            raise PreconditionFailed(
                "this account has more than one registry; use /v2/registries/{registry_name} instead"
            )
        return next(iter(self.registries.values()))

    def create_registry(self, name, region, now: datetime, *, regions=MULTI_REGISTRY_REGIONS) -> Registry:
        validate_name(name)
        if region is None:
            region = DEFAULT_REGION
        if region not in regions:
            raise Invalid(f"unknown region {region!r}: expected one of {', '.join(regions)}")
        if name in self.registries:
            raise Conflict(f"registry name {name!r} is already taken")
        if len(self.registries) >= self.tier.max_registries:
            raise PreconditionFailed(
                f"registry is not eligible for creation because: [OverRegistryLimit] "
                f"(the {self.tier.slug} tier allows {self.tier.max_registries} "
                f"{'registry' if self.tier.max_registries == 1 else 'registries'})"
            )
        registry = Registry(name=name, region=region, created_at=now, storage_usage_updated_at=now)
        self.registries[name] = registry
        if self.changes is not None:
            feed = self.changes.feed(name)
            feed.add("registry")
            registry.content.record_changes(feed)
        return registry

    def delete_registry(self, name: str) -> None:
        self.registry(name)
        del self.registries[name]
        if self.changes is not None:
            self.changes.feed(name).add("unregistry")

    def check_name_free(self, name) -> None:
        validate_name(name)
        if name in self.registries:
            raise Conflict(f"registry name {name!r} is already taken")

    # -- subscription -------------------------------------------------------------------------
    def total_storage_bytes(self) -> int:
        return sum(r.content.blobs.total_bytes for r in self.registries.values())

    def ineligibility(self, candidate: Tier) -> list[str]:
        """Why the account cannot move to ``candidate`` (empty when it can)."""
        reasons = []
        if candidate.included_repositories and any(
            len(r.content.repositories) > candidate.included_repositories for r in self.registries.values()
        ):
            reasons.append("OverRepositoryLimit")
        if not candidate.allow_storage_overage and self.total_storage_bytes() > candidate.included_storage_bytes:
            reasons.append("OverStorageLimit")
        if len(self.registries) > candidate.max_registries:
            reasons.append("OverRegistryLimit")
        return reasons

    def change_tier(self, slug, now: datetime) -> Tier:
        candidate = tier(slug)
        reasons = self.ineligibility(candidate)
        if reasons:
            raise PreconditionFailed(f"registry is not eligible for tier because: [{', '.join(reasons)}]")
        if candidate.slug != self.tier_slug:
            self.tier_slug = candidate.slug
            self.subscription_updated_at = now
        return candidate

    # -- limits on new content ----------------------------------------------------------------
    def check_new_repository(self, registry: Registry) -> None:
        allowed = self.tier.included_repositories
        count = len(registry.content.repositories)
        if allowed and count >= allowed:
            raise LimitExceeded(f"registry contains {count} repositories, limit is {allowed}")

    def check_storage_for(self, extra_bytes: int) -> None:
        t = self.tier
        if not t.allow_storage_overage and self.total_storage_bytes() + extra_bytes > t.included_storage_bytes:
            raise LimitExceeded(
                f"storage limit reached: the {t.slug} tier includes {t.included_storage_bytes} bytes "
                "and allows no overage"
            )

