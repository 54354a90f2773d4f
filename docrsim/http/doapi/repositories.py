"""Repositories, tags and manifests (the API calls manifests "digests")."""

from __future__ import annotations

from docrsim.core import digests
from docrsim.http.doapi import render
from docrsim.http.doapi.operations import PLURAL, SINGULAR, both_families, operation
from docrsim.http.doapi.pagination import page_request, paginate
from docrsim.http.rawpath import segment

READ, DELETE = "registry:read", "registry:delete"
NAMED = "/<registry_name>"
# Names arrive whole whether '/' was sent as %2F or as-is (operations.RepositoryName).
REPO = "/repositories/<repository_name:repository_name>"


def _repository(sim, registry_name: str, repository_name: str):
    content = sim.account.registry(registry_name).content
    return content, content.repository(segment(repository_name))


# -- repositories -------------------------------------------------------------------------------
@operation("registry_list_repositories", "GET", SINGULAR + NAMED + "/repositories", READ, memo=True)
def list_repositories_v1(sim, now, registry_name):
    content = sim.account.registry(registry_name).content
    # Only repositories with a tag: doctl reads latest_tag without checking for null.
    names = sorted(n for n, repo in content.repositories.items() if repo.tags)
    window, extra = paginate(names, page_request())
    items = [render.repository_v1(registry_name, content, content.repositories[n]) for n in window]
    return {"repositories": items, **extra}


@both_families("list_repositoriesV2", "GET", "/<registry_name>/repositoriesV2", READ, memo=True)
def list_repositories_v2(sim, now, registry_name):
    content = sim.account.registry(registry_name).content
    window, extra = paginate(sorted(content.repositories), page_request(with_tokens=True))
    items = [render.repository_v2(registry_name, content, content.repositories[n]) for n in window]
    return {"repositories": items, **extra}


@operation("registries_delete_repository", "DELETE", PLURAL + NAMED + REPO, DELETE)
def delete_repository(sim, now, registry_name, repository_name):
    content, repo = _repository(sim, registry_name, repository_name)
    sim.gc.check_content_change(registry_name)
    content.delete_repository(repo.name)
    return "", 204


# -- tags ---------------------------------------------------------------------------------------
@both_families("list_repositoryTags", "GET", NAMED + REPO + "/tags", READ, memo=True)
def list_tags(sim, now, registry_name, repository_name):
    content, repo = _repository(sim, registry_name, repository_name)
    window, extra = paginate(render.newest_tags(repo), page_request())
    return {"tags": [render.tag(registry_name, content, repo, t) for t in window], **extra}


@both_families("delete_repositoryTag", "DELETE", NAMED + REPO + "/tags/<repository_tag>", DELETE)
def delete_tag(sim, now, registry_name, repository_name, repository_tag):
    content, repo = _repository(sim, registry_name, repository_name)
    sim.gc.check_content_change(registry_name)
    content.delete_tag(repo.name, repository_tag)
    return "", 204


# -- manifests ----------------------------------------------------------------------------------
@both_families("list_repositoryManifests", "GET", NAMED + REPO + "/digests", READ, memo=True)
def list_manifests(sim, now, registry_name, repository_name):
    content, repo = _repository(sim, registry_name, repository_name)
    window, extra = paginate(render.newest_manifests(repo), page_request())
    tags = repo.tags_by_manifest()
    return {"manifests": [render.manifest(registry_name, content, repo, d, tags) for d in window], **extra}


@both_families("delete_repositoryManifest", "DELETE", NAMED + REPO + "/digests/<manifest_digest>", DELETE)
def delete_manifest(sim, now, registry_name, repository_name, manifest_digest):
    content, repo = _repository(sim, registry_name, repository_name)
    digests.parse(manifest_digest)  # a malformed digest is a 422, an unknown one a 404
    sim.gc.check_content_change(registry_name)
    content.delete_manifest(repo.name, manifest_digest)
    return "", 204
