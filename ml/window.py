"""The time window of endpoint capture to read: a half-open UTC range.

Capture files sit in ``yyyy/mm/dd/hh`` folders named for the hour of the
invocation, so a window picks files by folder (``overlaps_hour``) and then
events by ``inferenceTime`` (``contains``). On the command line a window is
``--window-start``/``--window-end`` (ISO 8601; no zone means UTC) and/or
``--window-hours``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pandas as pd

from ml.capture_format import CaptureInputError


@dataclass(frozen=True)
class Window:
    """A half-open UTC time range ``[start, end)``; either side may be open."""

    start: datetime | None = None
    end: datetime | None = None

    @classmethod
    def parse(
        cls,
        start: str | None = None,
        end: str | None = None,
        hours: float | None = None,
        now: datetime | None = None,
    ) -> Window:
        """Build a window from ISO 8601 bounds and/or a length in hours.

        ``hours`` alone means the last full hours before ``now`` (to the top of
        the current hour, whose files are still being written).
        """
        begin, finish = _instant(start, "--window-start"), _instant(end, "--window-end")
        if hours is None:
            window = cls(begin, finish)
        elif hours <= 0:
            raise CaptureInputError(f"window hours must be positive, got {hours}")
        elif begin is not None and finish is not None:
            raise CaptureInputError("give two of window start, end and hours, not all three")
        elif begin is not None:
            window = cls(begin, begin + timedelta(hours=hours))
        else:
            top = finish or (now or datetime.now(UTC)).replace(minute=0, second=0, microsecond=0)
            window = cls(top - timedelta(hours=hours), top)
        if window.start is not None and window.end is not None and window.start >= window.end:
            raise CaptureInputError(
                f"window start {window.start.isoformat()} is not before its end "
                f"{window.end.isoformat()}; swap them"
            )
        return window

    def overlaps_hour(self, hour: datetime) -> bool:
        """Whether the hour ``[hour, hour + 1h)`` has any instant in the window."""
        after_start = self.start is None or hour + timedelta(hours=1) > self.start
        before_end = self.end is None or hour < self.end
        return after_start and before_end

    def contains(self, times: pd.Series) -> pd.Series:
        """Which instants fall in the window."""
        keep = pd.Series(True, index=times.index)
        if self.start is not None:
            keep &= times >= pd.Timestamp(self.start)
        if self.end is not None:
            keep &= times < pd.Timestamp(self.end)
        return keep

    def describe(self) -> dict[str, str | None]:
        """The bounds as ISO 8601 strings, for reports."""
        return {
            "start": self.start.isoformat() if self.start else None,
            "end": self.end.isoformat() if self.end else None,
        }


def _instant(text: str | None, name: str) -> datetime | None:
    if text is None:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise CaptureInputError(
            f"{name} {text!r} is not an ISO 8601 time; write e.g. 2026-01-01T10:00:00Z"
        ) from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
