"""Repositories, tags and manifests (the API calls manifests "digests")."""

from __future__ import annotations

from docrsim.core import digests
from docrsim.http.doapi import render
from docrsim.http.doapi.pagination import page_request, paginate
from docrsim.http.doapi.operations import operation
from docrsim.http.rawpath import segment

READ, DELETE = "registry:read", "registry:delete"
PLURAL, SINGULAR = "/v2/registries/<registry_name>", "/v2/registry/<registry_name>"
# A path converter, so names arrive whole whether '/' was sent as %2F or as-is.
REPO = "/repositories/<path:repository_name>"


def _repository(sim, registry_name: str, repository_name: str):
    content = sim.account.registry(registry_name).content
    return content, content.repository(segment(repository_name))


# -- repositories -------------------------------------------------------------------------------
@operation("registry_list_repositories", "GET", SINGULAR + "/repositories", READ)
def registry_list_repositories(sim, now, registry_name):
    content = sim.account.registry(registry_name).content
    # Only repositories with a tag: doctl reads latest_tag without checking for null.
    names = sorted(n for n, repo in content.repositories.items() if repo.tags)
    window, extra = paginate(names, page_request())
    items = [render.repository_v1(registry_name, content, content.repositories[n]) for n in window]
    return {"repositories": items, **extra}


def _list_v2(sim, registry_name):
    content = sim.account.registry(registry_name).content
    req = page_request(with_tokens=True)
    window, extra = paginate(sorted(content.repositories), req)
    items = [render.repository_v2(registry_name, content, content.repositories[n]) for n in window]
    return {"repositories": items, **extra}


@operation("registries_list_repositoriesV2", "GET", PLURAL + "/repositoriesV2", READ)
def registries_list_repositories_v2(sim, now, registry_name):
    return _list_v2(sim, registry_name)


@operation("registry_list_repositoriesV2", "GET", SINGULAR + "/repositoriesV2", READ)
def registry_list_repositories_v2(sim, now, registry_name):
    return _list_v2(sim, registry_name)


@operation("registries_delete_repository", "DELETE", PLURAL + REPO, DELETE)
def registries_delete_repository(sim, now, registry_name, repository_name):
    content, repo = _repository(sim, registry_name, repository_name)
    sim.gc.check_content_change(registry_name)
    content.delete_repository(repo.name)
    return "", 204


# -- tags ---------------------------------------------------------------------------------------
def _list_tags(sim, registry_name, repository_name):
    content, repo = _repository(sim, registry_name, repository_name)
    window, extra = paginate(render.newest_tags(repo), page_request())
    return {"tags": [render.tag(registry_name, content, repo, t) for t in window], **extra}


def _delete_tag(sim, registry_name, repository_name, repository_tag):
    content, repo = _repository(sim, registry_name, repository_name)
    sim.gc.check_content_change(registry_name)
    content.delete_tag(repo.name, repository_tag)
    return "", 204


@operation("registries_list_repositoryTags", "GET", PLURAL + REPO + "/tags", READ)
def registries_list_repository_tags(sim, now, registry_name, repository_name):
    return _list_tags(sim, registry_name, repository_name)


@operation("registry_list_repositoryTags", "GET", SINGULAR + REPO + "/tags", READ)
def registry_list_repository_tags(sim, now, registry_name, repository_name):
    return _list_tags(sim, registry_name, repository_name)


@operation("registries_delete_repositoryTag", "DELETE", PLURAL + REPO + "/tags/<repository_tag>", DELETE)
def registries_delete_repository_tag(sim, now, registry_name, repository_name, repository_tag):
    return _delete_tag(sim, registry_name, repository_name, repository_tag)


@operation("registry_delete_repositoryTag", "DELETE", SINGULAR + REPO + "/tags/<repository_tag>", DELETE)
def registry_delete_repository_tag(sim, now, registry_name, repository_name, repository_tag):
    return _delete_tag(sim, registry_name, repository_name, repository_tag)


# -- manifests ----------------------------------------------------------------------------------
def _list_manifests(sim, registry_name, repository_name):
    content, repo = _repository(sim, registry_name, repository_name)
    window, extra = paginate(render.newest_manifests(repo), page_request())
    tags = repo.tags_by_manifest()
    return {"manifests": [render.manifest(registry_name, content, repo, d, tags) for d in window], **extra}


def _delete_manifest(sim, registry_name, repository_name, manifest_digest):
    content, repo = _repository(sim, registry_name, repository_name)
    digests.parse(manifest_digest)  # a malformed digest is a 422, an unknown one a 404
    sim.gc.check_content_change(registry_name)
    content.delete_manifest(repo.name, manifest_digest)
    return "", 204


@operation("registries_list_repositoryManifests", "GET", PLURAL + REPO + "/digests", READ)
def registries_list_repository_manifests(sim, now, registry_name, repository_name):
    return _list_manifests(sim, registry_name, repository_name)


@operation("registry_list_repositoryManifests", "GET", SINGULAR + REPO + "/digests", READ)
def registry_list_repository_manifests(sim, now, registry_name, repository_name):
    return _list_manifests(sim, registry_name, repository_name)


@operation("registries_delete_repositoryManifest", "DELETE", PLURAL + REPO + "/digests/<manifest_digest>", DELETE)
def registries_delete_repository_manifest(sim, now, registry_name, repository_name, manifest_digest):
    return _delete_manifest(sim, registry_name, repository_name, manifest_digest)


@operation("registry_delete_repositoryManifest", "DELETE", SINGULAR + REPO + "/digests/<manifest_digest>", DELETE)
def registry_delete_repository_manifest(sim, now, registry_name, repository_name, manifest_digest):
    return _delete_manifest(sim, registry_name, repository_name, manifest_digest)
