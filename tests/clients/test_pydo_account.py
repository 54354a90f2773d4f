"""Registries, subscription, options, names, docker credentials and errors, through pydo.

How pydo reports a failure depends on the operation: a status DO's spec documents for it
(404 for most registry calls, 409 for validate-name, 412 for the name-less older calls, 400
for the V2 lists) comes back as the DO error body, no exception; any other status raises an
``azure.core.exceptions.HttpResponseError`` (``ResourceNotFoundError`` for 404,
``ResourceExistsError`` for 409, ``ClientAuthenticationError`` for 401) whose ``status_code``,
``error.message`` and ``response.json()`` carry DO's answer.
"""

from __future__ import annotations

import base64

import pytest
from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ResourceExistsError,
    ResourceNotFoundError,
)

from docrsim.core.credentials import SCOPES, TokenPolicy
from tests.clients.pydo_support import PYDO_OPERATIONS, TOKEN, with_status
from tests.clients.pydo_support import pydo_client  # noqa: F401  (a fixture)
from tests.conftest import start_live

PLURAL_REGIONS = ["nyc3", "sfo3", "ams3", "sgp1", "fra1", "sfo2", "blr1", "syd1"]


def do_error(exc: HttpResponseError) -> dict:
    """The DO error body behind a pydo exception, checked for the parts every DO error has."""
    body = exc.response.json()
    assert set(body) == {"id", "message", "request_id"}
    assert exc.error.message == body["message"]  # azure-core reads DO's message too
    assert exc.response.headers["x-request-id"] == body["request_id"]
    return body


# -- registries -------------------------------------------------------------------------------
def test_create_get_list_delete_with_the_current_family(scenario, pydo_client):
    live = scenario("empty-professional")
    client = pydo_client(live)
    made = client.registries.create(body={"name": "alpha", "region": "fra1"})
    assert made == {"registry": {
        "name": "alpha", "created_at": "2026-01-01T00:00:00Z", "region": "fra1", "storage_usage_bytes": 0,
        "storage_usage_bytes_updated_at": "2026-01-01T00:00:00Z", "read_only": False,
    }}
    live.advance(90)
    beta = client.registries.create(body={"name": "beta"})["registry"]
    assert (beta["region"], beta["created_at"]) == ("nyc3", "2026-01-01T00:01:30Z")

    listed = client.registries.list()
    assert [r["name"] for r in listed["registries"]] == ["alpha", "beta"]
    assert listed["total_storage_usage_bytes"] == 0
    assert client.registries.get("beta")["registry"] == beta

    assert client.registries.delete("alpha") is None
    status, body, _ = client.registries.get("alpha", cls=with_status)
    assert status == 404 and body["id"] == "not_found" and "alpha" in body["message"]
    status, body, _ = client.registries.delete("alpha", cls=with_status)
    assert status == 404 and body["id"] == "not_found"
    assert [r["name"] for r in client.registries.list()["registries"]] == ["beta"]


def test_older_family_create_get_delete(live, pydo_client):
    client = pydo_client(live)
    with pytest.raises(ResourceNotFoundError) as missing:
        client.registry.get()
    assert missing.value.status_code == 404 and do_error(missing.value)["id"] == "not_found"

    made = client.registry.create(body={"name": "solo", "subscription_tier_slug": "starter", "region": "sgp1"})
    registry = made["registry"]
    assert (registry["name"], registry["region"]) == ("solo", "sgp1")
    assert registry["subscription"]["tier"]["slug"] == "starter"
    assert registry["subscription"]["tier"]["included_repositories"] == 1
    assert client.registry.get() == made

    with pytest.raises(ResourceExistsError) as again:
        client.registry.create(body={"name": "other", "subscription_tier_slug": "basic"})
    assert again.value.status_code == 409 and do_error(again.value)["id"] == "conflict"

    assert client.registry.delete() is None
    with pytest.raises(ResourceNotFoundError):
        client.registry.get()
    status, body, _ = client.registry.delete(cls=with_status)
    assert status == 404 and body["id"] == "not_found"


