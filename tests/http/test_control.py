"""The control API under /_docrsim, over real HTTP."""

import json
import uuid
from datetime import datetime, timezone

import pytest
from freezegun import freeze_time

from docrsim.core.clock import SystemClock

MULTI_ARCH_DOC = {
    "clock": {"start": "2027-06-01T00:00:00Z"},
    "account": {"tier": "professional"},
    "registries": [{"name": "other", "region": "fra1", "repositories": [{"name": "tool", "manifests": [
        {"tags": ["1.0"], "platforms": [{"platform": {"os": "linux", "architecture": "amd64"}}]}]}]}],
}


def post_raw(live, path, body: bytes):
    return live.http.post(live.url(path), data=body, headers={"Content-Type": "application/json"})


def get_clock(live):
    answer = live.http.get(live.url("/_docrsim/clock"))
    assert answer.status_code == 200
    return answer.json()


def assert_do_error(answer, status, error_id, words=""):
    assert answer.status_code == status, answer.text
    body = answer.json()
    assert set(body) == {"id", "message", "request_id"}
    assert body["id"] == error_id
    assert words in body["message"]
    assert body["request_id"] == answer.headers["x-request-id"]
    return body


# -- clock ------------------------------------------------------------------------------------

def test_read_the_clock(live):
    assert get_clock(live) == {"now": "2026-01-01T00:00:00Z", "kind": "manual"}


def test_advance_and_set(live):
    answer = live.http.post(live.url("/_docrsim/clock"), json={"advance_seconds": 90})
    assert answer.status_code == 200
    assert answer.json() == {"now": "2026-01-01T00:01:30Z", "kind": "manual"}
    answer = live.http.post(live.url("/_docrsim/clock"), json={"advance_seconds": 0.5})
    assert answer.json()["now"] == "2026-01-01T00:01:30.500000Z"  # exact: a fraction shows
    answer = live.http.post(live.url("/_docrsim/clock"), json={"set": "2026-03-01T12:00:00+01:00"})
    assert answer.status_code == 200 and answer.json()["now"] == "2026-03-01T11:00:00Z"
    assert get_clock(live)["now"] == "2026-03-01T11:00:00Z"
    assert live.sim.now() == datetime(2026, 3, 1, 11, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    "body, words",
    [
        ({"advance_seconds": 10, "set": "2027-01-01T00:00:00Z"}, "exactly one"),
        ({}, "exactly one"),
        ({"advance": 10}, "unknown field"),
        ({"advance_seconds": -1}, "negative"),
        ({"advance_seconds": "10"}, "number"),
        ({"advance_seconds": True}, "number"),
        ({"advance_seconds": None}, "number"),
        ({"advance_seconds": [1]}, "number"),
        ({"set": 1767225600}, "ISO 8601"),
        ({"set": "next week"}, "ISO 8601"),
        ({"set": "2025-12-31T23:59:59Z"}, "only moves forward"),
        ({"set": "2026-01-01T00:30:00+01:00"}, "only moves forward"),
    ],
)
def test_refused_clock_moves_are_422_and_leave_the_clock(live, body, words):
    answer = live.http.post(live.url("/_docrsim/clock"), json=body)
    assert_do_error(answer, 422, "unprocessable_entity", words)
    assert get_clock(live)["now"] == "2026-01-01T00:00:00Z"


@pytest.mark.parametrize("raw", [b'{"advance_seconds": 1e400}', b'{"advance_seconds": NaN}',
                                 b'{"advance_seconds": 1e15}', b'{"set": "9999-12-31T23:00:00-05:00"}'])
def test_absurd_clock_moves_are_refused_not_a_server_error(live, raw):
    answer = post_raw(live, "/_docrsim/clock", raw)
    assert answer.status_code in (400, 422), answer.text
    assert get_clock(live)["now"] == "2026-01-01T00:00:00Z"


@pytest.mark.parametrize("raw, words", [(b"{not json", "error parsing request body"), (b"", "empty"),
                                        (b"[1]", "JSON object"), (b'"advance"', "JSON object")])
def test_unparseable_clock_bodies_are_400(live, raw, words):
    assert_do_error(post_raw(live, "/_docrsim/clock", raw), 400, "bad_request", words)


def test_the_system_clock_follows_freezegun_and_cannot_be_moved(live):
    live.sim.clock = SystemClock()
    with freeze_time("2031-05-06 07:08:09"):
        assert get_clock(live) == {"now": "2031-05-06T07:08:09Z", "kind": "system"}
        answer = live.http.post(live.url("/_docrsim/clock"), json={"advance_seconds": 5})
        assert_do_error(answer, 422, "unprocessable_entity", "--clock manual")


# -- reset ------------------------------------------------------------------------------------

def state(live):
    answer = live.http.get(live.url("/_docrsim/state"))
    assert answer.status_code == 200
    return answer.json()


