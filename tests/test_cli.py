"""The ``docrsim`` command, run as a real subprocess (every wait has a timeout)."""

import json
import queue
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from tests.served import DOCRSIM, ENV, ROOT, ServedProcess

BAD = ROOT / "tests" / "scenarios" / "bad"


def run(*args, timeout=60):
    return subprocess.run([*DOCRSIM, *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout, env=ENV)


class Served(ServedProcess):
    def stop(self, signum) -> int:
        self.proc.send_signal(signum)
        return self.proc.wait(timeout=20)

    def rest_of_output(self) -> list[str]:
        out = []
        while True:
            try:
                line = self.lines.get(timeout=5)
            except queue.Empty:
                return out
            if line is None:
                return out
            out.append(line)

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        for stream in (self.proc.stdout, self.proc.stderr):
            stream.close()


@pytest.fixture
def serve():
    started = []

    def _serve(*args) -> Served:
        served = Served(*args)
        started.append(served)
        return served

    yield _serve
    for served in started:
        served.kill()


# -- serve ------------------------------------------------------------------------------------

@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_serve_prints_urls_answers_and_stops_cleanly(serve, signum):
    served = serve("--clock", "manual", "--fixture", "fixtures/small-app.yaml")
    urls = served.wait_ready()
    api, registry = urls["API host"], urls["registry host"]
    assert api.startswith("http://127.0.0.1:") and registry.startswith("http://127.0.0.1:")
    assert api != registry
    assert "manual clock" in served.seen[-1]

    clock = requests.get(f"{api}/_docrsim/clock", timeout=10)
    assert clock.status_code == 200
    assert clock.json() == {"now": "2026-01-01T00:00:00Z", "kind": "manual"}  # small-app's clock.start
    state = requests.get(f"{api}/_docrsim/state", timeout=10).json()
    assert [r["name"] for r in state["registries"]] == ["acme"]
    moved = requests.post(f"{api}/_docrsim/clock", json={"advance_seconds": 60}, timeout=10)
    assert moved.json()["now"] == "2026-01-01T00:01:00Z"
    # The registry host answers too: the version check challenges for a token.
    ping = requests.get(f"{registry}/v2/", timeout=10)
    assert ping.status_code == 401 and "Bearer realm=" in ping.headers["WWW-Authenticate"]

    assert served.stop(signum) == 0
    assert "docrsim stopped" in served.rest_of_output()
    assert "Traceback" not in served.proc.stderr.read()


def test_start_time_sets_the_manual_clock(serve):
    served = serve("--clock", "manual", "--start-time", "2030-02-03T04:05:06Z")
    api = served.wait_ready()["API host"]
    assert requests.get(f"{api}/_docrsim/clock", timeout=10).json() == {"now": "2030-02-03T04:05:06Z", "kind": "manual"}
    assert served.stop(signal.SIGTERM) == 0


def test_start_time_wins_over_the_fixture_start(serve):
    served = serve("--clock", "manual", "--start-time", "2030-02-03T05:05:06+01:00",
                   "--fixture", "fixtures/small-app.yaml")
    api = served.wait_ready()["API host"]
    assert requests.get(f"{api}/_docrsim/clock", timeout=10).json()["now"] == "2030-02-03T04:05:06Z"
    # ...and a reset goes back there, not to the fixture's own start.
    requests.post(f"{api}/_docrsim/clock", json={"advance_seconds": 3600}, timeout=10)
    assert requests.post(f"{api}/_docrsim/reset", timeout=10).status_code == 204
    assert requests.get(f"{api}/_docrsim/clock", timeout=10).json()["now"] == "2030-02-03T04:05:06Z"
    assert served.stop(signal.SIGTERM) == 0


def assert_one_line_failure(result, *words):
    assert result.returncode != 0
    message = result.stderr.strip()
    assert message and "\n" not in message, result.stderr
    assert "Traceback" not in result.stderr
    for word in words:
        assert word in message
    return message


@pytest.mark.parametrize("args, words", [
    (["--fixture", "tests/scenarios/bad/unknown-region.yaml"], ["registries[0].region"]),
    (["--fixture", "tests/scenarios/bad/unknown-top-level-key.yaml"], ["unknown-top-level-key.yaml", "(top level)"]),
    (["--fixture", "tests/scenarios/bad/invalid-yaml-syntax.yaml"], ["line 8"]),
    (["--fixture", "tests/scenarios/bad/empty.yaml"], ["empty"]),
    (["--fixture", "fixtures/small-app.yaml", "--fixture", "fixtures/small-app.yaml"], ["acme"]),
    (["--fixture", "no/such/file.yaml"], ["cannot read"]),
    (["--clock", "manual", "--start-time", "soon"], ["soon"]),
    (["--clock", "system", "--start-time", "2030-01-01T00:00:00Z"], ["manual"]),
])
def test_serve_refuses_bad_start_up_with_one_line(args, words):
    result = subprocess.run([*DOCRSIM, "serve", "--api-port", "0", "--registry-port", "0", *args], cwd=ROOT,
                            capture_output=True, text=True, timeout=60, env=ENV)
    assert_one_line_failure(result, *words)
    assert "docrsim ready" not in result.stdout


def serve_on_a_busy_port():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = str(busy.getsockname()[1])
        return subprocess.run([*DOCRSIM, "serve", "--api-port", "0", "--registry-port", port], cwd=ROOT,
                              capture_output=True, text=True, timeout=60, env=ENV)


def test_serve_refuses_a_busy_port():
    result = serve_on_a_busy_port()
    assert result.returncode != 0
    assert "Traceback" not in result.stderr and "docrsim ready" not in result.stdout


def test_serve_refuses_a_busy_port_with_one_line():
    assert_one_line_failure(serve_on_a_busy_port(), "cannot listen")


# -- fixture validate -------------------------------------------------------------------------

def test_validate_ok():
    shipped = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "fixtures").glob("*.yaml"))
    result = run("fixture", "validate", *shipped)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines() == [f"{p}: ok" for p in shipped]


