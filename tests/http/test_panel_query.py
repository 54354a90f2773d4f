"""The control panel's page is for people: whatever its query holds, it answers 200 and shows
what it cannot use (the document gives its parameters as free strings)."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize("query", ["page=%C2%B2", "page=-4", "page=", "per_page=many", "tab=elsewhere",
                                   "registry=%252F&page=%C2%B2&tab=&run=c%03P"])
def test_the_page_answers_any_query(scenario, query):
    live = scenario("small-app")
    answer = live.http.get(live.url("/?" + query))
    assert answer.status_code == 200, answer.text[:300]
    assert answer.headers["Content-Type"].startswith("text/html")
