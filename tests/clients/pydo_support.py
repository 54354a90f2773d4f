"""Helpers for driving a live docrsim with pydo, DigitalOcean's official Python client.

``connect(live)``, and the ``pydo_client`` fixture (import it into a test module to use it),
return a ``pydo.Client`` built the way a user builds one (``pydo.Client(token=...,
endpoint=live.api_url)``) with three test-only additions:

* pydo authenticates through azure-core's ``BearerTokenCredentialPolicy``, which refuses to
  send a bearer token to a plain ``http://`` URL unless each call opts out with
  ``enforce_https=False``. docrsim listens on loopback http, so the client gets the same policy
  with that opt-out made the default (see ``test_stock_pydo_needs_the_https_opt_out``).
* every response pydo receives is checked against openapi/docrsim.yaml, as ``live.http`` does;
* every response is recorded on ``client.seen`` as ``Seen(operation_id, status, path)``, with
  the operationId docrsim's document gives that method and path.

Retries are off, so a 5xx from docrsim fails at once instead of after pydo's back-off.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import pydo
import pytest
from azure.core.credentials import AccessToken
from azure.core.pipeline.policies import BearerTokenCredentialPolicy

from tests import spec_conformance

TOKEN = "dop_v1_docrsim-pydo"


@dataclass(frozen=True)
class Seen:
    operation_id: str | None
    status: int
    path: str  # as sent, still percent-encoded


class _StaticToken:
    """An azure-core token credential for a DO personal access token (it never expires)."""

    def __init__(self, token: str):
        self._token = token

    def get_token(self, *scopes, **kwargs) -> AccessToken:
        return AccessToken(self._token, 2**40)


class _LoopbackBearer(BearerTokenCredentialPolicy):
    """pydo's bearer policy, with azure-core's per-call ``enforce_https=False`` as the default."""

    def on_request(self, request):
        request.context.options.setdefault("enforce_https", False)
        super().on_request(request)


def with_status(pipeline_response, deserialized, headers):
    """A pydo ``cls=`` callback: return ``(status, body, headers)`` instead of the body alone.

    pydo returns the DO error body, without raising, for every status DO's spec documents for
    an operation (for most registry operations, 404), so this is how a caller tells them apart.
    """
    return pipeline_response.http_response.status_code, deserialized, headers


def connect(live, token: str = TOKEN, **kwargs) -> pydo.Client:
    seen: list[Seen] = []

    def check_and_record(pipeline_response):
        answer = pipeline_response.http_response.internal_response  # a requests.Response
        spec_conformance.check(answer)
        path = urlsplit(answer.request.url).path
        found = spec_conformance.operation_for(answer.request.method, path)
        seen.append(Seen(found[1].get("operationId") if found else None, answer.status_code, path))

    client = pydo.Client(
        token=token,
        endpoint=live.api_url,
        authentication_policy=_LoopbackBearer(_StaticToken(token), "https://api.digitalocean.com"),
        raw_response_hook=check_and_record,
        retry_total=0,
        **kwargs,
    )
    client.seen = seen
    return client


@pytest.fixture
def pydo_client():
    """``pydo_client(live, token=TOKEN)``: a pydo.Client for that live docrsim, closed afterwards."""
    made: list[pydo.Client] = []

    def _make(live, token: str = TOKEN, **kwargs) -> pydo.Client:
        client = connect(live, token, **kwargs)
        made.append(client)
        return client

    yield _make
    for client in made:
        client.close()


# Every registry method pydo has, with the DO operation it should reach. pydo has no
# ``registry.delete_repository`` and no ``registry.list``; DO's API has no such operations either.
PYDO_OPERATIONS = {
    "registries.create": "registries_create",
    "registries.delete": "registries_delete",
    "registries.delete_repository": "registries_delete_repository",
    "registries.delete_repository_manifest": "registries_delete_repositoryManifest",
    "registries.delete_repository_tag": "registries_delete_repositoryTag",
    "registries.get": "registries_get",
    "registries.get_docker_credentials": "registries_get_dockerCredentials",
    "registries.get_garbage_collection": "registries_get_garbageCollection",
    "registries.get_options": "registries_get_options",
    "registries.get_subscription": "registries_get_subscription",
    "registries.list": "registries_list",
    "registries.list_garbage_collections": "registries_list_garbageCollections",
    "registries.list_repositories_v2": "registries_list_repositoriesV2",
    "registries.list_repository_manifests": "registries_list_repositoryManifests",
    "registries.list_repository_tags": "registries_list_repositoryTags",
    "registries.run_garbage_collection": "registries_run_garbageCollection",
    "registries.update_garbage_collection": "registries_update_garbageCollection",
    "registries.update_subscription": "registries_update_subscription",
    "registries.validate_name": "registries_validate_name",
    "registry.create": "registry_create",
    "registry.delete": "registry_delete",
    "registry.delete_repository_manifest": "registry_delete_repositoryManifest",
    "registry.delete_repository_tag": "registry_delete_repositoryTag",
    "registry.get": "registry_get",
    "registry.get_docker_credentials": "registry_get_dockerCredentials",
    "registry.get_garbage_collection": "registry_get_garbageCollection",
    "registry.get_options": "registry_get_options",
    "registry.get_subscription": "registry_get_subscription",
    "registry.list_garbage_collections": "registry_list_garbageCollections",
    "registry.list_repositories": "registry_list_repositories",
    "registry.list_repositories_v2": "registry_list_repositoriesV2",
    "registry.list_repository_manifests": "registry_list_repositoryManifests",
    "registry.list_repository_tags": "registry_list_repositoryTags",
    "registry.run_garbage_collection": "registry_run_garbageCollection",
    "registry.update_garbage_collection": "registry_update_garbageCollection",
    "registry.update_subscription": "registry_update_subscription",
    "registry.validate_name": "registry_validate_name",
}


def page_token(link: str) -> str:
    """The page_token of a ``links.pages`` URL, as a pydo user would dig it out."""
    return parse_qs(urlsplit(link).query)["page_token"][0]


def page_number(link: str) -> int:
    return int(parse_qs(urlsplit(link).query)["page"][0])
