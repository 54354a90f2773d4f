"""Simulated time: the manual clock, the system clock under freezegun, instants as text."""

import threading
import time
from datetime import datetime, timedelta, timezone

import pytest
from freezegun import freeze_time
from hypothesis import given
from hypothesis import strategies as st

from docrsim.core.clock import ManualClock, SystemClock, format_instant, make_clock, parse_instant
from docrsim.core.errors import Invalid

UTC = timezone.utc
T0 = datetime(2026, 1, 1, tzinfo=UTC)


# -- ManualClock ------------------------------------------------------------------------------

def test_manual_clock_stands_still_until_told():
    clock = ManualClock(T0)
    assert clock.now() == T0
    assert clock.now() == T0
    assert clock.kind == "manual"


def test_manual_clock_defaults_to_the_start_of_2026_utc():
    assert ManualClock().now() == T0


def test_naive_start_is_utc_and_offsets_are_normalised():
    assert ManualClock(datetime(2026, 5, 1, 12)).now() == datetime(2026, 5, 1, 12, tzinfo=UTC)
    start = datetime(2026, 5, 1, 12, tzinfo=timezone(timedelta(hours=2)))
    now = ManualClock(start).now()
    assert now == datetime(2026, 5, 1, 10, tzinfo=UTC) and now.utcoffset() == timedelta(0)


def test_advance_moves_by_the_given_seconds():
    clock = ManualClock(T0)
    assert clock.advance(90) == T0 + timedelta(seconds=90)
    assert clock.advance(0.5) == T0 + timedelta(seconds=90.5)
    assert clock.advance(0) == T0 + timedelta(seconds=90.5)
    assert clock.now() == T0 + timedelta(seconds=90.5)


@pytest.mark.parametrize("seconds", [-1, -0.001, float("nan"), float("inf"), float("-inf"), 1e15, 10**30])
def test_advance_refuses_what_cannot_be_a_forward_move(seconds):
    clock = ManualClock(T0)
    with pytest.raises(Invalid):
        clock.advance(seconds)
    assert clock.now() == T0


def test_set_moves_forward_to_an_instant():
    clock = ManualClock(T0)
    later = datetime(2026, 2, 1, 8, 30, tzinfo=UTC)
    assert clock.set(later) == later
    assert clock.set(later) == later  # standing still is allowed
    assert clock.now() == later


def test_set_takes_a_naive_instant_as_utc():
    clock = ManualClock(T0)
    clock.set(datetime(2026, 1, 2))
    assert clock.now() == datetime(2026, 1, 2, tzinfo=UTC)


def test_set_refuses_moving_backwards():
    clock = ManualClock(T0)
    with pytest.raises(Invalid, match="only moves forward"):
        clock.set(T0 - timedelta(microseconds=1))
    # An instant in another zone that is earlier in absolute terms is also refused.
    with pytest.raises(Invalid):
        clock.set(datetime(2026, 1, 1, 0, 30, tzinfo=timezone(timedelta(hours=1))))
    assert clock.now() == T0


def test_restart_may_go_back():
    clock = ManualClock(T0)
    clock.advance(3600)
    assert clock.restart(datetime(2025, 6, 1, tzinfo=UTC)) == datetime(2025, 6, 1, tzinfo=UTC)
    assert clock.now() == datetime(2025, 6, 1, tzinfo=UTC)
    clock.restart(datetime(2025, 1, 1))  # naive: UTC
    assert clock.now() == datetime(2025, 1, 1, tzinfo=UTC)


def test_concurrent_advances_are_not_lost():
    clock = ManualClock(T0)

    def work():
        for _ in range(500):
            clock.advance(1)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert clock.now() == T0 + timedelta(seconds=4000)


# -- SystemClock ------------------------------------------------------------------------------

