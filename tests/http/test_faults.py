"""Fault rules over real HTTP: error answers on both hosts, delays, matching and counting, and
garbage collection holds, as a client (plain HTTP and pydo) sees them."""

from __future__ import annotations

import time
from datetime import timedelta

import pydo
import pytest
import requests
from azure.core.exceptions import HttpResponseError

from docrsim.core.clock import format_instant
from docrsim.core.gc import GC_TYPES
from tests.clients.pydo_support import pydo_client  # noqa: F401  (fixture)

BASE = "/v2/registries/acme"
TAG_V1 = BASE + "/repositories/web/tags/v1"
BOTH = GC_TYPES[2]


@pytest.fixture
def app(scenario):
    return scenario("small-app")


def add_fault(live, **rule) -> dict:
    answer = live.http.post(live.url("/_docrsim/faults"), json=rule)
    assert answer.status_code == 201, answer.text
    return answer.json()


def faults(live) -> list[dict]:
    answer = live.http.get(live.url("/_docrsim/faults"))
    assert answer.status_code == 200
    return answer.json()["faults"]


def clock(live, **body) -> str:
    answer = live.http.post(live.url("/_docrsim/clock"), json=body)
    assert answer.status_code == 200, answer.text
    return answer.json()["now"]


def start_gc(live) -> dict:
    answer = live.http.post(live.url(BASE + "/garbage-collection"), json={"type": BOTH})
    assert answer.status_code == 201, answer.text
    return answer.json()["garbage_collection"]


def newest_run(live) -> dict:
    return live.http.get(live.url(BASE + "/garbage-collections")).json()["garbage_collections"][0]


def assert_do_error(answer, status: int, error_id: str, message: str | None = None) -> None:
    assert answer.status_code == status, answer.text
    body = answer.json()
    assert body["id"] == error_id
    assert body["request_id"] == answer.headers["x-request-id"] != ""
    if message is not None:
        assert body["message"] == message


# -- error answers ----------------------------------------------------------------------------------

def test_a_429_storm_then_success(app):
    rule = add_fault(app, operation_id="registries_get", status=429, times=3)
    assert rule == {"id": "fault-1", "operation_id": "registries_get", "status": 429, "retry_after_seconds": 1,
                    "times": 3, "remaining": 3, "hits": 0, "exhausted": False}
    reset_at = str(int(app.sim.now().timestamp()) + 1)
    for _ in range(3):
        answer = app.http.get(app.url(BASE))
        assert_do_error(answer, 429, "too_many_requests", "API rate limit exceeded.")
        assert answer.headers["ratelimit-limit"] == "5000"
        assert answer.headers["ratelimit-remaining"] == "0"
        assert answer.headers["ratelimit-reset"] == reset_at
        assert answer.headers["retry-after"] == "1"
    answer = app.http.get(app.url(BASE))
    assert answer.status_code == 200 and answer.json()["registry"]["name"] == "acme"
    assert "retry-after" not in answer.headers and int(answer.headers["ratelimit-remaining"]) > 0
    assert faults(app) == [{**rule, "remaining": 0, "hits": 3, "exhausted": True}]


def test_retry_after_is_the_rules(app):
    add_fault(app, status=429, retry_after_seconds=30, message="slow down")
    answer = app.http.get(app.url(BASE))
    assert_do_error(answer, 429, "too_many_requests", "slow down")
    assert answer.headers["retry-after"] == "30"
    assert answer.headers["ratelimit-reset"] == str(int(app.sim.now().timestamp()) + 30)


@pytest.mark.parametrize("status, error_id", [(500, "server_error"), (503, "service_unavailable")])
def test_server_errors_answer_with_the_do_error_body(app, status, error_id):
    add_fault(app, method="POST", path="/v2/registries/*/garbage-collection", status=status)
    answer = app.http.post(app.url(BASE + "/garbage-collection"), json={"type": BOTH})
    assert_do_error(answer, status, error_id)
    assert "retry-after" not in answer.headers
    assert app.http.get(app.url(BASE + "/garbage-collections")).json()["meta"]["total"] == 0  # nothing started
    assert app.http.get(app.url(BASE + "/garbage-collection")).status_code == 404  # GET is not POST


