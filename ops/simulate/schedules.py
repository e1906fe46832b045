"""When EventBridge Scheduler fires a planned schedule: ``rate()``, ``cron()`` and ``at()``.

From "Schedule types in EventBridge Scheduler"
(https://docs.aws.amazon.com/scheduler/latest/UserGuide/schedule-types.html):

- ``rate(value unit)``, unit ``minute(s)``, ``hour(s)`` or ``day(s)``: without a
  start date the schedule "starts invoking the target immediately", then once
  every rate;
- ``cron(minutes hours day-of-month month day-of-week year)``: six fields;
  ``, - * /`` everywhere, ``?`` in one of the two day fields, day-of-week
  ``1-7`` or ``SUN-SAT`` (1 is Sunday), month ``1-12`` or ``JAN-DEC``
  (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-cron-expressions.html);
  ``L``, ``W`` and ``#`` are refused with a clear line;
- ``at(yyyy-mm-ddThh:mm:ss)``: once.

Times are evaluated in UTC (the plan's ``scheduleExpressionTimezone``; another
zone is refused). Scheduler invokes "with 60 second precision": the simulation
fires at the start of the minute.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from ml.errors import MlopsError

RATE = re.compile(r"^rate\((\d+) (minutes?|hours?|days?)\)$")
CRON = re.compile(r"^cron\(([^)]+)\)$")
AT = re.compile(r"^at\((\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\)$")
MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
DAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
FIELDS = (  # name, lowest, highest, names for the values from ``lowest``
    ("minutes", 0, 59, ()),
    ("hours", 0, 23, ()),
    ("day-of-month", 1, 31, ()),
    ("month", 1, 12, MONTHS),
    ("day-of-week", 1, 7, DAYS),
    ("year", 1970, 2199, ()),
)
UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}


class ScheduleExpressionError(MlopsError):
    """A schedule expression the simulation cannot fire as Scheduler would."""


@dataclass(frozen=True)
class Cron:
    """The allowed values of each field; ``None`` for a day field given as ``?``."""

    minutes: frozenset[int]
    hours: frozenset[int]
    days_of_month: frozenset[int] | None
    months: frozenset[int]
    days_of_week: frozenset[int] | None
    years: frozenset[int]

    def matches_day(self, day: datetime) -> bool:
        if day.month not in self.months or day.year not in self.years:
            return False
        weekday = (day.weekday() + 1) % 7 + 1  # Python's Monday=0 -> Scheduler's Sunday=1
        by_month = self.days_of_month is None or day.day in self.days_of_month
        by_week = self.days_of_week is None or weekday in self.days_of_week
        return by_month and by_week


def fire_times(
    expression: str, created: datetime, until: datetime, timezone: str = "UTC"
) -> Iterator[datetime]:
    """Every instant in ``[created, until)`` the schedule invokes its target, in order."""
    if timezone not in ("UTC", "Etc/UTC"):
        raise ScheduleExpressionError(
            f"schedule time zone {timezone!r}: the simulation evaluates schedules in UTC"
        )
    text = expression.strip()
    if match := RATE.match(text):
        every = timedelta(seconds=int(match[1]) * UNIT_SECONDS[match[2].rstrip("s")])
        if every <= timedelta(0):
            raise ScheduleExpressionError(f"{expression}: the rate must be positive")
        instant = created
        while instant < until:
            yield instant
            instant += every
    elif match := CRON.match(text):
        yield from _cron_times(parse_cron(match[1]), created, until)
    elif match := AT.match(text):
        once = datetime.fromisoformat(match[1]).replace(tzinfo=UTC)
        if created <= once < until:
            yield once
    else:
        raise ScheduleExpressionError(
            f"{expression!r} is not rate(value unit), cron(six fields) or at(yyyy-mm-ddThh:mm:ss)"
        )


def parse_cron(fields_text: str) -> Cron:
    """The six fields of a cron expression, expanded to sets of values."""
    parts = fields_text.split()
    if len(parts) != len(FIELDS):
        raise ScheduleExpressionError(
            f"cron({fields_text}) has {len(parts)} fields; Scheduler takes six: "
            "minutes hours day-of-month month day-of-week year"
        )
    values = [_field(part, *spec) for part, spec in zip(parts, FIELDS, strict=True)]
    days_of_month, days_of_week = values[2], values[4]
    if (days_of_month is None) == (days_of_week is None):
        raise ScheduleExpressionError(
            f"cron({fields_text}): give '?' in exactly one of day-of-month and day-of-week"
        )
    if any(values[index] is None for index in (0, 1, 3, 5)):
        raise ScheduleExpressionError(f"cron({fields_text}): '?' is only for the day fields")
    return Cron(*values)  # type: ignore[arg-type]


def _field(
    text: str, name: str, low: int, high: int, names: tuple[str, ...]
) -> frozenset[int] | None:
    if text == "?":
        return None
    if any(mark in text for mark in ("L", "W", "#")) and not _is_name(text, names):
        raise ScheduleExpressionError(
            f"cron field {name} {text!r}: L, W and # are not simulated; list the values instead"
        )
    allowed: set[int] = set()
    for part in text.split(","):
        span, _, step_text = part.partition("/")
        step = int(step_text) if step_text else 1
        if span == "*":
            first, last = low, high
        elif "-" in span:
            first, last = (_value(v, name, low, high, names) for v in span.split("-", 1))
        else:
            first = _value(span, name, low, high, names)
            last = high if step_text else first
        if step < 1 or first > last:
            raise ScheduleExpressionError(f"cron field {name} {text!r} selects no value")
        allowed.update(range(first, last + 1, step))
    return frozenset(allowed)


def _is_name(text: str, names: tuple[str, ...]) -> bool:
    return all(token in names for token in re.split(r"[,\-/]", text) if not token.isdigit())


def _value(text: str, name: str, low: int, high: int, names: tuple[str, ...]) -> int:
    if text.upper() in names:
        return low + names.index(text.upper())
    if not text.isdigit() or not low <= int(text) <= high:
        raise ScheduleExpressionError(f"cron field {name}: {text!r} is not in {low}-{high}")
    return int(text)


def _cron_times(cron: Cron, created: datetime, until: datetime) -> Iterator[datetime]:
    day = created.replace(hour=0, minute=0, second=0, microsecond=0)
    while day < until:
        if cron.matches_day(day):
            for hour in sorted(cron.hours):
                for minute in sorted(cron.minutes):
                    instant = day.replace(hour=hour, minute=minute)
                    if created <= instant < until:
                        yield instant
        day += timedelta(days=1)
