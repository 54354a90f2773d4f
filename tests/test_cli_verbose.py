"""``docrsim serve --verbose``: a line per request in docrsim's own terms (simulated time,
host, method, path, operation id, status, duration), plain text when not on a terminal, or
JSON lines; nothing per request without it."""

from __future__ import annotations

import io
import json
import re
import signal
from datetime import datetime, timezone

import requests

from docrsim.core.journal import Entry
from docrsim.http.requestlog import RequestLog
from tests.served import WAIT, ServedProcess

AUTH = {"Authorization": "Bearer dop_v1_log"}
TEXT_LINE = re.compile(r"^(?P<time>\S+) (?P<host>api|registry) +(?P<method>[A-Z]+) +(?P<target>\S+) "
                       r"(?P<operation>\S+) (?P<status>\d{3}) (?P<ms>\d+\.\d)ms(?: fault=(?P<fault>\S+))?$")


def requests_then_stderr(*args) -> tuple[str, str]:
    """Serve with ``args``, make a few requests, stop; the API host's URL and what went to stderr."""
    served = ServedProcess("--clock", "manual", "--fixture", "small-app", *args)
    try:
        urls = served.wait_ready()
        api, registry = urls["API host"], urls["registry host"]
        requests.post(f"{api}/_docrsim/faults", json={"operation_id": "delete_repositoryTag", "status": 503,
                                                      "times": 1}, timeout=WAIT)
        requests.post(f"{api}/_docrsim/clock", json={"advance_seconds": 90}, timeout=WAIT)
        requests.get(f"{api}/v2/registries/acme/repositoriesV2?per_page=1", headers=AUTH, timeout=WAIT)
        requests.delete(f"{api}/v2/registry/acme/repositories/web/tags/v1", headers=AUTH, timeout=WAIT)
        requests.get(f"{registry}/v2/", timeout=WAIT)
        served.proc.send_signal(signal.SIGTERM)
        served.proc.wait(timeout=WAIT)
        return api, served.proc.stderr.read()
    finally:
        served.kill()


def test_text_lines_in_docrsims_terms_without_colour_off_a_terminal():
    _, stderr = requests_then_stderr("--verbose")
    assert "\033[" not in stderr  # no colour codes in a file or a pipe
    lines = [TEXT_LINE.match(line) for line in stderr.splitlines()]
    assert all(lines), stderr
    seen = [(m["time"], m["host"], m["method"], m["target"], m["operation"], m["status"], m["fault"]) for m in lines]
    assert seen == [
        ("2026-01-01T00:00:00Z", "api", "POST", "/_docrsim/faults", "control_add_fault", "201", None),
        ("2026-01-01T00:00:00Z", "api", "POST", "/_docrsim/clock", "control_set_clock", "200", None),
        ("2026-01-01T00:01:30Z", "api", "GET", "/v2/registries/acme/repositoriesV2?per_page=1",
         "registries_list_repositoriesV2", "200", None),
        ("2026-01-01T00:01:30Z", "api", "DELETE", "/v2/registry/acme/repositories/web/tags/v1",
         "registry_delete_repositoryTag", "503", "fault-1"),
        ("2026-01-01T00:01:30Z", "registry", "GET", "/v2/", "oci_version_check", "401", None),
    ]


def test_json_lines_are_journal_entries_with_their_duration():
    _, stderr = requests_then_stderr("--verbose", "--log-format", "json")
    entries = [json.loads(line) for line in stderr.splitlines()]
    assert [e["operation_id"] for e in entries] == [
        "control_add_fault", "control_set_clock", "registries_list_repositoriesV2", "registry_delete_repositoryTag",
        "oci_version_check"]
    deleted = entries[3]
    assert deleted["time"] == "2026-01-01T00:01:30Z" and deleted["status"] == 503
    assert deleted["fault"] == {"id": "fault-1", "effect": "status"}
    assert all(isinstance(e["duration_ms"], float) and e["duration_ms"] >= 0 for e in entries)


def test_nothing_per_request_without_verbose():
    _, stderr = requests_then_stderr()
    assert stderr == ""


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_colour_marks_the_status_on_a_terminal_only():
    entry = Entry(seq=1, at=datetime(2026, 1, 1, tzinfo=timezone.utc), host="api", method="GET", path="/v2/account",
                  query="", operation_id=None, control=False, status=404, request_id="r", fault=None)
    on_terminal, in_file = _Terminal(), io.StringIO()
    RequestLog(on_terminal).write(entry, 0.0012)
    RequestLog(in_file).write(entry, 0.0012)
    assert in_file.getvalue() == "2026-01-01T00:00:00Z api      GET    /v2/account - 404 1.2ms\n"
    assert on_terminal.getvalue() == "2026-01-01T00:00:00Z api      GET    /v2/account - \033[33m404\033[0m 1.2ms\n"


def test_control_characters_of_a_path_never_reach_the_terminal():
    entry = Entry(seq=1, at=datetime(2026, 1, 1, tzinfo=timezone.utc), host="api", method="GET",
                  path="/v2/\x1b[2Jx", query="a=\x07", operation_id=None, control=False, status=404,
                  request_id="r", fault=None)
    written = io.StringIO()
    RequestLog(written).write(entry, 0.001)
    assert written.getvalue() == "2026-01-01T00:00:00Z api      GET    /v2/\\x1b[2Jx?a=\\x07 - 404 1.0ms\n"
