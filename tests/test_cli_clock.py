"""``docrsim clock``: read and move a running docrsim's simulated clock from a shell script."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from click.testing import CliRunner

from docrsim import Simulator
from docrsim.cli import main


@pytest.fixture(scope="module")
def sim():
    with Simulator(fixture="cleanup-drain", clock="manual") as simulator:
        yield simulator


@pytest.fixture
def clock(sim):
    sim.reset()

    def _run(*args, url=None):
        return CliRunner().invoke(main, ["clock", *args], env={"DOCRSIM_URL": url or sim.api_url})

    return _run


@pytest.mark.parametrize("duration, expected", [
    ("90", "2026-03-02T09:01:30Z"), ("90s", "2026-03-02T09:01:30Z"), ("5m", "2026-03-02T09:05:00Z"),
    ("1.5h", "2026-03-02T10:30:00Z"), ("0", "2026-03-02T09:00:00Z"),
])
def test_advance_prints_the_new_time(clock, sim, duration, expected):
    result = clock("advance", duration)
    assert (result.exit_code, result.output) == (0, expected + "\n")
    assert sim.now().strftime("%Y-%m-%dT%H:%M:%SZ") == expected


def test_fractions_of_a_second_show(clock):
    assert clock("advance", "0.25").output == "2026-03-02T09:00:00.250000Z\n"
    assert clock("now").output == "2026-03-02T09:00:00.250000Z\n"
    assert clock("advance", "0.75s").output == "2026-03-02T09:00:01Z\n"


def test_now_reads_without_moving(clock):
    assert clock("now").output == "2026-03-02T09:00:00Z\n"
    assert clock("now").output == "2026-03-02T09:00:00Z\n"


def test_advance_steps_a_collection_through_its_phases(clock, sim):
    # The scenario's CI token expires at 09:10, ten minutes into a run started now.
    with sim.sim.transaction() as now:
        sim.sim.gc.start("shop", "untagged manifests and unreferenced blobs", now)
    assert clock("advance", "5m").exit_code == 0
    assert sim.state()["registries"][0]["garbage_collections"][0]["status"] == "waiting for write JWTs to expire"
    result = clock("until-idle")
    assert result.exit_code == 0
    assert sim.state()["registries"][0]["garbage_collections"][0]["status"] == "succeeded"
    ended = datetime.fromisoformat(result.output.strip().replace("Z", "+00:00"))
    assert ended >= datetime(2026, 3, 2, 9, 10, tzinfo=timezone.utc)  # not before the CI token expired


@pytest.mark.parametrize("bad", ["x", "-5", "5d", "inf", "nan", ""])
def test_a_bad_duration_is_a_usage_error(clock, sim, bad):
    before = sim.now()
    result = clock("advance", "--", bad)
    assert result.exit_code == 2
    assert "is not a duration such as 30, 30s, 5m or 1h" in result.output
    assert sim.now() == before


def test_no_server_is_exit_code_3(clock):
    result = clock("now", url="http://127.0.0.1:9")
    assert result.exit_code == 3
    assert "cannot reach docrsim at http://127.0.0.1:9" in result.output


def test_a_system_clock_refuses_to_move():
    with Simulator(clock="system") as system:
        result = CliRunner().invoke(main, ["clock", "advance", "5m"], env={"DOCRSIM_URL": system.api_url})
    assert result.exit_code == 1
    assert "did not move its clock: HTTP 422: the system clock cannot be moved" in result.output