def test_name_less_older_calls_with_two_registries_answer_412(scenario, pydo_client):
    live = scenario("empty-professional")
    client = pydo_client(live)
    client.registries.create(body={"name": "one"})
    client.registries.create(body={"name": "two"})

    # DO documents 412 for GET and DELETE /v2/registry, so pydo hands back the error body.
    for call in (client.registry.get, client.registry.delete):
        answer = call()
        assert answer["id"] == "precondition_failed"
        assert "/v2/registries/{registry_name}" in answer["message"]
        status, body, headers = call(cls=with_status)
        assert status == 412 and body["id"] == "precondition_failed"
        assert headers["ratelimit-limit"] == 5000  # pydo parses DO's rate-limit headers
    assert [r["name"] for r in client.registries.list()["registries"]] == ["one", "two"]
    assert [(s.operation_id, s.status) for s in client.seen[2:6]] == [
        ("registry_get", 412), ("registry_get", 412), ("registry_delete", 412), ("registry_delete", 412)]


def test_registry_limit_raises_412_from_create(scenario, pydo_client):
    live = scenario("small-app")  # basic tier allows one registry, and acme exists
    client = pydo_client(live)
    with pytest.raises(HttpResponseError) as refused:
        client.registries.create(body={"name": "second"})
    assert refused.value.status_code == 412
    body = do_error(refused.value)
    assert body["id"] == "precondition_failed" and "OverRegistryLimit" in body["message"]
    assert [r["name"] for r in client.registries.list()["registries"]] == ["acme"]


# -- subscription and options -----------------------------------------------------------------
def test_subscription_and_options(scenario, pydo_client):
    live = scenario("small-app")  # basic tier, two repositories
    client = pydo_client(live)
    plural = client.registries.get_subscription()["subscription"]
    assert plural == client.registry.get_subscription()["subscription"]
    assert (plural["tier"]["slug"], plural["tier"]["monthly_price_in_cents"]) == ("basic", 500)

    options = client.registries.get_options()["options"]
    assert options["available_regions"] == PLURAL_REGIONS
    tiers = {t["slug"]: t for t in options["subscription_tiers"]}
    assert list(tiers) == ["starter", "basic", "professional"]
    assert (tiers["starter"]["eligible"], tiers["starter"]["eligibility_reasons"]) == (False, ["OverRepositoryLimit"])
    assert tiers["professional"]["eligible"] and "eligibility_reasons" not in tiers["professional"]
    older = client.registry.get_options()["options"]
    assert older["available_regions"] == PLURAL_REGIONS[:5]
    assert older["subscription_tiers"] == options["subscription_tiers"]

    # Two repositories do not fit the starter tier. DO documents 412 only for the older call.
    refused = client.registry.update_subscription(body={"tier_slug": "starter"})
    assert refused["id"] == "precondition_failed"
    assert refused["message"] == "registry is not eligible for tier because: [OverRepositoryLimit]"
    with pytest.raises(HttpResponseError) as raised:
        client.registries.update_subscription(body={"tier_slug": "starter"})
    assert raised.value.status_code == 412 and do_error(raised.value)["message"] == refused["message"]

    live.advance(3600)
    moved = client.registries.update_subscription(body={"tier_slug": "professional"})["subscription"]
    assert moved["tier"]["slug"] == "professional" and moved["tier"]["included_repositories"] == 0
    assert (moved["created_at"], moved["updated_at"]) == ("2026-01-01T00:00:00Z", "2026-01-01T01:00:00Z")
    assert client.registry.get()["registry"]["subscription"] == moved

    with pytest.raises(HttpResponseError) as unknown:
        client.registry.update_subscription(body={"tier_slug": "gold"})
    assert unknown.value.status_code == 422
    assert do_error(unknown.value)["id"] == "unprocessable_entity" and "gold" in unknown.value.error.message