def test_a_fault_by_operation_id_hits_only_that_operation(app):
    add_fault(app, operation_id="registries_delete_repositoryTag", status=500)
    assert app.http.get(app.url(BASE + "/repositories/web/tags")).status_code == 200
    assert_do_error(app.http.delete(app.url(TAG_V1)), 500, "server_error")
    tags = {t["tag"] for t in app.http.get(app.url(BASE + "/repositories/web/tags")).json()["tags"]}
    assert "v1" in tags  # refused before it was served
    # The older family's twin is another operation.
    assert app.http.delete(app.url("/v2/registry/acme/repositories/web/tags/v1")).status_code == 204


def test_a_family_free_operation_name_hits_both_families(app):
    rule = add_fault(app, operation_id="delete_repositoryTag", status=500, times=2)
    assert rule["operation_id"] == "delete_repositoryTag"
    assert app.http.get(app.url(BASE + "/repositories/web/tags")).status_code == 200
    assert_do_error(app.http.delete(app.url(TAG_V1)), 500, "server_error")
    assert_do_error(app.http.delete(app.url("/v2/registry/acme/repositories/web/tags/v1")), 500, "server_error")
    journal = app.http.get(app.url("/_docrsim/journal"), params={"faulted": "true"}).json()["entries"]
    assert [e["operation_id"] for e in journal] == ["registries_delete_repositoryTag", "registry_delete_repositoryTag"]
    # The journal takes the family-free name too; a full name still means one family.
    for name, expected in (("delete_repositoryTag", 2), ("registry_delete_repositoryTag", 1)):
        listed = app.http.get(app.url("/_docrsim/journal"), params={"operation_id": name}).json()["entries"]
        assert len(listed) == expected
    assert faults(app)[0]["exhausted"] is True


def test_an_unknown_operation_name_suggests_the_real_ones(app):
    answer = app.http.post(app.url("/_docrsim/faults"), json={"operation_id": "delete_repository_tag", "status": 500})
    assert answer.status_code == 422
    assert "; did you mean 'delete_repositoryTag' or " in answer.json()["message"]


def test_paths_match_as_sent_with_a_glob(app):
    add_fault(app, path="/v2/registries/acme/repositories/tools%2F*", status=503)
    assert_do_error(app.http.get(app.url(BASE + "/repositories/tools%2Fmigrate/tags")), 503, "service_unavailable")
    assert app.http.get(app.url(BASE + "/repositories/web/tags")).status_code == 200


def test_a_registry_host_fault_answers_with_the_oci_envelope(app):
    add_fault(app, host="registry", operation_id="oci_tags_list", status=429, retry_after_seconds=2, times=1)
    answer = requests.get(app.registry_url + "/v2/acme/web/tags/list")
    assert answer.status_code == 429
    assert answer.json() == {"errors": [{"code": "TOOMANYREQUESTS", "message": "too many requests", "detail": None}]}
    assert answer.headers["Retry-After"] == "2"
    assert answer.headers["Docker-Distribution-API-Version"] == "registry/2.0"
    # Used up: the registry host's own answer (a token is needed) comes back.
    assert requests.get(app.registry_url + "/v2/acme/web/tags/list").status_code == 401
    assert app.http.get(app.url(BASE)).status_code == 200  # the API host was never concerned


@pytest.mark.parametrize("status, code", [(500, "UNKNOWN"), (503, "UNAVAILABLE")])
def test_registry_host_server_errors(app, status, code):
    add_fault(app, host="registry", status=status)
    answer = requests.get(app.registry_url + "/v2/")
    assert answer.status_code == status and answer.json()["errors"][0]["code"] == code
    assert "Retry-After" not in answer.headers
    assert app.http.get(app.url(BASE)).status_code == 200


def test_a_faulted_upload_is_read_then_refused(app):
    add_fault(app, operation_id="oci_blob_upload", status=503)
    answer = requests.post(app.registry_url + "/v2/acme/web/blobs/uploads/?digest=sha256:" + "0" * 64,
                           data=b"x" * 300_000)
    assert answer.status_code == 503 and answer.json()["errors"][0]["code"] == "UNAVAILABLE"


def test_the_oldest_live_rule_acts_and_no_other(app):
    first = add_fault(app, operation_id="registries_get", status=503, times=1)
    second = add_fault(app, host="api", status=500, times=2)
    assert_do_error(app.http.get(app.url(BASE)), 503, "service_unavailable")
    assert_do_error(app.http.get(app.url(BASE)), 500, "server_error")
    assert_do_error(app.http.get(app.url("/v2/registries")), 500, "server_error")
    assert app.http.get(app.url(BASE)).status_code == 200
    assert [(f["id"], f["hits"], f["exhausted"]) for f in faults(app)] == [(first["id"], 1, True), (second["id"], 2, True)]


