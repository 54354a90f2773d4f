"""The account: registry names, regions, tiers and the limits they set."""

from datetime import datetime, timedelta, timezone

import pytest

from docrsim.core import account as acct
from docrsim.core.account import Account, name_problem, validate_name
from docrsim.core.errors import Conflict, Invalid, LimitExceeded, NotFound, PreconditionFailed

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
T1 = T0 + timedelta(days=1)
MiB = 1024 * 1024


def make(tier="basic") -> Account:
    return Account(tier_slug=tier, subscription_created_at=T0, subscription_updated_at=T0)


def fill(registry, repositories=0, blob_bytes=0):
    for i in range(repositories):
        registry.content.ensure_repository(f"repo-{i}", T0)
    if blob_bytes:
        registry.content.blobs.put_synthetic("sha256:" + f"{blob_bytes:064x}", blob_bytes)


# -- names ------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["a", "acme", "my-registry-2", "x" * 63, "a1-b2-c3"])
def test_good_names(name):
    assert name_problem(name) is None
    assert validate_name(name) == name


@pytest.mark.parametrize(
    "name, reason",
    [
        ("", "non-empty"),
        (None, "non-empty"),
        (42, "non-empty"),
        ("a" * 64, "at most 63 characters"),
        ("Acme", "only lowercase letters, digits and hyphens"),
        ("acme_corp", "only lowercase letters, digits and hyphens"),
        ("acme.io", "only lowercase letters, digits and hyphens"),
        ("ac me", "only lowercase letters, digits and hyphens"),
        ("acme\n", "only lowercase letters, digits and hyphens"),
        ("acmé", "only lowercase letters, digits and hyphens"),
        ("1acme", "start with a letter"),
        ("-acme", "start with a letter"),
        ("acme-", "end with a letter or a digit"),
    ],
)
def test_each_name_failure_has_its_reason(name, reason):
    assert reason in name_problem(name)
    with pytest.raises(Invalid, match=reason):
        validate_name(name)


@pytest.mark.parametrize("name", ["options", "subscription", "validate-name"])
def test_reserved_names_are_refused(name):
    # These words sit where a registry name would in /v2/registries/<word>.
    assert "reserved" in name_problem(name)


# -- registries and regions -------------------------------------------------------------------

def test_create_registry_records_name_region_and_time():
    account = make()
    registry = account.create_registry("acme", "fra1", T0)
    assert (registry.name, registry.region, registry.created_at) == ("acme", "fra1", T0)
    assert account.registry("acme") is registry


def test_region_defaults_to_nyc3():
    assert make().create_registry("acme", None, T0).region == "nyc3"


@pytest.mark.parametrize("region", ["nyc3", "sfo3", "ams3", "sgp1", "fra1", "sfo2", "blr1", "syd1"])
def test_multi_registry_regions(region):
    assert make().create_registry("acme", region, T0).region == region


@pytest.mark.parametrize("region", ["sfo2", "blr1", "syd1"])
def test_the_older_family_accepts_fewer_regions(region):
    with pytest.raises(Invalid, match="unknown region"):
        make().create_registry("acme", region, T0, regions=acct.REGIONS)


@pytest.mark.parametrize("region", ["nyc1", "NYC3", "", "mars1"])
def test_unknown_region(region):
    account = make()
    with pytest.raises(Invalid, match="unknown region"):
        account.create_registry("acme", region, T0)
    assert account.registries == {}


def test_bad_name_creates_nothing():
    account = make()
    with pytest.raises(Invalid):
        account.create_registry("Bad", "nyc3", T0)
    assert account.registries == {}


def test_taken_name_conflicts():
    account = make("professional")
    account.create_registry("acme", "nyc3", T0)
    with pytest.raises(Conflict, match="already taken"):
        account.create_registry("acme", "fra1", T0)
    with pytest.raises(Conflict):
        account.check_name_free("acme")
    account.check_name_free("other")
    assert account.registry("acme").region == "nyc3"


@pytest.mark.parametrize("tier, limit", [("starter", 1), ("basic", 1), ("professional", 10)])
def test_tier_registry_limits(tier, limit):
    account = make(tier)
    for i in range(limit):
        account.create_registry(f"r{i}", "nyc3", T0)
    with pytest.raises(PreconditionFailed, match=r"OverRegistryLimit"):
        account.create_registry("one-too-many", "nyc3", T0)
    assert len(account.registries) == limit


def test_unknown_registry_and_delete():
    account = make()
    account.create_registry("acme", "nyc3", T0)
    with pytest.raises(NotFound):
        account.registry("nope")
    with pytest.raises(NotFound):
        account.delete_registry("nope")
    account.delete_registry("acme")
    assert account.registries == {}
    account.create_registry("acme2", "nyc3", T0)  # the basic tier's one slot is free again


def test_only_registry():
    account = make("professional")
    with pytest.raises(NotFound):
        account.only_registry()
    first = account.create_registry("first", "nyc3", T0)
    assert account.only_registry() is first
    account.create_registry("second", "nyc3", T0)
    with pytest.raises(PreconditionFailed, match=r"/v2/registries/\{registry_name\}"):
        account.only_registry()