# -- names --------------------------------------------------------------------------------------
def test_validate_name_on_both_families(scenario, pydo_client):
    live = scenario("small-app")
    client = pydo_client(live)
    for validate in (client.registries.validate_name, client.registry.validate_name):
        assert validate(body={"name": "free-name"}) is None  # 204
        status, body, _ = validate(body={"name": "acme"}, cls=with_status)  # 409 is documented
        assert status == 409 and body["id"] == "conflict" and "acme" in body["message"]
        with pytest.raises(HttpResponseError) as bad:
            validate(body={"name": "Not_Valid"})
        assert bad.value.status_code == 422
        assert "lowercase letters, digits and hyphens" in do_error(bad.value)["message"]


def test_create_errors_surface_as_exceptions(scenario, pydo_client):
    live = scenario("empty-professional")
    client = pydo_client(live)
    client.registries.create(body={"name": "taken"})
    before = live.sim.export_state()

    with pytest.raises(ResourceExistsError) as taken:
        client.registries.create(body={"name": "taken"})
    assert taken.value.status_code == 409 and do_error(taken.value)["id"] == "conflict"

    cases = [
        ({"name": "ok-name", "region": "mars1"}, "mars1"),
        ({"name": "ok-name", "subscription_tier_slug": "gold"}, "gold"),
        ({"name": "9lives"}, "start with a letter"),
        ({"name": "ok-name", "colour": "red"}, "unknown field: colour"),
        ({}, "name is required"),
    ]
    for body, words in cases:
        with pytest.raises(HttpResponseError) as invalid:
            client.registries.create(body=body)
        assert invalid.value.status_code == 422, body
        error = do_error(invalid.value)
        assert error["id"] == "unprocessable_entity" and words in error["message"]
    assert live.sim.export_state() == before


def test_a_wrong_token_raises_client_authentication_error(pydo_client):
    live = start_live(tokens=TokenPolicy({TOKEN: frozenset(SCOPES)}))
    try:
        assert pydo_client(live).registries.list()["registries"] == []
        stranger = pydo_client(live, token="dop_v1_not-known-here")
        with pytest.raises(ClientAuthenticationError) as refused:
            stranger.registries.list()
        assert refused.value.status_code == 401
        assert do_error(refused.value) | {"request_id": None} == {
            "id": "unauthorized", "message": "Unable to authenticate you.", "request_id": None}
    finally:
        live.server.stop()


# -- docker credentials -------------------------------------------------------------------------
def decode(credentials: dict, live) -> tuple[str, str]:
    host = live.registry_url.split("://", 1)[1]
    assert list(credentials["auths"]) == [host]  # the simulator's registry host, not DO's
    user, secret = base64.b64decode(credentials["auths"][host]["auth"]).decode().split(":")
    return user, secret


def test_docker_credentials_decode_to_user_and_secret(scenario, pydo_client):
    live = scenario("small-app")
    client = pydo_client(live)
    user, secret = decode(client.registry.get_docker_credentials(read_write=True, expiry_seconds=3600), live)
    assert "@" in user and secret.startswith("dop_v1_") and len(secret) > len("dop_v1_")
    minted = live.sim.credentials.find(secret)
    assert minted is not None and minted.username == user
    assert (minted.registry, minted.read_write) == (None, True)
    assert minted.expires_at.isoformat() == "2026-01-01T01:00:00+00:00"

    # pydo's registries.get_docker_credentials takes no read_write/expiry_seconds arguments:
    # by default it asks for read-only, never-expiring credentials for the named registry ...
    user_b, secret_b = decode(client.registries.get_docker_credentials("acme"), live)
    assert user_b == user and secret_b != secret
    plain = live.sim.credentials.find(secret_b)
    assert (plain.registry, plain.read_write, plain.expires_at) == ("acme", False, None)
    # ... and a caller who needs more passes the query through pydo's generic ``params``.
    _, secret_c = decode(client.registries.get_docker_credentials(
        "acme", params={"read_write": "true", "expiry_seconds": 60}), live)
    pushing = live.sim.credentials.find(secret_c)
    assert pushing.read_write is True and pushing.expires_at.isoformat() == "2026-01-01T00:01:00+00:00"
    # The older call's defaults (pydo always sends them): read-only, never expiring.
    _, secret_d = decode(client.registry.get_docker_credentials(), live)
    assert client.seen[-1].path == "/v2/registry/docker-credentials"
    default = live.sim.credentials.find(secret_d)
    assert (default.registry, default.read_write, default.expires_at) == (None, False, None)
    assert len({secret, secret_b, secret_c, secret_d}) == 4


