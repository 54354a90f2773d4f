"""Shipped scenarios by name and scenario files, wherever a scenario is taken: ``serve
--fixture``, ``docrsim fixture list/validate/load`` (run as real subprocesses against a live
docrsim) and the control API, in JSON or YAML."""

from __future__ import annotations

import json
import socket
import subprocess

import pytest
import requests

from tests.served import DOCRSIM, ENV, ROOT, WAIT, ServedProcess

SEVEN = "tests/scenarios/bad/seven-mistakes.yaml"
SHIPPED = ", ".join(sorted(p.stem for p in (ROOT / "fixtures").glob("*.yaml")))
SEVEN_PROBLEMS = [
    f"{SEVEN}:6: registries[0]: Additional properties are not allowed ('colour' was unexpected)",
    f"{SEVEN}:10: registries[0].repositories[0].manifests[0].tags: 'v1' is not of type 'array'",
    f"{SEVEN}:11: registries[0].repositories[0].manifests[0].layers[0].size: '12 MB' is not of type 'integer'",
    f"{SEVEN}:14: registries[1].region: unknown region 'mars1': expected one of nyc3, sfo3, ams3, sgp1, fra1, "
    "sfo2, blr1, syd1",
    f"{SEVEN}:19: registries[1].repositories[0].manifests[1].tags[0]: tag 'v1' is already given to "
    "registries[1].repositories[0].manifests[0]",
    f"{SEVEN}:20: registries[1].repositories[1].name: repository 'api' appears twice in this registry",
    f"{SEVEN}:23: registries[1].repositories[2].manifests[0].subject: no earlier manifest in this repository "
    "has id 'nothing'",
]


def docrsim(*args, timeout=WAIT) -> subprocess.CompletedProcess:
    return subprocess.run([*DOCRSIM, *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout, env=ENV)


@pytest.fixture
def served():
    """A docrsim started empty; yields its API host's URL."""
    process = ServedProcess("--clock", "manual")
    try:
        yield process.wait_ready()["API host"]
    finally:
        process.kill()


def registries(api: str) -> list[str]:
    return [r["name"] for r in requests.get(f"{api}/_docrsim/state", timeout=WAIT).json()["registries"]]


def a_free_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}"


# -- serve --fixture NAME|FILE ----------------------------------------------------------------------

def test_serve_takes_a_shipped_scenario_by_name():
    process = ServedProcess("--clock", "manual", "--fixture", "small-app", "--fixture", "fixtures/two-registries.yaml")
    try:
        api = process.wait_ready()["API host"]
        assert registries(api) == ["acme", "prod", "staging"]
        # A reset goes back to both, the named one included.
        requests.post(f"{api}/_docrsim/fixtures?name=multi-arch", timeout=WAIT)
        assert requests.post(f"{api}/_docrsim/reset", timeout=WAIT).status_code == 204
        assert registries(api) == ["acme", "prod", "staging"]
    finally:
        process.kill()


def test_serve_refuses_an_unknown_name_listing_the_shipped_ones():
    result = docrsim("serve", "--api-port", "0", "--registry-port", "0", "--fixture", "smal-app")
    assert result.returncode == 2
    assert result.stderr.splitlines() == [f"docrsim: smal-app: neither a file nor a shipped scenario (shipped: {SHIPPED})"]


def test_serve_lists_every_problem_of_a_bad_scenario_with_its_line():
    result = docrsim("serve", "--api-port", "0", "--registry-port", "0", "--fixture", SEVEN)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [f"docrsim: {line}" for line in SEVEN_PROBLEMS]
    assert "docrsim ready" not in result.stdout


# -- fixture list / validate ------------------------------------------------------------------------