def test_reset_returns_to_the_start_up_scenario(scenario):
    app = scenario("small-app")
    initial = state(app)
    content = app.sim.account.registry("acme").content
    content.delete_tag("web", "v1")
    content.delete_repository("tools/migrate")
    app.advance(7200)
    assert state(app) != initial
    answer = app.http.post(app.url("/_docrsim/reset"))
    assert answer.status_code == 204 and answer.content == b""
    # Content back, and the manual clock back at the scenario's start.
    assert state(app) == initial


def test_reset_without_start_up_scenarios_empties_the_world(live):
    assert live.http.post(live.url("/_docrsim/fixtures"), json={"registries": [{"name": "temp"}]}).status_code == 201
    assert live.http.post(live.url("/_docrsim/reset"), json={}).status_code == 204
    assert state(live)["registries"] == []


def test_reset_with_a_fixture_replaces_the_world_but_not_the_baseline(scenario):
    app = scenario("small-app")
    initial = state(app)
    answer = app.http.post(app.url("/_docrsim/reset"), json={"fixture": MULTI_ARCH_DOC})
    assert answer.status_code == 204
    now = state(app)
    assert [r["name"] for r in now["registries"]] == ["other"]
    assert now["account"]["tier"] == "professional"
    assert now["clock"]["now"] == "2027-06-01T00:00:00Z"
    # A plain reset still goes back to what docrsim was started with.
    assert app.http.post(app.url("/_docrsim/reset")).status_code == 204
    assert state(app) == initial


def test_reset_with_an_invalid_fixture_is_422_naming_the_path_and_changes_nothing(scenario):
    app = scenario("small-app")
    app.advance(60)
    before = state(app)
    bad = {"registries": [{"name": "fine"}, {"name": "Not_Fine"}]}
    answer = app.http.post(app.url("/_docrsim/reset"), json={"fixture": bad})
    assert_do_error(answer, 422, "unprocessable_entity", "registries[1].name")
    assert state(app) == before


@pytest.mark.parametrize("body, status, words", [
    ({"fixture": 42}, 422, "fixture"),
    ({"fixture": "no-such-scenario"}, 422, "no shipped scenario named 'no-such-scenario'"),
    ({"fixture": "fixtures/small-app.yaml"}, 422, "no shipped scenario"),  # never a file the server reads
    ({"fixtures": {}}, 422, "unknown field"),
])
def test_reset_refuses_other_bodies(scenario, body, status, words):
    app = scenario("small-app")
    before = state(app)
    assert_do_error(app.http.post(app.url("/_docrsim/reset"), json=body), status, "unprocessable_entity", words)
    assert_do_error(post_raw(app, "/_docrsim/reset", b"{oops"), 400, "bad_request")
    assert state(app) == before


def test_reset_clears_the_rate_limit_counters(live):
    remaining = [int(live.http.get(live.url("/_docrsim/clock")).headers["ratelimit-remaining"]) for _ in range(3)]
    assert remaining == [4999, 4998, 4997]  # DO allows 5000 requests an hour per token
    assert live.http.post(live.url("/_docrsim/reset")).headers["ratelimit-remaining"] == "4999"


# -- fixtures ---------------------------------------------------------------------------------

def test_load_a_fixture(live):
    answer = live.http.post(live.url("/_docrsim/fixtures"), json=MULTI_ARCH_DOC)
    assert answer.status_code == 201
    assert answer.json() == {"registries": ["other"]}
    now = state(live)
    assert [r["name"] for r in now["registries"]] == ["other"]
    repo = now["registries"][0]["repositories"][0]
    assert repo["name"] == "tool" and [t["tag"] for t in repo["tags"]] == ["1.0"]
    assert len(repo["manifests"]) == 2  # the index and its one child
    # Loading adds to the world; only a reset moves the clock to a scenario's start.
    assert now["clock"]["now"] == "2026-01-01T00:00:00Z"


def test_loading_an_existing_registry_is_409_and_changes_nothing(scenario):
    app = scenario("small-app")
    before = state(app)
    answer = app.http.post(app.url("/_docrsim/fixtures"), json={"registries": [{"name": "acme"}]})
    assert_do_error(answer, 409, "conflict", "acme")
    assert state(app) == before


def test_loading_an_invalid_fixture_is_422_naming_the_path(live):
    before = state(live)
    bad = {"registries": [{"name": "ok", "repositories": [{"name": "web", "manifests": [{"tags": ["v1", "v1"]}]}]}]}
    answer = live.http.post(live.url("/_docrsim/fixtures"), json=bad)
    assert_do_error(answer, 422, "unprocessable_entity", "registries[0].repositories[0].manifests[0].tags")
    assert state(live) == before