def test_control_calls_are_never_faulted(app):
    add_fault(app, status=503)  # matches every request the rules see
    assert app.http.get(app.url("/_docrsim/clock")).status_code == 200
    assert app.http.get(app.url("/openapi.json")).status_code == 200
    assert app.http.get(app.url("/")).status_code == 200  # the control panel's page
    assert app.http.get(app.url("/_docrsim/journal")).json()["entries"] == []  # none of them journaled
    assert_do_error(app.http.get(app.url("/v2/registries")), 503, "service_unavailable")
    assert_do_error(app.http.get(app.url("/v2/registry/auth")), 503, "service_unavailable")


def test_a_delay_waits_in_real_time_then_serves(app):
    add_fault(app, operation_id="registries_get", delay_ms=300, times=1)
    before = app.sim.now()
    started = time.monotonic()
    answer = app.http.get(app.url(BASE))
    assert time.monotonic() - started >= 0.3
    assert answer.status_code == 200 and app.sim.now() == before  # simulated time did not pass
    started = time.monotonic()
    assert app.http.get(app.url(BASE)).status_code == 200
    assert time.monotonic() - started < 0.3
    assert faults(app)[0]["exhausted"] is True


# -- managing rules ---------------------------------------------------------------------------------

@pytest.mark.parametrize("rule, words", [
    ({}, "exactly one effect"),
    ({"status": 500, "delay_ms": 10}, "exactly one effect"),
    ({"status": 404}, "status must be one of 429, 500, 503"),
    ({"status": "500"}, "status must be an integer"),
    ({"status": 500, "times": 0}, "times must be at least 1"),
    ({"delay_ms": 0}, "delay_ms must be between 1 and 5000"),
    ({"delay_ms": 60_000}, "delay_ms must be between 1 and 5000"),
    ({"status": 500, "retry_after_seconds": 3}, "only with status 429"),
    ({"delay_ms": 5, "message": "hi"}, "only with 'status'"),
    ({"status": 500, "host": "db"}, "host must be one of"),
    ({"status": 500, "path": "v2/*"}, "path must be a glob"),
    ({"status": 500, "method": ""}, "method must be a non-empty string"),
    ({"status": 500, "operation_id": "registries_delete_repository_tag"}, "no operation 'registries_delete_repository_tag'"),
    ({"status": 500, "operation_id": "control_set_clock"}, "never faulted"),
    ({"status": 500, "when": "always"}, "unknown field: when"),
    ({"gc_hold": {"registry": "acme", "status": "scanning manifests"}, "times": 1}, "drop times"),
    ({"gc_hold": {"registry": "acme"}}, "gc_hold must be an object"),
    ({"gc_hold": {"registry": "acme", "status": "succeeded"}}, "cannot hold a garbage collection in 'succeeded'"),
])
def test_bad_rules_are_refused(app, rule, words):
    answer = app.http.post(app.url("/_docrsim/faults"), json=rule)
    assert answer.status_code == 422, answer.text
    assert answer.json()["id"] == "unprocessable_entity" and words in answer.json()["message"]
    assert faults(app) == []


def test_rules_can_be_deleted_one_by_one_or_all(app):
    first = add_fault(app, operation_id="registries_get", status=500)
    second = add_fault(app, operation_id="registries_list", status=500)
    answer = app.http.post(app.url("/_docrsim/faults"), data="{oops", headers={"Content-Type": "application/json"})
    assert answer.status_code == 400
    assert app.http.delete(app.url(f"/_docrsim/faults/{first['id']}")).status_code == 204
    assert_do_error(app.http.delete(app.url(f"/_docrsim/faults/{first['id']}")), 404, "not_found")
    assert [f["id"] for f in faults(app)] == [second["id"]]
    assert app.http.get(app.url(BASE)).status_code == 200
    assert add_fault(app, status=503)["id"] == "fault-3"  # ids are never reused within a world
    assert app.http.delete(app.url("/_docrsim/faults")).status_code == 204
    assert faults(app) == []
    assert app.http.get(app.url("/v2/registries")).status_code == 200


def test_the_gc_fault_endpoint_still_works(app):
    answer = app.http.post(app.url("/_docrsim/faults/gc"), json={"registry": "acme", "fail_in": "scanning manifests"})
    assert answer.status_code == 204
    start_gc(app)
    clock(app, until_idle=True)
    assert newest_run(app)["status"] == "failed"
    assert faults(app) == []  # a separate, older mechanism