def test_fixture_list_names_describes_and_sizes_each_shipped_scenario():
    result = docrsim("fixture", "list")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["NAME", "REGISTRIES", "MANIFESTS", "DESCRIPTION"]
    rows = {line.split()[0]: line for line in lines[1:]}
    assert sorted(rows) == sorted(p.stem for p in (ROOT / "fixtures").glob("*.yaml"))
    assert rows["small-app"].split(None, 3) == [
        "small-app", "1", "5", "Small app with tags, untagged leftovers, a referrer and a dangling blob."]
    assert rows["synthetic-1m"].split()[1:3] == ["1", "100,000"]
    assert rows["two-registries"].split()[1] == "2"


def test_validate_reports_schema_and_rule_problems_in_one_pass():
    result = docrsim("fixture", "validate", SEVEN)
    assert result.returncode == 1
    assert result.stdout.splitlines() == SEVEN_PROBLEMS


def test_validate_json_gives_each_problem_its_line():
    result = docrsim("fixture", "validate", "--json", SEVEN, "small-app")
    assert result.returncode == 1
    bad, good = (json.loads(line) for line in result.stdout.splitlines())
    assert [(p["line"], f"{SEVEN}:{p['line']}: {p['problem']}") for p in bad["problems"]] == [
        (int(line.split(":")[1]), line) for line in SEVEN_PROBLEMS]
    assert good == {"file": "small-app", "valid": True, "problems": []}


def test_validate_takes_names():
    result = docrsim("fixture", "validate", "small-app", "nope")
    assert result.returncode == 1
    assert result.stdout.splitlines()[0] == "small-app: ok"
    assert result.stdout.splitlines()[1] == f"nope: neither a file nor a shipped scenario (shipped: {SHIPPED})"


# -- fixture load -----------------------------------------------------------------------------------

def test_fixture_load_adds_then_replaces(served):
    added = docrsim("fixture", "load", "small-app", "--url", served)
    assert added.returncode == 0, added.stderr
    assert added.stdout.splitlines() == [f"small-app loaded into {served}: registries acme"]
    assert registries(served) == ["acme"]

    again = docrsim("fixture", "load", "fixtures/small-app.yaml", "--url", served)
    assert again.returncode == 1
    assert again.stderr.splitlines() == [
        f"docrsim: {served} refused fixtures/small-app.yaml: registries[0].name: registry 'acme' already exists"]

    replaced = docrsim("fixture", "load", "two-registries", "--replace", "--url", served)
    assert replaced.returncode == 0, replaced.stderr
    assert replaced.stdout.splitlines() == [f"world of {served} replaced with two-registries"]
    assert registries(served) == ["prod", "staging"]


def test_fixture_load_lists_every_problem_and_changes_nothing(served):
    result = docrsim("fixture", "load", SEVEN, "--url", served)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [f"docrsim: {line}" for line in SEVEN_PROBLEMS]
    assert registries(served) == []


def test_fixture_load_names_the_rule_a_running_docrsim_refuses_with_its_line(served):
    result = docrsim("fixture", "load", "tests/scenarios/bad/unknown-region.yaml", "--url", served)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "docrsim: tests/scenarios/bad/unknown-region.yaml:4: registries[0].region: unknown region 'mars1': "
        "expected one of nyc3, sfo3, ams3, sgp1, fra1, sfo2, blr1, syd1"]


def test_fixture_load_without_a_docrsim():
    url = a_free_url()
    result = docrsim("fixture", "load", "small-app", "--url", url)
    assert result.returncode == 3
    assert result.stderr.startswith(f"docrsim: cannot reach docrsim at {url}: ")


def test_fixture_load_of_an_unknown_name():
    result = docrsim("fixture", "load", "nope", "--url", a_free_url())
    assert result.returncode == 2
    assert result.stderr.splitlines() == [f"docrsim: nope: neither a file nor a shipped scenario (shipped: {SHIPPED})"]


# -- the control API in YAML and JSON ---------------------------------------------------------------

YAML = {"Content-Type": "application/yaml"}


