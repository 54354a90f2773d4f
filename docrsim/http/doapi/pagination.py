"""DO's page-number pagination, and the page tokens of the repositoriesV2 lists.

doctl reads ``page=N`` from ``links.pages.last`` and then fetches pages 2..N, so every link is
absolute, repeats the query, and names its page explicitly.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from dataclasses import dataclass
from urllib.parse import urlencode

from flask import request

from docrsim.core.errors import BadRequest
from docrsim.http import addresses
from docrsim.http.doapi import params

MAX_PER_PAGE = 200
DEFAULT_PER_PAGE = 20


@dataclass(frozen=True)
class PageRequest:
    page: int
    per_page: int
    offset: int
    with_tokens: bool


def encode_token(offset: int) -> str:
    raw = json.dumps({"offset": offset}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_token(token: str) -> int:
    try:
        padded = token + "=" * (-len(token) % 4)
        document = json.loads(base64.urlsafe_b64decode(padded.encode()))
        offset = document["offset"]
        if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
            raise ValueError
    except (binascii.Error, ValueError, TypeError, KeyError, UnicodeDecodeError):
        raise BadRequest(f"invalid page_token {token!r}") from None
    return offset


def page_request(*, with_tokens: bool = False) -> PageRequest:
    args = request.args
    # Every parameter given is checked, even one another overrides: a bad value is never ignored.
    per_page = params.integer(args, "per_page", DEFAULT_PER_PAGE, minimum=1, maximum=MAX_PER_PAGE)
    page = params.integer(args, "page", 1, minimum=1)
    if with_tokens:
        # The published examples for these lists say page_size; accept it as an alias.
        page_size = params.integer(args, "page_size", per_page, minimum=1, maximum=MAX_PER_PAGE)
        if "per_page" not in args:
            per_page = page_size
    token = args.get("page_token") if with_tokens else None
    if token:
        offset = decode_token(token)
        page = offset // per_page + 1
    else:
        offset = (page - 1) * per_page
    return PageRequest(page=page, per_page=per_page, offset=offset, with_tokens=with_tokens)


def _raw_path() -> str:
    raw = request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI")
    return raw.split("?", 1)[0] if raw else request.path


def _linker():
    """A page's link from its numbers: the address, path and other parameters of this request
    are worked out once for all the links of a page."""
    base = f"{addresses.of_request().api_url}{_raw_path()}?"
    query = [(k, v) for k, v in request.args.items(multi=True) if k not in ("page", "per_page", "page_token", "page_size")]

    def link(page: int, per_page: int, token_offset: int | None = None) -> str:
        ordered = [("page", page)]
        if token_offset is not None:
            ordered.append(("page_token", encode_token(token_offset)))
        ordered.append(("per_page", per_page))
        return base + urlencode(ordered + query)

    return link


def paginate(items: list, req: PageRequest) -> tuple[list, dict]:
    """The page's items and the ``links``/``meta`` members to merge into the body."""
    total = len(items)
    last = max(1, math.ceil(total / req.per_page))
    window = items[req.offset: req.offset + req.per_page]
    pages: dict[str, str] = {}
    tokens = req.with_tokens
    _link = _linker() if req.offset > 0 or req.offset + req.per_page < total else None
    if req.offset > 0:
        pages["first"] = _link(1, req.per_page, 0 if tokens else None)
        prev_offset = max(0, min(req.offset, total) - req.per_page) if req.offset <= total else (last - 1) * req.per_page
        pages["prev"] = _link(prev_offset // req.per_page + 1, req.per_page, prev_offset if tokens else None)
    if req.offset + req.per_page < total:
        next_offset = req.offset + req.per_page
        pages["next"] = _link(next_offset // req.per_page + 1, req.per_page, next_offset if tokens else None)
        pages["last"] = _link(last, req.per_page)
    links = {"pages": pages} if pages else {}
    return window, {"links": links, "meta": {"total": total}}