def test_docker_credentials_errors(live, pydo_client):
    client = pydo_client(live)
    # Not documented for the older call, so pydo raises.
    with pytest.raises(ResourceNotFoundError) as none_yet:
        client.registry.get_docker_credentials()
    assert do_error(none_yet.value)["message"] == "this account has no registry"
    status, body, _ = client.registries.get_docker_credentials("nope", cls=with_status)
    assert status == 404 and body["id"] == "not_found" and "nope" in body["message"]
    client.registries.create(body={"name": "acme"})
    with pytest.raises(HttpResponseError) as bad:
        client.registries.get_docker_credentials("acme", params={"expiry_seconds": "soon"})
    assert bad.value.status_code == 422 and "expiry_seconds" in do_error(bad.value)["message"]
    assert live.sim.credentials.all() == []


# -- unknown registry: a documented 404, so pydo returns DO's error body -----------------------------
DIGEST = "sha256:" + "a" * 64
UUID = "00000000-0000-4000-8000-000000000000"
UNKNOWN_REGISTRY_CALLS = [
    ("registries.get", ()),
    ("registries.delete", ()),
    ("registries.get_docker_credentials", ()),
    ("registries.get_garbage_collection", ()),
    ("registries.run_garbage_collection", ()),
    ("registries.list_garbage_collections", ()),
    ("registries.update_garbage_collection", (UUID,)),
    ("registries.list_repositories_v2", ()),
    ("registries.delete_repository", ("web",)),
    ("registries.list_repository_tags", ("web",)),
    ("registries.delete_repository_tag", ("web", "v1")),
    ("registries.list_repository_manifests", ("web",)),
    ("registries.delete_repository_manifest", ("web", DIGEST)),
    ("registry.list_repositories", ()),
    ("registry.list_repositories_v2", ()),
    ("registry.list_repository_tags", ("web",)),
    ("registry.delete_repository_tag", ("web", "v1")),
    ("registry.list_repository_manifests", ("web",)),
    ("registry.delete_repository_manifest", ("web", DIGEST)),
    ("registry.run_garbage_collection", ()),
    ("registry.get_garbage_collection", ()),
    ("registry.list_garbage_collections", ()),
    ("registry.update_garbage_collection", (UUID,)),
]


@pytest.mark.parametrize("method, args", UNKNOWN_REGISTRY_CALLS, ids=[c[0] for c in UNKNOWN_REGISTRY_CALLS])
def test_an_unknown_registry_is_a_404_body_not_an_exception(scenario, pydo_client, method, args):
    live = scenario("small-app")
    client = pydo_client(live)
    family, name = method.split(".")
    call = getattr(getattr(client, family), name)
    kwargs = {"body": {"cancel": True}} if name == "update_garbage_collection" else {}
    before = live.sim.export_state()
    status, body, headers = call("nope", *args, cls=with_status, **kwargs)
    assert status == 404
    # Said by the registry lookup, so pydo's URL reached the operation (a route miss reads otherwise).
    assert body == {"id": "not_found", "message": "registry 'nope' not found", "request_id": body["request_id"]}
    assert headers["ratelimit-limit"] == 5000
    assert live.sim.export_state() == before
    assert client.seen[-1].operation_id == PYDO_OPERATIONS[method]
