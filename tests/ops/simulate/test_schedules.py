"""EventBridge Scheduler's expressions, fired as Scheduler documents them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ops.simulate.schedules import ScheduleExpressionError, fire_times, parse_cron

MONDAY = datetime(2026, 3, 2, tzinfo=UTC)
WEEK = MONDAY + timedelta(days=7)


def test_a_rate_fires_at_creation_then_once_every_rate() -> None:
    created = MONDAY + timedelta(minutes=7)
    fires = list(fire_times("rate(1 hour)", created, created + timedelta(hours=3)))
    assert fires == [created + timedelta(hours=h) for h in range(3)]


def test_rate_units_take_singular_and_plural() -> None:
    assert len(list(fire_times("rate(1 day)", MONDAY, WEEK))) == 7
    assert len(list(fire_times("rate(30 minutes)", MONDAY, MONDAY + timedelta(hours=2)))) == 4


def test_a_daily_cron_fires_at_its_minute_of_each_day() -> None:
    fires = list(fire_times("cron(0 3 * * ? *)", MONDAY, WEEK))
    assert fires == [MONDAY + timedelta(days=d, hours=3) for d in range(7)]


def test_cron_day_of_week_counts_sunday_as_one() -> None:
    fires = list(fire_times("cron(30 2 ? * SUN *)", MONDAY, WEEK))
    assert fires == [datetime(2026, 3, 8, 2, 30, tzinfo=UTC)]
    assert list(fire_times("cron(30 2 ? * 1 *)", MONDAY, WEEK)) == fires


def test_cron_steps_ranges_and_lists() -> None:
    fires = list(fire_times("cron(0/20 9-10 ? * MON-FRI *)", MONDAY, MONDAY + timedelta(days=1)))
    assert [(f.hour, f.minute) for f in fires] == [
        (9, 0),
        (9, 20),
        (9, 40),
        (10, 0),
        (10, 20),
        (10, 40),
    ]


def test_an_at_expression_fires_once_inside_the_range() -> None:
    assert list(fire_times("at(2026-03-03T04:05:00)", MONDAY, WEEK)) == [
        datetime(2026, 3, 3, 4, 5, tzinfo=UTC)
    ]
    assert list(fire_times("at(2026-04-03T04:05:00)", MONDAY, WEEK)) == []


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("cron(0 3 * * * *)", "exactly one of day-of-month and day-of-week"),
        ("cron(0 3 ? * ? *)", "exactly one of day-of-month and day-of-week"),
        ("cron(0 3 * *)", "has 4 fields; Scheduler takes six"),
        ("cron(0 3 L * ? *)", "L, W and # are not simulated"),
        ("cron(0 25 * * ? *)", "not in 0-23"),
        ("every(1 hour)", r"is not rate\(value unit\)"),
    ],
)
def test_an_expression_scheduler_would_not_fire_is_refused_with_one_line(
    expression: str, message: str
) -> None:
    with pytest.raises(ScheduleExpressionError, match=message):
        list(fire_times(expression, MONDAY, WEEK))


def test_another_time_zone_is_refused() -> None:
    with pytest.raises(ScheduleExpressionError, match="evaluates schedules in UTC"):
        list(fire_times("rate(1 hour)", MONDAY, WEEK, "Europe/Berlin"))


def test_month_names_map_to_their_numbers() -> None:
    assert parse_cron("0 0 1 JAN,MAR ? *").months == frozenset({1, 3})