def test_loading_needs_a_body(live):
    assert_do_error(post_raw(live, "/_docrsim/fixtures", b""), 400, "bad_request")
    assert_do_error(post_raw(live, "/_docrsim/fixtures", b"registries: []"), 400, "bad_request")


# -- state ------------------------------------------------------------------------------------

def test_state_is_stable_and_reflects_the_world(scenario):
    app = scenario("small-app")
    first, second = state(app), state(app)
    assert first == second
    assert json.dumps(first, sort_keys=False) == json.dumps(second, sort_keys=False)
    assert first["clock"] == {"kind": "manual", "now": "2026-01-01T00:00:00Z"}
    acme = first["registries"][0]
    assert acme["name"] == "acme"
    assert [r["name"] for r in acme["repositories"]] == ["tools/migrate", "web"]
    web = acme["repositories"][1]
    assert {t["tag"] for t in web["tags"]} == {"v1", "v2", "latest"}
    assert len(web["manifests"]) == 4


# -- documents, headers, errors ----------------------------------------------------------------

def test_openapi_document_is_served(live):
    answer = live.http.get(live.url("/openapi.json"))
    assert answer.status_code == 200
    assert answer.headers["Content-Type"].startswith("application/json")
    document = answer.json()
    assert document["openapi"].startswith("3.1")
    assert {"/_docrsim/clock", "/_docrsim/reset", "/_docrsim/fixtures", "/_docrsim/state"} <= set(document["paths"])


def test_every_response_carries_request_id_and_rate_limit_headers(live):
    responses = [
        live.http.get(live.url("/_docrsim/clock")),
        live.http.post(live.url("/_docrsim/clock"), json={"advance_seconds": 1}),
        live.http.post(live.url("/_docrsim/clock"), json={"advance_seconds": -1}),
        post_raw(live, "/_docrsim/clock", b"{"),
        live.http.post(live.url("/_docrsim/fixtures"), json={"registries": [{"name": "acme"}]}),
        live.http.post(live.url("/_docrsim/fixtures"), json={"registries": [{"name": "acme"}]}),
        live.http.get(live.url("/_docrsim/state")),
        live.http.post(live.url("/_docrsim/reset")),
        live.http.get(live.url("/openapi.json")),
        live.http.get(live.url("/no/such/route")),
        live.http.delete(live.url("/_docrsim/clock")),
    ]
    assert [r.status_code for r in responses] == [200, 200, 422, 400, 201, 409, 200, 204, 200, 404, 405]
    ids = [r.headers["x-request-id"] for r in responses]
    assert all(uuid.UUID(i).version == 4 for i in ids)
    # Unique between resets (a reset restarts the seeded request-id stream along with the world).
    assert len(set(ids[:8])) == 8
    for r in responses:
        assert r.headers["ratelimit-limit"] == "5000"
        assert 0 <= int(r.headers["ratelimit-remaining"]) < 5000
        # The window is the hour of simulated time the request fell in.
        assert int(r.headers["ratelimit-reset"]) == int(datetime(2026, 1, 1, 1, tzinfo=timezone.utc).timestamp())


def test_rate_limit_window_follows_the_simulated_clock(live):
    live.http.get(live.url("/_docrsim/clock"))
    live.advance(3600)
    answer = live.http.get(live.url("/_docrsim/clock"))
    assert answer.headers["ratelimit-remaining"] == "4999"
    assert int(answer.headers["ratelimit-reset"]) == int(datetime(2026, 1, 1, 2, tzinfo=timezone.utc).timestamp())


def test_unknown_route_is_a_do_style_404(live):
    for path in ("/nothing-here", "/_docrsim/clocks", "/_docrsim"):
        assert_do_error(live.http.get(live.url(path)), 404, "not_found")


@pytest.mark.parametrize("method, path, allowed", [
    ("DELETE", "/_docrsim/clock", {"GET", "POST"}),
    ("PUT", "/_docrsim/clock", {"GET", "POST"}),
    ("GET", "/_docrsim/reset", {"POST"}),
    ("POST", "/_docrsim/state", {"GET"}),
    ("DELETE", "/_docrsim/fixtures", {"POST"}),
])
def test_wrong_method_is_405_with_allow(live, method, path, allowed):
    answer = live.http.request(method, live.url(path))
    assert_do_error(answer, 405, "method_not_allowed")
    offered = {m.strip() for m in answer.headers["Allow"].split(",")}
    assert allowed <= offered
    assert method not in offered


def test_a_scenario_sent_bare_to_reset_is_told_how_to_send_it(live):
    answer = live.http.post(live.url("/_docrsim/reset"), json={"registries": [{"name": "acme"}]})
    assert answer.status_code == 422
    assert answer.json()["message"] == ('unknown field: registries (a reset takes {"fixture": <scenario or name>} '
                                        'or {"state": <saved state>})')