# -- tiers ------------------------------------------------------------------------------------

def test_tier_table():
    # Values from the DO API's published tier options.
    starter, basic, pro = acct.TIERS["starter"], acct.TIERS["basic"], acct.TIERS["professional"]
    assert (starter.included_repositories, starter.included_storage_bytes, starter.allow_storage_overage) == \
        (1, 524288000, False)
    assert (basic.included_repositories, basic.included_storage_bytes, basic.allow_storage_overage) == \
        (5, 5368709120, True)
    assert (pro.included_repositories, pro.included_storage_bytes, pro.allow_storage_overage) == \
        (0, 107374182400, True)
    assert [t.monthly_price_in_cents for t in (starter, basic, pro)] == [0, 500, 2000]


def test_unknown_tier_slug():
    with pytest.raises(Invalid, match="unknown subscription tier"):
        acct.tier("enterprise")


def test_ineligibility_reasons():
    account = make("professional")
    first = account.create_registry("first", "nyc3", T0)
    assert account.ineligibility(acct.TIERS["basic"]) == []
    fill(first, repositories=6)
    assert account.ineligibility(acct.TIERS["basic"]) == ["OverRepositoryLimit"]
    assert account.ineligibility(acct.TIERS["starter"]) == ["OverRepositoryLimit"]
    fill(first, blob_bytes=501 * MiB)
    assert account.ineligibility(acct.TIERS["starter"]) == ["OverRepositoryLimit", "OverStorageLimit"]
    # Basic allows storage overage, so only the repository count counts against it.
    assert account.ineligibility(acct.TIERS["basic"]) == ["OverRepositoryLimit"]
    account.create_registry("second", "nyc3", T0)
    assert account.ineligibility(acct.TIERS["starter"]) == ["OverRepositoryLimit", "OverStorageLimit",
                                                            "OverRegistryLimit"]
    assert account.ineligibility(acct.TIERS["professional"]) == []


def test_storage_at_exactly_the_limit_is_eligible():
    account = make("basic")
    fill(account.create_registry("acme", "nyc3", T0), blob_bytes=500 * MiB)
    assert account.ineligibility(acct.TIERS["starter"]) == []


def test_change_tier():
    account = make("basic")
    assert account.change_tier("professional", T1).slug == "professional"
    assert (account.tier_slug, account.subscription_updated_at) == ("professional", T1)
    # Choosing the current tier again changes nothing, not even the update time.
    account.change_tier("professional", T1 + timedelta(hours=1))
    assert account.subscription_updated_at == T1


def test_change_tier_refused_names_the_reasons_and_changes_nothing():
    account = make("professional")
    account.create_registry("a", "nyc3", T0)
    account.create_registry("b", "nyc3", T0)
    with pytest.raises(PreconditionFailed) as caught:
        account.change_tier("basic", T1)
    assert caught.value.message == "registry is not eligible for tier because: [OverRegistryLimit]"
    assert (account.tier_slug, account.subscription_updated_at) == ("professional", T0)
    with pytest.raises(Invalid):
        account.change_tier("gold", T1)


# -- limits on new content --------------------------------------------------------------------

def test_starter_refuses_a_second_repository_with_the_docr_message():
    account = make("starter")
    registry = account.create_registry("acme", "nyc3", T0)
    account.check_new_repository(registry)  # the first is fine
    fill(registry, repositories=1)
    with pytest.raises(LimitExceeded) as caught:
        account.check_new_repository(registry)
    assert caught.value.message == "registry contains 1 repositories, limit is 1"


def test_basic_allows_five_repositories_and_professional_any_number():
    basic = make("basic")
    registry = basic.create_registry("acme", "nyc3", T0)
    fill(registry, repositories=4)
    basic.check_new_repository(registry)
    fill(registry, repositories=5)
    with pytest.raises(LimitExceeded, match="registry contains 5 repositories, limit is 5"):
        basic.check_new_repository(registry)
    pro = make("professional")
    big = pro.create_registry("big", "nyc3", T0)
    fill(big, repositories=500)
    pro.check_new_repository(big)


def test_storage_check_only_where_no_overage_is_allowed():
    starter = make("starter")
    fill(starter.create_registry("acme", "nyc3", T0), blob_bytes=500 * MiB - 10)
    starter.check_storage_for(10)
    with pytest.raises(LimitExceeded, match="storage limit"):
        starter.check_storage_for(11)
    basic = make("basic")
    fill(basic.create_registry("acme", "nyc3", T0), blob_bytes=6 * 1024 * MiB)
    basic.check_storage_for(10 * 1024 * MiB)


def test_total_storage_and_refresh_usage():
    account = make("professional")
    a = account.create_registry("a", "nyc3", T0)
    b = account.create_registry("b", "nyc3", T0)
    fill(a, blob_bytes=100)
    fill(b, blob_bytes=250)
    assert account.total_storage_bytes() == 350
    assert a.storage_usage_bytes == 0  # reported usage moves only when refreshed
    a.refresh_usage(T1)
    assert (a.storage_usage_bytes, a.storage_usage_updated_at) == (100, T1)
