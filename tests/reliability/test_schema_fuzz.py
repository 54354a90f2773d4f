"""Schema fuzzing: schemathesis generates requests for every operation of our OpenAPI document
(the DO API, the token service and the control API) and checks each answer against it.

Each example starts from the same world (see ``worlds.fuzz_world``: the small-app scenario
beside a second registry with an active garbage collection, a docker credential, and one fault
rule for a path no request has, so that deleting a fault finds one), and path parameters name
what that world holds half of the time, so the generated requests meet real registries,
repositories, tags, manifests and runs as often as names that do not exist.

No fault ever acts, so a 5xx is always a failure: a generated ``POST /_docrsim/faults`` may add
a rule, but the world is restored before the next request.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis import checks
from schemathesis.config import SchemathesisConfig

from docrsim.core.credentials import SCOPES, TokenPolicy
from tests.conftest import start_live
from tests.reliability import worlds
from tests.spec_conformance import SPEC_PATH

# The settings `st run` reads too: security parameters not generated, and the few refusals of
# schema-valid requests no schema can state, each with its reason.
SETTINGS = Path(__file__).resolve().parents[2] / "schemathesis.toml"
schema = schemathesis.openapi.from_path(SPEC_PATH, config=SchemathesisConfig.from_path(str(SETTINGS)))

# Every check schemathesis has, as ``st run --checks all`` runs them: besides the answers'
# conformance (no 5xx, as no fault is armed; documented statuses, bodies, headers), the
# document must say exactly what each operation accepts (a schema-valid request is not
# refused, a schema-violating one is not accepted), what methods a path has (``Allow`` and
# 405), and which requests need a token (an unknown token is refused).
checks.load_all_checks()
CHECKS = list(checks.CHECKS.get_all())
TOKEN = "dop_v1_fuzz"

# 58 operations at 25 examples each (plus schemathesis's own coverage cases) keep the module
# to about a minute and a half; a profile asking for many more examples (nightly) gets 200.
EXAMPLES_PER_OPERATION = 25 if settings.default.max_examples <= 100 else 200


@pytest.fixture(scope="module")
def world():
    live = start_live(tokens=TokenPolicy({TOKEN: frozenset(SCOPES)}))
    live.sim.import_state(worlds.fuzz_world()[0])
    yield live
    live.http.close()
    live.server.stop()


def test_the_fuzzed_document_is_the_one_the_api_host_serves(world):
    served = world.http.get(world.url("/openapi.json"))
    assert served.status_code == 200
    assert served.json() == schema.raw_schema


def _valid(operation, name: str, value) -> bool:
    definition = next((p.definition for p in operation.path_parameters if p.name == name), {})
    pattern = definition.get("schema", {}).get("pattern")
    return isinstance(value, str) and (pattern is None or re.search(pattern, value) is not None)


@schema.hook
def flatmap_path_parameters(context, path_parameters):
    """Half of the time, name something the world holds instead of a random string; never in
    place of a value made to violate the schema (a negative case stays negative)."""
    path_parameters = path_parameters or {}
    known = {name: st.sampled_from(values) for name, values in worlds.fuzz_world()[1].items()
             if name in path_parameters and _valid(context.operation, name, path_parameters[name])}
    if not known:
        return st.just(path_parameters)
    return st.fixed_dictionaries(
        {name: (st.one_of(st.just(value), known[name]) if name in known else st.just(value))
         for name, value in path_parameters.items()}
    )


@schema.parametrize()
@settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.function_scoped_fixture])
def test_every_operation_conforms(case, world):
    world.sim.import_state(worlds.fuzz_world()[0])
    world.server.api_app.config["DOCRSIM_RATELIMIT"].clear()
    case.call_and_validate(base_url=world.api_url, headers={"Authorization": f"Bearer {TOKEN}"}, checks=CHECKS)
