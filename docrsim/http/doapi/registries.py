"""Registries, subscription, options, name validation and docker credentials."""

from __future__ import annotations

import base64

from flask import current_app, request

from docrsim.core.account import MULTI_REGISTRY_REGIONS, REGIONS, TIERS, tier
from docrsim.core.errors import Conflict
from docrsim.http import addresses
from docrsim.http.doapi import params, render
from docrsim.http.doapi.bodies import fields
from docrsim.http.doapi.operations import bearer_token, both_families, operation

READ, CREATE, UPDATE, DELETE = "registry:read", "registry:create", "registry:update", "registry:delete"


# -- registries ---------------------------------------------------------------------------------
@operation("registries_list", "GET", "/v2/registries", READ)
def registries_list(sim, now):
    account = sim.account
    return {
        "registries": [render.registry(sim, r) for r in account.registries.values()],
        "total_storage_usage_bytes": sum(r.storage_usage_bytes for r in account.registries.values()),
    }


def _create(sim, now, *, regions, tier_required: bool):
    body = fields({"name": (str, True), "subscription_tier_slug": (str, tier_required), "region": (str, False)})
    account = sim.account
    slug = body.get("subscription_tier_slug")
    if slug is not None:
        tier(slug)  # an unknown slug is a 422 that names the known tiers
    if not account.registries and slug is not None:
        # The first registry sets up the account's subscription; later ones share it.
        account.change_tier(slug, now)
    registry = account.create_registry(body["name"], body.get("region"), now, regions=regions)
    return registry


@operation("registries_create", "POST", "/v2/registries", CREATE)
def registries_create(sim, now):
    registry = _create(sim, now, regions=MULTI_REGISTRY_REGIONS, tier_required=False)
    return {"registry": render.registry(sim, registry)}, 201


@operation("registry_create", "POST", "/v2/registry", CREATE)
def registry_create(sim, now):
    if sim.account.registries:
        raise Conflict("this account already has a registry; the older API allows only one")
    registry = _create(sim, now, regions=REGIONS, tier_required=True)
    return {"registry": render.registry(sim, registry, with_subscription=True)}, 201


@operation("registries_get", "GET", "/v2/registries/<registry_name>", READ)
def registries_get(sim, now, registry_name):
    return {"registry": render.registry(sim, sim.account.registry(registry_name))}


@operation("registry_get", "GET", "/v2/registry", READ)
def registry_get(sim, now):
    return {"registry": render.registry(sim, sim.account.only_registry(), with_subscription=True)}


def _delete(sim, name: str):
    sim.delete_registry(name)
    return "", 204


@operation("registries_delete", "DELETE", "/v2/registries/<registry_name>", DELETE)
def registries_delete(sim, now, registry_name):
    return _delete(sim, registry_name)


@operation("registry_delete", "DELETE", "/v2/registry", DELETE)
def registry_delete(sim, now):
    return _delete(sim, sim.account.only_registry().name)


# -- subscription -------------------------------------------------------------------------------
@both_families("get_subscription", "GET", "/subscription", READ)
def get_subscription(sim, now):
    return {"subscription": render.subscription(sim.account)}


@both_families("update_subscription", "POST", "/subscription", UPDATE)
def update_subscription(sim, now):
    body = fields({"tier_slug": (str, True)})
    sim.account.change_tier(body["tier_slug"], now)
    return {"subscription": render.subscription(sim.account)}


# -- options ------------------------------------------------------------------------------------
def _options(sim, regions):
    tiers = []
    for t in TIERS.values():
        reasons = sim.account.ineligibility(t)
        entry = {**render.tier(t), "eligible": not reasons}
        if reasons:  # DO leaves the list out for eligible tiers
            entry["eligibility_reasons"] = reasons
        tiers.append(entry)
    return {"options": {"available_regions": list(regions), "subscription_tiers": tiers}}


@operation("registries_get_options", "GET", "/v2/registries/options", READ)
def registries_get_options(sim, now):
    return _options(sim, MULTI_REGISTRY_REGIONS)


@operation("registry_get_options", "GET", "/v2/registry/options", READ)
def registry_get_options(sim, now):
    return _options(sim, REGIONS)


# -- name validation ----------------------------------------------------------------------------
@both_families("validate_name", "POST", "/validate-name", CREATE)
def validate_name(sim, now):
    body = fields({"name": (str, True)})
    sim.account.check_name_free(body["name"])
    return "", 204


# -- docker credentials -------------------------------------------------------------------------
# DO sets no upper bound; a century keeps every expiry a representable instant.
MAX_EXPIRY_SECONDS = 100 * 365 * 86400


def _docker_credentials(sim, now, registry_name: str | None):
    read_write = params.boolean(request.args, "read_write", False)
    expiry_seconds = params.integer(request.args, "expiry_seconds", 0, minimum=0, maximum=MAX_EXPIRY_SECONDS)
    if read_write:
        # Push rights are an update of the registry: the token needs that scope too.
        current_app.config["DOCRSIM_TOKENS"].require(bearer_token(), UPDATE)
    secret = "dop_v1_" + sim.ids.hex(32)
    credential = sim.credentials.mint(
        secret, registry=registry_name, read_write=read_write, expiry_seconds=expiry_seconds, now=now
    )
    auth = base64.b64encode(f"{credential.username}:{credential.secret}".encode()).decode()
    return {"auths": {addresses.of_request().registry_host: {"auth": auth}}}


@operation("registries_get_dockerCredentials", "GET", "/v2/registries/<registry_name>/docker-credentials", READ)
def registries_get_docker_credentials(sim, now, registry_name):
    sim.account.registry(registry_name)
    return _docker_credentials(sim, now, registry_name)


@operation("registry_get_dockerCredentials", "GET", "/v2/registry/docker-credentials", READ)
def registry_get_docker_credentials(sim, now):
    # The older endpoint's credentials serve the account's registry, whichever it is.
    if not sim.account.registries:
        sim.account.only_registry()  # raises the 404
    return _docker_credentials(sim, now, None)
