"""Listing pages answered again from memory while the registry's content is unchanged.

A page of repositories, tags or manifests depends on three things only: the content of the
registry it lists, the request's path and query, and the address the request arrived at (its
pagination links repeat it). The content counts its edits (``RegistryContent.version``), so a
page rendered once is the answer to the same request until the count moves; then every page
of that registry is rendered anew. Clients that poll a listing (a cleanup job waiting for a
tag to go, Terraform refreshing) pay for the JSON once per change instead of once per request.

Only a page that rendered without error is kept, so a bad parameter is judged every time. The
memo is looked at inside the state transaction, after garbage collection has been brought up
to the clock, so a page never outlives the content it showed.
"""

from __future__ import annotations

import weakref

from flask import Response, current_app, request

from docrsim.http import addresses

# Per registry; past it the registry's pages are dropped and kept again from empty.
BYTES_PER_REGISTRY = 8 * 1024 * 1024


class _Pages:
    __slots__ = ("version", "bodies", "size")

    def __init__(self, version: int):
        self.version, self.bodies, self.size = version, {}, 0


class PageMemo:
    def __init__(self):
        # Keyed by the content object itself: a reset or an import makes new content, and the
        # pages of the old one go with it.
        self._by_content: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    def answer(self, content, operation_id: str, path_params: dict, render) -> Response | object:
        """The response to this request of ``operation_id``: the kept page, or ``render()``'s
        (kept if it is a page). Call under the state lock."""
        pages = self._by_content.get(content)
        if pages is None or pages.version != content.version:
            pages = self._by_content[content] = _Pages(content.version)
        req, app = request._get_current_object(), current_app._get_current_object()
        environ = req.environ
        key = (operation_id, tuple(path_params.items()),
               environ.get("RAW_URI") or environ.get("REQUEST_URI") or req.path,
               environ.get("QUERY_STRING", ""), addresses.of_request().api_url)
        body = pages.bodies.get(key)
        if body is not None:
            return app.response_class(body, mimetype=app.json.mimetype)
        rendered = render()
        if type(rendered) is not dict:  # a status or a response of its own: not a page
            return rendered
        response = app.json.response(rendered)
        body = response.get_data()
        if pages.size + len(body) > BYTES_PER_REGISTRY:
            pages.bodies.clear()
            pages.size = 0
        pages.bodies[key] = body
        pages.size += len(body)
        return response

    def clear(self) -> None:
        self._by_content.clear()