def test_validate_failing():
    result = run("fixture", "validate", "fixtures/small-app.yaml", "tests/scenarios/bad/duplicate-tags.yaml")
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert lines[0] == "fixtures/small-app.yaml: ok"
    assert lines[1].startswith("tests/scenarios/bad/duplicate-tags.yaml:9: ")
    assert "registries[0].repositories[0].manifests[2].tags[1]" in lines[1]


def test_validate_json():
    bad = "tests/scenarios/bad/too-many-registries.yaml"
    result = run("fixture", "validate", "--json", "fixtures/multi-arch.yaml", bad)
    assert result.returncode == 1
    first, second = (json.loads(line) for line in result.stdout.splitlines())
    assert first == {"file": "fixtures/multi-arch.yaml", "valid": True, "problems": []}
    assert second["file"] == bad and second["valid"] is False
    (problem,) = second["problems"]
    assert problem["line"] == 4 and problem["problem"].startswith("registries: the basic tier allows 1")


KNOWN_VALIDATE_BUGS = {"impossible-date.yaml"}  # see KNOWN_BUGS in tests/scenarios/test_loader.py


def test_validate_reports_every_bad_catalogue_file_without_a_traceback():
    files = sorted(str(p.relative_to(ROOT)) for p in BAD.glob("*.yaml") if p.name not in KNOWN_VALIDATE_BUGS)
    result = run("fixture", "validate", "--json", *files, timeout=120)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    reports = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["file"] for r in reports] == files
    assert all(r["valid"] is False and r["problems"] for r in reports)


def test_validate_an_impossible_date_without_a_traceback():
    result = run("fixture", "validate", "tests/scenarios/bad/impossible-date.yaml")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "pushed_at" in result.stdout


# -- help -------------------------------------------------------------------------------------

def test_module_help():
    result = run("--help")
    assert result.returncode == 0
    assert "serve" in result.stdout and "fixture" in result.stdout
    serve_help = run("serve", "--help")
    assert serve_help.returncode == 0 and "--api-port" in serve_help.stdout and "--start-time" in serve_help.stdout


def test_console_script_help():
    script = Path(sys.executable).with_name("docrsim")
    if not script.exists():
        pytest.skip("the docrsim console script is not installed next to this interpreter")
    result = subprocess.run([str(script), "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and "serve" in result.stdout