def test_system_clock_follows_freeze_time():
    clock = SystemClock()
    with freeze_time("2030-07-08 09:10:11"):
        assert clock.now() == datetime(2030, 7, 8, 9, 10, 11, tzinfo=UTC)
        assert clock.now().tzinfo is not None


def test_system_clock_follows_move_to_and_tick():
    clock = SystemClock()
    with freeze_time("2030-01-01 00:00:00") as frozen:
        frozen.move_to("2031-02-03 04:05:06")
        assert clock.now() == datetime(2031, 2, 3, 4, 5, 6, tzinfo=UTC)
        frozen.tick(timedelta(minutes=5))
        assert clock.now() == datetime(2031, 2, 3, 4, 10, 6, tzinfo=UTC)


def test_system_clock_runs_with_tick_true():
    clock = SystemClock()
    with freeze_time("2030-01-01 00:00:00", tick=True):
        first = clock.now()
        assert datetime(2030, 1, 1, tzinfo=UTC) <= first < datetime(2030, 1, 1, 0, 1, tzinfo=UTC)
        time.sleep(0.02)
        assert first < clock.now() < first + timedelta(seconds=30)


def test_system_clock_outside_freezegun_is_real_time():
    before = datetime.now(UTC)
    now = SystemClock().now()
    assert before <= now <= datetime.now(UTC)


def test_system_clock_cannot_be_moved():
    clock = SystemClock()
    with pytest.raises(Invalid, match="--clock manual"):
        clock.advance(1)
    with pytest.raises(Invalid):
        clock.set(T0)


def test_make_clock():
    assert make_clock("manual", T0).now() == T0
    assert make_clock("system").kind == "system"
    with pytest.raises(Invalid, match="manual clock"):
        make_clock("system", T0)
    with pytest.raises(Invalid, match="unknown clock kind"):
        make_clock("sundial")


# -- instants as text -------------------------------------------------------------------------

@pytest.mark.parametrize(
    "text, expected",
    [
        ("2026-03-04T05:06:07Z", datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)),
        ("2026-03-04T05:06:07+00:00", datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)),
        ("2026-03-04T07:06:07+02:00", datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)),
        ("2026-03-04T00:06:07-05:00", datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)),
        ("2026-03-04T05:06:07", datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)),
        ("2026-03-04T05:06:07.250Z", datetime(2026, 3, 4, 5, 6, 7, 250000, tzinfo=UTC)),
    ],
)
def test_parse_instant(text, expected):
    value = parse_instant(text)
    assert value == expected
    assert value.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    "text",
    ["", "yesterday", "2026-13-01T00:00:00Z", "2026-02-30T00:00:00Z", "2026-01-01T25:00:00Z",
     "2026-01-01T00:00:00ZZ", "9999-12-31T23:00:00-05:00", "0001-01-01T00:30:00+01:00", None, 1767225600, []],
)
def test_parse_instant_refuses_garbage(text):
    with pytest.raises(Invalid, match="not an ISO 8601 instant"):
        parse_instant(text)


def test_format_instant_is_utc_whole_seconds_with_z():
    assert format_instant(datetime(2026, 3, 4, 5, 6, 7, 999999, tzinfo=UTC)) == "2026-03-04T05:06:07Z"
    assert format_instant(datetime(2026, 3, 4, 7, 6, 7, tzinfo=timezone(timedelta(hours=2)))) == "2026-03-04T05:06:07Z"


@given(st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(9998, 12, 31), timezones=st.just(UTC)))
def test_format_then_parse_round_trips_to_the_second(value):
    assert parse_instant(format_instant(value)) == value.replace(microsecond=0)


@given(st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(9998, 12, 31)),
       st.integers(min_value=-14 * 60, max_value=14 * 60))
def test_offsets_name_the_same_instant(naive, minutes):
    zone = timezone(timedelta(minutes=minutes))
    local = naive.replace(tzinfo=UTC).astimezone(zone)
    assert parse_instant(local.isoformat()) == naive.replace(tzinfo=UTC)