# -- garbage collection holds -----------------------------------------------------------------------

def test_a_hold_in_waiting_for_delete_requests_until_released(app):
    preview = app.http.get(app.url("/_docrsim/registries/acme/garbage")).json()[BOTH]
    hold = add_fault(app, gc_hold={"registry": "acme", "status": "waiting for delete requests"})
    assert hold == {"id": "fault-1", "gc_hold": {"registry": "acme", "status": "waiting for delete requests"}}
    run = start_gc(app)
    assert clock(app, until_idle=True) < "2026-01-01T00:01:00Z"  # stops where only held runs are left
    held = app.http.get(app.url(BASE + "/garbage-collection")).json()["garbage_collection"]
    assert held["uuid"] == run["uuid"] and held["status"] == "waiting for delete requests"
    assert (held["blobs_deleted"], held["freed_bytes"]) == (0, 0)

    clock(app, advance_seconds=3600)  # time passing does not move a held run
    assert app.http.get(app.url(BASE + "/garbage-collection")).json()["garbage_collection"] == held
    assert app.http.get(app.url("/v2/registry/acme/garbage-collection")).json()["garbage_collection"]["status"] \
        == "waiting for delete requests"
    assert app.http.get(app.url(BASE)).json()["registry"]["read_only"] is True
    assert app.http.delete(app.url(TAG_V1)).status_code == 409

    released_at = format_instant(app.sim.now())
    assert app.http.delete(app.url(f"/_docrsim/faults/{hold['id']}")).status_code == 204
    going = app.http.get(app.url(BASE + "/garbage-collection")).json()["garbage_collection"]
    assert (going["status"], going["updated_at"]) == ("deleting unreferenced blobs", released_at)
    clock(app, until_idle=True)
    done = newest_run(app)
    assert done["status"] == "succeeded" and done["updated_at"] >= released_at
    assert (done["blobs_deleted"], done["freed_bytes"]) == (preview["count"], preview["bytes"])


def _slow_rates(live):
    answer = live.http.put(live.url("/_docrsim/gc-rates"), json={"scan_manifests_per_second": 1, "delete_objects_per_second": 1})
    assert answer.status_code == 200


def test_a_released_run_goes_on_exactly_as_it_stood(app):
    # Unheld: how long a run takes and what it deletes.
    _slow_rates(app)
    started = app.sim.now()
    start_gc(app)
    clock(app, until_idle=True)
    reference = newest_run(app)
    duration = app.sim.now() - started

    assert app.http.post(app.url("/_docrsim/reset")).status_code == 204
    _slow_rates(app)
    started = app.sim.now()
    start_gc(app)
    clock(app, advance_seconds=8.5)  # 1 s requested, 5 s scanning, then one object a second
    hold = add_fault(app, gc_hold={"registry": "acme", "status": "deleting unreferenced blobs"})
    midway = newest_run(app)
    assert midway["status"] == "deleting unreferenced blobs" and 0 < midway["blobs_deleted"] < reference["blobs_deleted"]
    clock(app, advance_seconds=100)
    assert newest_run(app) == midway
    app.http.delete(app.url(f"/_docrsim/faults/{hold['id']}"))
    clock(app, until_idle=True)
    done = newest_run(app)
    assert (done["status"], done["blobs_deleted"], done["freed_bytes"]) == \
        ("succeeded", reference["blobs_deleted"], reference["freed_bytes"])
    assert app.sim.now() - started == duration + timedelta(seconds=100)


def test_a_run_held_as_deletion_begins_with_nothing_to_delete_cancels(app):
    """An empty plan normally ends the moment deletion begins; held there, the run has no step
    in progress, and a cancel ends it at once (it was a 500 that left the run unheld)."""
    start_gc(app)
    clock(app, until_idle=True)  # the first run collects everything there is
    hold = add_fault(app, gc_hold={"registry": "acme", "status": "deleting unreferenced blobs"})
    empty = start_gc(app)
    clock(app, until_idle=True)  # to where the hold stops it
    assert newest_run(app)["status"] == "deleting unreferenced blobs"
    clock(app, advance_seconds=60)
    cancelled = app.http.put(app.url(BASE + f"/garbage-collection/{empty['uuid']}"), json={"cancel": True})
    assert cancelled.status_code == 200, cancelled.text
    clock(app, until_idle=True)
    done = newest_run(app)
    assert (done["uuid"], done["status"], done["blobs_deleted"], done["freed_bytes"]) == \
        (empty["uuid"], "cancelled", 0, 0)
    app.http.delete(app.url(f"/_docrsim/faults/{hold['id']}"))


