"""Tag lists and the catalog: lexical order, ``n``/``last`` pagination and ``Link`` headers."""

from __future__ import annotations

import re

import pytest

from tests.registry.support import Client, challenge, image_manifest, oci_error

TAGS = ["v2", "latest", "B", "a", "v10", "c", "v1", "_x", "1.0"]
LEXICAL = sorted(TAGS)  # byte order, as Go's sort.Strings: digits, upper case, "_", lower case


@pytest.fixture
def tagged(web) -> Client:
    image = image_manifest(b"{}", [b"the one image"])
    web.push_image(image, TAGS[0])
    for tag in TAGS[1:]:
        assert web.push_manifest(image.raw, tag, image.media_type).status_code == 201
    return web


def next_link(answer) -> str | None:
    link = answer.headers.get("Link")
    if link is None:
        return None
    match = re.fullmatch(r'<([^>]+)>;\s*rel="next"', link)
    assert match, link
    return match[1]


def test_all_tags_in_lexical_order(tagged):
    answer = tagged.get("/tags/list")
    assert answer.status_code == 200
    assert answer.json() == {"name": "acme/web", "tags": LEXICAL}
    assert LEXICAL[:3] == ["1.0", "B", "_x"]
    assert "Link" not in answer.headers


def test_n_pages_follow_the_link_header_to_the_end(tagged):
    seen, url, pages = [], "/tags/list?n=2", 0
    while url is not None:
        answer = tagged.get(url)
        assert answer.status_code == 200
        page = answer.json()["tags"]
        assert len(page) == 2 or next_link(answer) is None
        seen += page
        url = next_link(answer)
        if url is not None:
            assert url.startswith("/v2/acme/web/tags/list?")
            assert "n=2" in url and f"last={page[-1]}" in url
        pages += 1
    assert seen == LEXICAL and pages == 5


def test_last_is_excluded_and_n_is_optional_with_it(tagged):
    assert tagged.get("/tags/list", params={"last": "c"}).json()["tags"] == LEXICAL[LEXICAL.index("c") + 1:]
    assert tagged.get("/tags/list", params={"last": "c", "n": 1}).json()["tags"] == ["latest"]
    # A last that is no tag still cuts lexically.
    assert tagged.get("/tags/list", params={"last": "b"}).json()["tags"] == ["c", "latest", "v1", "v10", "v2"]
    assert tagged.get("/tags/list", params={"last": "zzz"}).json()["tags"] == []


def test_n_zero_is_an_empty_list_without_link(tagged):
    answer = tagged.get("/tags/list", params={"n": 0})
    assert answer.status_code == 200 and answer.json()["tags"] == []
    assert "Link" not in answer.headers


def test_n_at_or_beyond_the_count_has_no_link(tagged):
    for n in (len(TAGS), len(TAGS) + 5):
        answer = tagged.get("/tags/list", params={"n": n})
        assert answer.json()["tags"] == LEXICAL and "Link" not in answer.headers
    answer = tagged.get("/tags/list", params={"n": len(TAGS) - 1})
    assert next_link(answer) is not None


@pytest.mark.parametrize("n", ["abc", "-1", "1.5"])
def test_a_bad_n_is_pagination_number_invalid(reg, tagged, n):
    assert oci_error(tagged.get("/tags/list", params={"n": n})) == (400, "PAGINATION_NUMBER_INVALID")
    assert oci_error(catalog_client(reg).get("/v2/_catalog", params={"n": n})) == (400, "PAGINATION_NUMBER_INVALID")


def test_an_untagged_repository_lists_no_tags(web):
    image = image_manifest(b"{}", [b"layer"])
    web.push_image(image, image.digest)
    assert web.get("/tags/list").json() == {"name": "acme/web", "tags": []}


def test_tags_of_an_unknown_repository_is_name_unknown(reg, web):
    assert oci_error(web.get("/tags/list")) == (404, "NAME_UNKNOWN")
    nested = reg.client("acme/team/service", "pull")
    assert oci_error(nested.get("/tags/list")) == (404, "NAME_UNKNOWN")


def test_nested_repository_names(reg):
    nested = reg.client("acme/team/service")
    nested.push_image(image_manifest(b"{}", [b"nested"]), "v1")
    assert nested.get("/tags/list").json() == {"name": "acme/team/service", "tags": ["v1"]}


# -- the catalog ------------------------------------------------------------------------------
def catalog_client(reg) -> Client:
    token = reg.token(("dop_v1_docrsim-test", "dop_v1_docrsim-test"), "registry:catalog:*")
    return Client(reg.live, "", token)


def test_catalog_lists_repositories_with_pagination(reg):
    names = ["acme/web", "acme/api", "acme/team/service", "beta/app"]
    for name in names:
        reg.client(name).push_image(image_manifest(b"{}", [name.encode()]), "v1")
    catalog = catalog_client(reg)
    answer = catalog.get("/v2/_catalog")
    assert answer.status_code == 200
    assert answer.json() == {"repositories": sorted(names)}
    assert "Link" not in answer.headers

    first = catalog.get("/v2/_catalog", params={"n": 3})
    assert first.json()["repositories"] == sorted(names)[:3]
    link = next_link(first)
    assert link.startswith("/v2/_catalog?") and "last=acme%2Fweb" in link
    second = catalog.get(link)
    assert second.json()["repositories"] == ["beta/app"] and "Link" not in second.headers

    assert catalog.get("/v2/_catalog", params={"last": "acme/team/service"}).json()["repositories"] == [
        "acme/web", "beta/app"]
    zero = catalog.get("/v2/_catalog", params={"n": 0})
    assert zero.json()["repositories"] == [] and "Link" not in zero.headers


def test_catalog_needs_the_catalog_scope(reg, web):
    answer = web.get("/v2/_catalog")
    assert oci_error(answer) == (401, "UNAUTHORIZED")
    assert challenge(answer)["scope"] == "registry:catalog:*"
    assert challenge(answer)["error"] == "insufficient_scope"
