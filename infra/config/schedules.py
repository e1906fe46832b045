"""EventBridge Scheduler's schedule expressions and time zones, checked as AWS documents them.

The training pipeline and the monitoring pipeline are started by EventBridge
Scheduler schedules (``aws.scheduler.Schedule``); AWS refuses an expression or a
time zone it cannot read only when ``pulumi up`` creates the schedule.

- Expressions: ``rate(value unit)``, ``cron(minutes hours day-of-month month
  day-of-week year)`` or ``at(yyyy-mm-ddThh:mm:ss)``
  (https://docs.aws.amazon.com/scheduler/latest/UserGuide/schedule-types.html).
  A rate's value is a positive integer; its unit is singular for 1 and plural
  above ("rate(1 hours) and rate(5 hour) aren't valid",
  https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rate-expressions.html).
  Cron fields, their ranges and wildcards, and "you can't specify the
  Day-of-month and Day-of-week fields in the same cron expression: if you
  specify a value or a * in one, you must use a ? in the other"
  (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-scheduled-rule-pattern.html).
- Time zones: IANA names (ScheduleExpressionTimezone, at most 50 characters,
  https://docs.aws.amazon.com/scheduler/latest/APIReference/API_CreateSchedule.html),
  checked against the IANA database Python ships (``zoneinfo``).
"""

from __future__ import annotations

import functools
import re
import zoneinfo
from datetime import datetime

SCHEDULE_HINT = (
    "an EventBridge Scheduler expression: rate(1 hour), rate(30 minutes), "
    "cron(0 * * * ? *) or at(2030-01-01T00:00:00)"
)
TIMEZONE_HINT = "an IANA time zone such as UTC, Europe/Berlin or America/New_York"
_RATE = re.compile(r"^rate\(([0-9]+) (minute|minutes|hour|hours|day|days)\)$")
_AT = re.compile(r"^at\((\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\)$")
_CRON = re.compile(r"^cron\((.*)\)$")
MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
WEEKDAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")


class CronField:
    """One cron field: its name, range, the names that stand for numbers, extra wildcards."""

    def __init__(
        self, name: str, low: int, high: int, names: tuple[str, ...] = (), extra: str = ""
    ) -> None:
        self.name, self.low, self.high, self.names, self.extra = name, low, high, names, extra

    def number(self, text: str) -> int | None:
        """The value ``text`` stands for in this field, or None when it is none."""
        upper = text.upper()
        if upper in self.names:
            return self.low + self.names.index(upper)
        if text.isdigit() and self.low <= int(text) <= self.high:
            return int(text)
        return None


FIELDS = (
    CronField("minutes", 0, 59),
    CronField("hours", 0, 23),
    CronField("day-of-month", 1, 31, extra="?LW"),
    CronField("month", 1, 12, MONTHS),
    CronField("day-of-week", 1, 7, WEEKDAYS, extra="?L#"),
    CronField("year", 1970, 2199),
)


def schedule_problem(expression: str) -> str | None:
    """Why EventBridge Scheduler would refuse ``expression``, or None when it reads it."""
    rate = _RATE.match(expression)
    if rate:
        value, unit = int(rate.group(1)), rate.group(2)
        if value < 1:
            return "a rate's value must be a positive number"
        if (value == 1) == unit.endswith("s"):
            wanted = unit.rstrip("s") if value == 1 else f"{unit.rstrip('s')}s"
            return f"the unit of rate({value} ...) is {wanted!r}: singular for 1, plural above"
        return None
    at = _AT.match(expression)
    if at:
        try:
            datetime.strptime(at.group(1), "%Y-%m-%dT%H:%M:%S")
        except ValueError:
            return "at(...) takes a real date and time, yyyy-mm-ddThh:mm:ss"
        return None
    cron = _CRON.match(expression)
    if cron:
        return cron_problem(cron.group(1))
    return f"expected {SCHEDULE_HINT}"


def cron_problem(body: str) -> str | None:
    """Why the six fields of ``cron(...)`` are not a valid EventBridge cron, or None."""
    parts = body.split()
    if len(parts) != len(FIELDS):
        return (
            f"cron(...) takes {len(FIELDS)} fields (minutes hours day-of-month month "
            f"day-of-week year), got {len(parts)}"
        )
    for field, text in zip(FIELDS, parts, strict=True):
        if not _field_ok(field, text):
            return f"cron field {field.name} {text!r} is not valid (range {field.low}-{field.high})"
    day_of_month, day_of_week = parts[2], parts[4]
    if (day_of_month == "?") == (day_of_week == "?"):
        return "cron(...) needs ? in exactly one of day-of-month and day-of-week"
    return None


def _field_ok(field: CronField, text: str) -> bool:
    if text == "?":
        return "?" in field.extra
    if "#" in text:  # one nth-weekday expression, alone: 3#2 is the second Tuesday
        weekday, _, nth = text.partition("#")
        nth_ok = nth in {"1", "2", "3", "4", "5"}
        return "#" in field.extra and field.number(weekday) is not None and nth_ok
    return all(_item_ok(field, item) for item in text.split(","))


def _item_ok(field: CronField, item: str) -> bool:
    if "L" in field.extra and item == "L":
        return True
    if field.name == "day-of-month" and (item == "LW" or (item.endswith("W") and item[:-1])):
        return item == "LW" or field.number(item[:-1]) is not None
    if field.name == "day-of-week" and item.endswith("L") and len(item) > 1:
        return field.number(item[:-1]) is not None  # 6L: the last Friday of the month
    start, slash, step = item.partition("/")
    if slash and not (step.isdigit() and int(step) >= 1):
        return False
    if start == "*":
        return True
    low, dash, high = start.partition("-")
    if dash:
        return field.number(low) is not None and field.number(high) is not None
    return field.number(start) is not None


def timezone_problem(name: str) -> str | None:
    """Why ``name`` is not an IANA time zone EventBridge Scheduler takes, or None."""
    if len(name) > 50 or name not in _iana_names():
        return f"expected {TIMEZONE_HINT}"
    return None


@functools.cache
def _iana_names() -> frozenset[str]:
    names = zoneinfo.available_timezones()
    return frozenset(names) if names else frozenset({"UTC"})
