"""A monitoring job's heartbeat: one value per successful run, whatever the window held.

The drift and quality alarms treat a missing hour as fine (an hour without
traffic publishes no drift), so on their own they cannot tell a quiet hour
from a job that stopped. Every run that ends well therefore also sends
``mlops/monitoring`` ``RowsRead`` (the capture rows it read; 0 for an empty
window) with dimensions ``Endpoint`` and ``Job``; a failed or missing run sends
nothing, and the staleness alarm on that metric treats missing data as breaching.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pipelines import metrics


def rows_read(result: dict[str, Any]) -> int:
    """The capture rows a job's result says it read (drift: ``input``; others: ``capture``)."""
    for section in ("capture", "input"):
        rows = (result.get(section) or {}).get("rows")
        if isinstance(rows, int):
            return rows
    return 0


def publish_heartbeat(
    cloudwatch: Any, *, endpoint: str, job: str, rows: int, when: datetime | None = None
) -> int:
    """Send one heartbeat of ``job``; returns how many values were sent (1)."""
    datum = metrics.datum(
        metrics.HEARTBEAT,
        rows,
        metrics.heartbeat_dimensions(endpoint, job),
        when or datetime.now(UTC),
        "Count",
    )
    return metrics.put_metric_data(cloudwatch, metrics.MONITORING_NAMESPACE, [datum])
