"""Labelled production traffic back into ``raw/``, and how soon silent monitoring is noticed.

The feedback step of the monitoring pipeline joins captured requests with the
labels that have arrived and lands them as a drop in the data bucket's ``raw/``
(``pipelines/jobs/feedback.py``). Its look-back is how old a prediction a label
may still refer to; its catch-up is how many missed hourly windows one run
lands. The staleness alarms count the monitoring jobs' heartbeats per schedule
period.
"""

from __future__ import annotations

import re

from pydantic import Field

from infra.config.base import Section

HOUR, DAY = 3600, 86400
# PutMetricAlarm: Period x EvaluationPeriods is at most 7 days, and at most one day for a
# period under an hour (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html).
MAX_EVALUATION_SECONDS = 7 * DAY
MAX_SHORT_EVALUATION_SECONDS = DAY
UNITS = {"minute": 60, "hour": HOUR, "day": DAY}


class Feedback(Section):
    """The feedback step: capture joined with arrived labels, landed in ``raw/feedback/``."""

    enabled: bool = True
    lookback_hours: int = Field(default=168, ge=1, le=2160)
    catch_up_hours: int = Field(default=24, ge=1, le=168)


def schedule_period_seconds(expression: str) -> int:
    """Seconds between runs of an EventBridge Scheduler expression.

    ``rate(N unit)`` exactly; a ``cron(...)`` whose hour field is ``*`` or a step
    (``*/2``, ``0/3``) as hourly, any other cron as daily.
    """
    rate = re.fullmatch(r"rate\((\d+) (minute|hour|day)s?\)", expression.strip())
    if rate:
        return int(rate.group(1)) * UNITS[rate.group(2)]
    cron = re.fullmatch(r"cron\((\S+) (\S+) .+\)", expression.strip())
    if cron and ("*" in cron.group(2) or "/" in cron.group(2)):
        return HOUR
    return DAY


def evaluation_limit(period: int) -> int:
    """The longest evaluation range CloudWatch accepts for an alarm of ``period`` seconds."""
    return MAX_EVALUATION_SECONDS if period >= HOUR else MAX_SHORT_EVALUATION_SECONDS