def test_the_control_api_reads_the_yaml_scenarios_are_written_in(served):
    text = (ROOT / "fixtures" / "small-app.yaml").read_text()
    loaded = requests.post(f"{served}/_docrsim/fixtures", data=text, headers=YAML, timeout=WAIT)
    assert loaded.status_code == 201 and loaded.json() == {"registries": ["acme"]}

    reset = requests.post(f"{served}/_docrsim/reset", data="fixture: two-registries\n", headers=YAML, timeout=WAIT)
    assert reset.status_code == 204
    assert registries(served) == ["prod", "staging"]

    requests.post(f"{served}/_docrsim/reset", timeout=WAIT)  # back to empty, as it started
    by_name = requests.post(f"{served}/_docrsim/fixtures?name=small-app", timeout=WAIT)
    assert by_name.status_code == 201 and registries(served) == ["acme"]

    clock = requests.post(f"{served}/_docrsim/clock", data="advance_seconds: 60\n", headers=YAML, timeout=WAIT)
    assert clock.status_code == 200


def test_a_name_and_a_body_are_refused_together_even_chunked(served):
    before = registries(served)
    for body in ("registries: []\n", iter([b"registries: []\n"])):  # with a length, then chunked
        both = requests.post(f"{served}/_docrsim/fixtures?name=small-app", data=body, headers=YAML, timeout=WAIT)
        assert both.status_code == 422 and "not both" in both.json()["message"]
    assert registries(served) == before


def test_the_control_api_refuses_other_types_with_415(served):
    answer = requests.post(f"{served}/_docrsim/fixtures", data="registries: []",
                           headers={"Content-Type": "text/plain"}, timeout=WAIT)
    assert answer.status_code == 415
    assert answer.json()["id"] == "unsupported_media_type"
    assert answer.json()["message"] == ("Content-Type 'text/plain' is not one docrsim reads here: "
                                        "send application/json or application/yaml")


def test_yaml_sent_without_its_type_is_told_how_to_send_it(served):
    text = (ROOT / "fixtures" / "small-app.yaml").read_text()
    answer = requests.post(f"{served}/_docrsim/fixtures", data=text, timeout=WAIT)  # no Content-Type
    assert answer.status_code == 400
    assert answer.json()["message"].endswith("(a YAML body needs Content-Type: application/yaml)")


def test_bad_yaml_is_400_naming_its_line(served):
    answer = requests.post(f"{served}/_docrsim/fixtures", data="registries: [\n  - name: acme\n", headers=YAML,
                           timeout=WAIT)
    assert answer.status_code == 400
    assert answer.json()["message"].startswith("error parsing request body: line 2, column 3: ")


def test_a_scenario_with_several_problems_lists_them_all_in_the_answer(served):
    text = (ROOT / SEVEN).read_text().replace("colour: blue", "").replace('"12 MB"', "12").replace("tags: v1", "tags: [v1]")
    answer = requests.post(f"{served}/_docrsim/fixtures", data=text, headers=YAML, timeout=WAIT)
    assert answer.status_code == 422
    body = answer.json()
    assert body["message"].endswith("(and 3 more problems)")
    assert [p.split(":")[0] for p in body["problems"]] == [
        "registries[1].region", "registries[1].repositories[0].manifests[1].tags[0]",
        "registries[1].repositories[1].name", "registries[1].repositories[2].manifests[0].subject"]


def test_a_reset_to_an_unknown_name(served):
    answer = requests.post(f"{served}/_docrsim/reset", json={"fixture": "nope"}, timeout=WAIT)
    assert answer.status_code == 422
    assert answer.json()["message"] == f"no shipped scenario named 'nope' (shipped: {SHIPPED})"


def test_fixture_load_of_a_name_the_world_cannot_take(served):
    assert docrsim("fixture", "load", "small-app", "--url", served).returncode == 0
    result = docrsim("fixture", "load", "starter-at-limit", "--url", served)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "docrsim: starter-at-limit: registries: the starter tier allows 1 registry, this would make 2"]
    assert registries(served) == ["acme"]
