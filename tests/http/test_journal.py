"""The request journal over real HTTP: what both hosts received, in order, with filters and
paging; and the journal's own bookkeeping in-process."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
import requests

from docrsim.core.errors import Invalid
from docrsim.core.journal import Entry, Journal, Query
from docrsim.core.state import Simulation
from docrsim.http.observe import OCI_OPERATION_IDS
from docrsim.http.registry import create_registry_app

BASE = "/v2/registries/acme"
BOTH = "untagged manifests and unreferenced blobs"


@pytest.fixture
def app(scenario):
    return scenario("small-app")


def journal(live, **params) -> dict:
    answer = live.http.get(live.url("/_docrsim/journal"), params=params)
    assert answer.status_code == 200, answer.text
    return answer.json()


def entries(live, **params) -> list[dict]:
    return journal(live, **params)["entries"]


def test_the_journal_records_exactly_what_the_client_did(app):
    assert entries(app) == []
    deleted = [app.http.delete(app.url(BASE + f"/repositories/web/tags/{tag}")) for tag in ("v1", "latest")]
    app.http.post(app.url("/_docrsim/clock"), json={"advance_seconds": 90})  # a control call: not listed
    started = app.http.post(app.url(BASE + "/garbage-collection"), json={"type": BOTH})
    assert started.status_code == 201

    listed = entries(app)
    assert [(e["method"], e["path"], e["operation_id"], e["status"]) for e in listed] == [
        ("DELETE", BASE + "/repositories/web/tags/v1", "registries_delete_repositoryTag", 204),
        ("DELETE", BASE + "/repositories/web/tags/latest", "registries_delete_repositoryTag", 204),
        ("POST", BASE + "/garbage-collection", "registries_run_garbageCollection", 201),
    ]
    assert [e["request_id"] for e in listed] == [a.headers["x-request-id"] for a in (*deleted, started)]
    assert [e["time"] for e in listed] == ["2026-01-01T00:00:00Z"] * 2 + ["2026-01-01T00:01:30Z"]
    assert all(e["host"] == "api" and e["control"] is False and e["fault"] is None and e["query"] == "" for e in listed)
    assert listed[0]["seq"] < listed[1]["seq"] < listed[2]["seq"]
    assert journal(app)["next_after"] is None and journal(app)["dropped"] == 0


def test_times_are_exact_to_the_microsecond(app):
    app.http.post(app.url("/_docrsim/clock"), json={"advance_seconds": 0.25})
    app.http.get(app.url(BASE))
    app.http.post(app.url("/_docrsim/clock"), json={"advance_seconds": 0.75})
    app.http.get(app.url(BASE))
    assert [e["time"] for e in entries(app)] == ["2026-01-01T00:00:00.250000Z", "2026-01-01T00:00:01Z"]
    assert [e["time"] for e in entries(app, since="2026-01-01T00:00:00.5Z")] == ["2026-01-01T00:00:01Z"]


def test_control_calls_are_journaled_but_listed_only_on_request(app):
    app.http.get(app.url("/_docrsim/clock"))
    app.http.get(app.url(BASE))
    everything = entries(app, include_control="true")
    assert [(e["operation_id"], e["control"]) for e in everything] == [("control_get_clock", True), ("registries_get", False)]
    assert [e["operation_id"] for e in entries(app)] == ["registries_get"]
    # Reading the journal is a control call too, listed once answered.
    assert [e["operation_id"] for e in entries(app, include_control="true")][-2:] == ["control_get_journal"] * 2


def test_raw_paths_queries_and_unknown_routes(app):
    app.http.get(app.url(BASE + "/repositories/tools%2Fmigrate/tags"), params={"per_page": 1, "page": 2})
    assert app.http.get(app.url("/v2/nothing-here")).status_code == 404
    listed = entries(app)
    assert (listed[0]["path"], listed[0]["query"]) == (BASE + "/repositories/tools%2Fmigrate/tags", "per_page=1&page=2")
    assert listed[0]["operation_id"] == "registries_list_repositoryTags"
    assert (listed[1]["operation_id"], listed[1]["status"]) == (None, 404)


def test_registry_host_requests_are_journaled_with_their_own_ids(app):
    requests.get(app.registry_url + "/v2/")
    requests.head(app.registry_url + "/v2/acme/web/manifests/v1")
    requests.get(app.registry_url + "/v2/acme/web/tags/list?n=1")
    listed = entries(app, host="registry")
    assert [(e["method"], e["operation_id"], e["status"], e["request_id"]) for e in listed] == [
        ("GET", "oci_version_check", 401, None),
        ("HEAD", "oci_manifest_head", 401, None),
        ("GET", "oci_tags_list", 401, None),
    ]
    assert listed[2]["query"] == "n=1"
    assert entries(app, host="api") == []


def test_every_registry_route_has_an_operation_id():
    app = create_registry_app(Simulation())
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        for method in rule.methods - {"OPTIONS"}:
            found = OCI_OPERATION_IDS.get((rule.endpoint, method)) or OCI_OPERATION_IDS.get((rule.endpoint, "GET"))
            assert found, (rule.rule, method)
    assert len(set(OCI_OPERATION_IDS.values())) == len(OCI_OPERATION_IDS)


def test_faulted_requests_name_their_rule(app):
    rule = app.http.post(app.url("/_docrsim/faults"), json={"operation_id": "registries_get", "status": 429, "times": 1}).json()
    delay = app.http.post(app.url("/_docrsim/faults"), json={"operation_id": "registries_list", "delay_ms": 1}).json()
    app.http.get(app.url(BASE))
    app.http.get(app.url(BASE))
    app.http.get(app.url("/v2/registries"))
    listed = entries(app)
    assert [(e["status"], e["fault"]) for e in listed] == [
        (429, {"id": rule["id"], "effect": "status"}),
        (200, None),
        (200, {"id": delay["id"], "effect": "delay"}),
    ]
    assert [e["seq"] for e in entries(app, faulted="true")] == [listed[0]["seq"], listed[2]["seq"]]
    assert [e["seq"] for e in entries(app, faulted="false")] == [listed[1]["seq"]]


def test_filters(app):
    app.http.delete(app.url(BASE + "/repositories/web/tags/v1"))
    app.http.delete(app.url(BASE + "/repositories/web/tags/nope"))
    app.http.post(app.url("/_docrsim/clock"), json={"advance_seconds": 60})
    app.http.get(app.url(BASE))
    app.http.post(app.url(BASE + "/garbage-collection"), json={"type": BOTH})
    app.http.delete(app.url(BASE + "/repositories/web/tags/v2"))  # read-only now
    requests.get(app.registry_url + "/v2/")

    def ops(**params):
        return [(e["operation_id"], e["status"]) for e in entries(app, **params)]

    assert ops(method="delete") == [("registries_delete_repositoryTag", 204), ("registries_delete_repositoryTag", 404),
                                    ("registries_delete_repositoryTag", 409)]
    assert ops(status="4xx", host="api") == [("registries_delete_repositoryTag", 404), ("registries_delete_repositoryTag", 409)]
    assert ops(status=["204", "201"]) == [("registries_delete_repositoryTag", 204), ("registries_run_garbageCollection", 201)]
    assert ops(operation_id=["registries_get", "oci_version_check"]) == [("registries_get", 200), ("oci_version_check", 401)]
    assert ops(since="2026-01-01T00:01:00Z", method="DELETE") == [("registries_delete_repositoryTag", 409)]
    assert ops(since="2026-01-01T00:01:00Z", host="registry") == [("oci_version_check", 401)]
    assert ops(operation_id="control_set_clock", include_control="true") == [("control_set_clock", 200)]


def test_paging_with_limit_and_after(app):
    for _ in range(5):
        app.http.get(app.url(BASE))
    first = journal(app, limit=2)
    assert len(first["entries"]) == 2 and first["next_after"] == first["entries"][-1]["seq"]
    second = journal(app, limit=2, after=first["next_after"])
    third = journal(app, limit=2, after=second["next_after"])
    assert len(third["entries"]) == 1 and third["next_after"] is None
    seqs = [e["seq"] for page in (first, second, third) for e in page["entries"]]
    assert seqs == sorted(set(seqs)) and len(seqs) == 5


@pytest.mark.parametrize("params, words", [
    ({"status": "4x"}, "status must be"),
    ({"host": "db"}, "host must be one of"),
    ({"since": "yesterday"}, "not an ISO 8601 instant"),
    ({"limit": 0}, "limit must be between 1 and 1000"),
    ({"limit": "ten"}, "limit must be an integer"),
    ({"after": -1}, "after must not be negative"),
    ({"faulted": "yes"}, "faulted must be true or false"),
    ({"colour": "red"}, "unknown query parameter: colour"),
])
def test_bad_queries_are_refused(app, params, words):
    answer = app.http.get(app.url("/_docrsim/journal"), params=params)
    assert answer.status_code == 422 and words in answer.json()["message"]


def test_clearing_forgets_earlier_requests_but_numbers_go_on(app):
    app.http.get(app.url(BASE))
    last = entries(app)[-1]["seq"]
    assert app.http.delete(app.url("/_docrsim/journal")).status_code == 204
    assert entries(app, include_control="true") == []  # the clearing call arrived before it cleared
    app.http.get(app.url(BASE))
    assert [e["seq"] > last for e in entries(app)] == [True]


def test_reset_clears_the_journal_and_the_faults(app):
    app.http.post(app.url("/_docrsim/faults"), json={"status": 503, "operation_id": "registries_list"})
    app.http.get(app.url(BASE))
    assert app.http.get(app.url("/v2/registries")).status_code == 503
    assert len(entries(app)) == 2
    assert app.http.post(app.url("/_docrsim/reset")).status_code == 204
    assert entries(app, include_control="true") == []
    assert app.http.get(app.url("/_docrsim/faults")).json() == {"faults": []}
    assert app.http.get(app.url("/v2/registries")).status_code == 200
    assert [e["seq"] for e in entries(app)] == [3]  # a new world numbers from 1; two control reads came first


# -- the journal itself -----------------------------------------------------------------------------

START = datetime(2026, 1, 1, tzinfo=timezone.utc)


def _entry(seq: int, **fields) -> Entry:
    values = dict(seq=seq, at=START + timedelta(seconds=seq), host="api", method="GET", path="/v2/registries",
                  query="", operation_id="registries_list", control=False, status=200, request_id=None, fault=None)
    return Entry(**{**values, **fields})


def test_overlapping_requests_are_listed_in_arrival_order():
    book = Journal()
    first, second = book.open(), book.open()
    book.write(_entry(second))
    book.write(_entry(first))  # the slower request, answered last
    assert [e.seq for e in book.select(Query())[0]] == [1, 2]


def test_the_journal_keeps_the_latest_entries_and_counts_the_rest():
    book = Journal(capacity=3)
    for _ in range(5):
        book.write(_entry(book.open()))
    assert [e.seq for e in book.select(Query())[0]] == [3, 4, 5] and book.dropped == 2
    book.clear()
    assert book.select(Query()) == ([], None) and book.dropped == 0


def test_a_query_checks_its_values():
    with pytest.raises(Invalid):
        Query(statuses=("600",))
    assert Query(statuses=("5xx",)).wants(_entry(1, status=503))
    assert not Query(statuses=("5xx",)).wants(_entry(1, status=429))