def test_a_hold_waits_for_the_next_run_and_holds_every_run(app):
    add_fault(app, gc_hold={"registry": "acme", "status": "requested"})
    first = start_gc(app)
    clock(app, advance_seconds=600)
    assert newest_run(app) == first  # still requested, updated_at untouched
    # A held run can still be cancelled; the hold stays for the next one.
    cancelled = app.http.put(app.url(BASE + f"/garbage-collection/{first['uuid']}"), json={"cancel": True})
    assert cancelled.status_code == 200 and cancelled.json()["garbage_collection"]["status"] == "cancelling"
    clock(app, until_idle=True)
    assert newest_run(app)["status"] == "cancelled"
    second = start_gc(app)
    clock(app, advance_seconds=600)
    assert newest_run(app)["uuid"] == second["uuid"] and newest_run(app)["status"] == "requested"


def test_a_run_past_the_held_status_is_left_alone(app):
    start_gc(app)
    clock(app, advance_seconds=1)  # scanning
    assert newest_run(app)["status"] == "scanning manifests"
    add_fault(app, gc_hold={"registry": "acme", "status": "requested"})
    with app.sim.transaction():
        assert app.sim.gc.idle_at() is not None  # nothing holds this run: its end is known
    clock(app, until_idle=True)
    assert newest_run(app)["status"] == "succeeded"


def test_one_hold_per_registry_and_only_for_one_that_exists(app):
    add_fault(app, gc_hold={"registry": "acme", "status": "requested"})
    again = app.http.post(app.url("/_docrsim/faults"), json={"gc_hold": {"registry": "acme", "status": "scanning manifests"}})
    assert_do_error(again, 409, "conflict")
    missing = app.http.post(app.url("/_docrsim/faults"), json={"gc_hold": {"registry": "nope", "status": "requested"}})
    assert_do_error(missing, 404, "not_found")
    assert len(faults(app)) == 1


def test_clearing_or_resetting_releases_holds(app):
    add_fault(app, gc_hold={"registry": "acme", "status": "scanning manifests"})
    start_gc(app)
    clock(app, advance_seconds=60)
    assert newest_run(app)["status"] == "scanning manifests"
    assert app.http.delete(app.url("/_docrsim/faults")).status_code == 204
    clock(app, until_idle=True)
    assert newest_run(app)["status"] == "succeeded"

    add_fault(app, gc_hold={"registry": "acme", "status": "requested"})
    add_fault(app, status=503)
    assert app.http.post(app.url("/_docrsim/reset")).status_code == 204
    assert faults(app) == []
    start_gc(app)
    clock(app, until_idle=True)
    assert newest_run(app)["status"] == "succeeded"


# -- pydo -------------------------------------------------------------------------------------------

def test_pydo_sees_a_429_storm(app, pydo_client):  # noqa: F811  (fixture)
    add_fault(app, operation_id="registries_list_repositoriesV2", status=429, retry_after_seconds=5, times=2)
    client = pydo_client(app)
    for _ in range(2):
        with pytest.raises(HttpResponseError) as refused:  # pydo's spec lists no 429 for it
            client.registries.list_repositories_v2("acme")
        answer = refused.value.response
        assert refused.value.status_code == 429 and answer.json()["id"] == "too_many_requests"
        assert answer.headers["retry-after"] == "5" and answer.headers["ratelimit-remaining"] == "0"
    listed = client.registries.list_repositories_v2("acme")
    assert [r["name"] for r in listed["repositories"]] == ["tools/migrate", "web"]
    assert [(seen.operation_id, seen.status) for seen in client.seen] == \
        [("registries_list_repositoriesV2", 429)] * 2 + [("registries_list_repositoriesV2", 200)]


def test_pydo_with_retries_rides_out_the_storm(app):
    add_fault(app, operation_id="registries_get", status=429, retry_after_seconds=0, times=2)
    client = pydo.Client(token="dop_v1_retrying", endpoint=app.api_url, retry_total=3, retry_backoff_factor=0)
    try:
        assert client.registries.get("acme", enforce_https=False)["registry"]["name"] == "acme"
    finally:
        client.close()
    journal = app.http.get(app.url("/_docrsim/journal"), params={"operation_id": "registries_get"}).json()
    assert [e["status"] for e in journal["entries"]] == [429, 429, 200]
