"""What starting and resetting docrsim costs, checked by what runs rather than by timing it
(the figures are in benchmarks/): no scenario parser or schema library for a Simulator that
needs none, and no schema check again for scenarios already checked."""

from __future__ import annotations

import subprocess
import sys

from docrsim import Simulator
from docrsim.scenarios import library, loader


def test_an_empty_simulator_imports_neither_yaml_nor_jsonschema():
    script = ("import sys\nfrom docrsim import Simulator\n"
              "with Simulator() as sim:\n    sim.reset()\n"
              "print(sorted(m for m in ('yaml', 'jsonschema') if m in sys.modules))")
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "[]"


def test_reset_does_not_check_the_start_up_scenarios_again(monkeypatch):
    library.documents("multi-arch")  # a shipped scenario is read and checked once per process
    with Simulator(fixture="small-app") as sim:
        checks = []
        monkeypatch.setattr(loader, "validate", lambda document: checks.append(document))
        monkeypatch.setattr(library, "validate", lambda document: checks.append(document))
        sim.reset()
        sim.reset("multi-arch")
        sim.reset({"registries": [{"name": "given"}]})  # a document given here is checked
        assert checks == [{"registries": [{"name": "given"}]}]


def test_a_shipped_scenario_is_handed_out_as_a_copy():
    first = library.documents("small-app")[0]
    first["registries"].clear()
    assert library.documents("small-app")[0]["registries"]


def test_starting_compiles_no_url_builder_and_urls_still_build(monkeypatch):
    from flask import url_for
    from werkzeug.routing import Rule

    compiled = []
    original = Rule._compile_builder
    monkeypatch.setattr(Rule, "_compile_builder",
                        lambda rule, append_unknown=True: compiled.append(rule.rule) or original(rule, append_unknown))
    with Simulator() as sim:
        assert compiled == []
        app = sim._server.api_app
        with app.test_request_context():
            assert url_for("panel.page", registry="r") == "/?registry=r"
        assert compiled == ["/"]
