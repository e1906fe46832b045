"""The world outside the platform: data drops, requests to the endpoint, labels that come late.

Everything is drawn from the generator (``ml.data.generate``) with the drift of
the scenario's phase at that hour, and stamped with simulated time:

- an upstream producer drops an hour of labelled transactions into ``raw/``
  every hour (and, once, a file without labels, which Validate must quarantine);
- the endpoint answers requests with the model each fleet serves (the serving
  handlers of ``ml.inference``), and writes the sampled share of them as
  capture (``ml.capture_writer``) under the planned capture prefix; while the
  scenario breaks monitoring, the capture it writes cannot be read;
- ground truth arrives for part of the captured requests, after a delay, as
  label files under the planned labels prefix.

Every object put is kept in a ledger (key, version id, sha256) so the
invariants can check that each byte that landed is still there.
"""

from __future__ import annotations

import hashlib
import io
import zlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ml import schema
from ml.capture_format import EVENT_ID, EVENT_ROW
from ops.simulate.endpoint import Endpoint
from ops.simulate.scenario import EARLIEST_LABEL, LATEST_LABEL, Scenario

RAW_PREFIX = "raw/"
UPSTREAM_PREFIX = "raw/upstream/"
SEGMENT = "merchant_category"


@dataclass(frozen=True)
class Landed:
    """One object the world put into a bucket."""

    bucket: str
    key: str
    version_id: str | None
    sha256: str
    size: int
    at: datetime


def csv_bytes(frame: pd.DataFrame) -> bytes:
    """A frame as the CSV ``ml.io.write_table`` writes."""
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False, date_format="%Y-%m-%dT%H:%M:%S%z")
    return buffer.getvalue().encode("utf-8")


def stamped(frame: pd.DataFrame, start: datetime, span: timedelta, seed: int) -> pd.DataFrame:
    """The frame's event times moved into ``[start, start + span)``, in order."""
    rng = np.random.default_rng(seed)
    offsets = np.sort(rng.uniform(0, span.total_seconds(), len(frame)))
    times = pd.DatetimeIndex(pd.Timestamp(start) + pd.to_timedelta(offsets, unit="s"))
    out = frame.copy()
    out[schema.TIME_COLUMN] = times.floor("s").as_unit("s")
    return out


def month_before(frame: pd.DataFrame, end: datetime) -> pd.DataFrame:
    """The generator's 30 days moved to end at ``end``'s midnight: clock hours (and fraud) kept."""
    from ml.data import START

    day = pd.Timestamp(end).floor("D") - pd.Timedelta(days=30)
    out = frame.copy()
    out[schema.TIME_COLUMN] = out[schema.TIME_COLUMN] + (day - pd.Timestamp(START, tz="UTC"))
    return out


@dataclass
class Ledger:
    """Objects put, and every captured request with its truth, flag and label arrival."""

    landed: list[Landed] = field(default_factory=list)
    requests: list[pd.DataFrame] = field(default_factory=list)
    unlabelled: list[pd.DataFrame] = field(default_factory=list)  # with labels still to arrive

    def put(self, s3: Any, bucket: str, key: str, body: bytes, at: datetime) -> Landed:
        response = s3.put_object(Bucket=bucket, Key=key, Body=body)
        landed = Landed(
            bucket, key, response.get("VersionId"), hashlib.sha256(body).hexdigest(), len(body), at
        )
        self.landed.append(landed)
        return landed

    def frame(self) -> pd.DataFrame:
        return pd.concat(self.requests, ignore_index=True) if self.requests else pd.DataFrame()


class World:
    """Draws and lands the world's data for one stack, hour by hour."""

    def __init__(
        self,
        scenario: Scenario,
        s3: Any,
        buckets: dict[str, str],
        start: datetime,
        work_dir: Path,
        seed: int,
    ) -> None:
        self.scenario, self.s3, self.buckets = scenario, s3, buckets
        self.endpoint: Endpoint | None = None  # set once the endpoint serves
        self.start, self.work_dir = start, work_dir
        self.seed = seed
        self.rng = np.random.default_rng(seed)
        self.ledger = Ledger()
        self.labels_written = 0

    def hour_of(self, at: datetime) -> float:
        return (at - self.start).total_seconds() / 3600

    def _seed(self, at: datetime, salt: int) -> int:
        return (self.seed * 1_000_003 + int(self.hour_of(at) * 60) * 7 + salt) % (2**31)

    def bootstrap_drop(self) -> Landed:
        """The history the first model trains on: healthy rows from the 30 days before."""
        from ml.data import generate

        rows = generate(self.scenario.bootstrap_rows, seed=self._seed(self.start, 1))
        frame = month_before(rows, self.start)
        key = f"{UPSTREAM_PREFIX}history/transactions.csv"
        return self.ledger.put(self.s3, self.buckets["data"], key, csv_bytes(frame), self.start)

    def data_drop(self, hour_start: datetime) -> Landed:
        """One hour of the upstream producer's transactions, with the phase's drift."""
        from ml.data import generate

        hour = self.hour_of(hour_start)
        drift = self.scenario.phase_at(hour).drift
        seed = self._seed(hour_start, 2)
        frame = stamped(
            generate(self.scenario.rows_per_drop, seed=seed, drift=drift, hour=hour_start.hour),
            hour_start,
            timedelta(hours=1),
            seed,
        )
        if self.scenario.corrupt_drop_hour == int(hour):
            frame = frame.drop(columns=[schema.LABEL_COLUMN])  # the producer lost a column
        key = f"{UPSTREAM_PREFIX}{hour_start:%Y/%m/%d/%H}/transactions.csv"
        return self.ledger.put(
            self.s3, self.buckets["data"], key, csv_bytes(frame), hour_start + timedelta(hours=1)
        )

    def traffic(self, start: datetime, minutes: int, capture_prefix: str) -> dict[str, int]:
        """A slice of requests answered by the fleets, captured; counts of what happened.

        The fleets answer with one OpenMP thread, as the serving container is
        configured (``OMP_NUM_THREADS=1``): more threads only contend for the cores.
        """
        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=1):
            return self._traffic(start, minutes, capture_prefix)

    def _traffic(self, start: datetime, minutes: int, capture_prefix: str) -> dict[str, int]:
        from ml.data import generate

        if self.endpoint is None:
            return {"captured": 0, "errors": 0, "drawn": 0}
        hour = self.hour_of(start)
        phase = self.scenario.phase_at(hour)
        count = max(1, round(self.scenario.captured_per_hour * minutes / 60))
        # One slice is one clock hour's traffic, and fraud follows the clock (ml.data).
        frame = generate(count, seed=self._seed(start, 3), drift=phase.drift, hour=start.hour)
        served = errors = 0
        offset = 0
        for fleet, share in self.endpoint.route(count, self.rng):
            part = frame.iloc[offset : offset + share].reset_index(drop=True)
            offset += share
            failed = self.rng.random(share) < fleet.error_share
            errors += int(failed.sum())
            answered = part[~failed].reset_index(drop=True)
            if len(answered):
                served += self._capture(answered, fleet, start, minutes, capture_prefix)
        return {"captured": served, "errors": errors, "drawn": count}

    def _capture(
        self, frame: pd.DataFrame, fleet: Any, start: datetime, minutes: int, prefix: str
    ) -> int:
        from ml.capture_writer import simulate_traffic, write_capture

        seed = self._seed(start, 4) + zlib.crc32(fleet.config_name.encode()) % 997
        lines, labels = simulate_traffic(
            frame,
            fleet.model,
            start=start,
            seconds_between=minutes * 60 / max(len(frame), 1),
            seed=seed,
        )
        if self.scenario.monitoring_broken_at(self.hour_of(start)):
            lines = [(when, line[: len(line) // 2]) for when, line in lines]  # cut off mid-line
        root = self.work_dir / "capture"
        assert self.endpoint is not None
        endpoint, variant = self.endpoint.name, self.endpoint.variant
        for path in write_capture(lines, root, endpoint=endpoint, variant=variant):
            relative = path.relative_to(root / endpoint / variant).as_posix()
            key = f"{prefix.rstrip('/')}/{relative}"
            self.ledger.put(self.s3, self.buckets["monitoring"], key, path.read_bytes(), start)
            path.unlink()
        self._remember(frame, labels, fleet, start)
        return len(lines)

    def _remember(
        self, frame: pd.DataFrame, labels: pd.DataFrame, fleet: Any, at: datetime
    ) -> None:
        from ml.inference import predict_fn

        decision = predict_fn(frame, fleet.model)
        spread = self.rng.uniform(EARLIEST_LABEL, LATEST_LABEL, len(frame))
        delay = self.scenario.label_delay_hours * spread
        labelled = self.rng.random(len(frame)) < self.scenario.label_share
        requests = labels.copy()
        requests["at"] = at
        requests["flagged"] = decision[:, 1].astype(bool)
        requests["package"] = fleet.package_arn
        requests["arrives"] = [
            at + timedelta(hours=float(d)) if keep else pd.NaT
            for d, keep in zip(delay, labelled, strict=True)
        ]
        requests["written"] = False
        self.ledger.requests.append(requests)
        if labelled.any():
            self.ledger.unlabelled.append(requests)

    def land_labels(self, now: datetime, labels_prefix: str) -> int:
        """Write the labels that arrived by ``now`` and were not written yet, as one file."""
        due_frames = []
        for requests in self.ledger.unlabelled:
            due = requests["arrives"].notna() & (requests["arrives"] <= now) & ~requests["written"]
            if due.any():
                columns = [EVENT_ID, EVENT_ROW, SEGMENT, schema.LABEL_COLUMN]
                due_frames.append(requests.loc[due, columns])
                requests.loc[due, "written"] = True
        self.ledger.unlabelled = [
            r for r in self.ledger.unlabelled if (r["arrives"].notna() & ~r["written"]).any()
        ]
        if not due_frames:
            return 0
        frame = pd.concat(due_frames, ignore_index=True)
        key = f"{labels_prefix.rstrip('/')}/{now:%Y/%m/%d/%H}/labels-{now:%H%M}.csv"
        self.ledger.put(self.s3, self.buckets["monitoring"], key, csv_bytes(frame), now)
        self.labels_written += len(frame)
        return len(frame)

    def hour_sample(self, now: datetime, window: timedelta) -> dict[str, Any]:
        """Flag rate of the last hour, and recall on the labels of ``window`` that arrived."""
        frame = self.ledger.frame()
        if frame.empty:
            return {"flag_rate": None, "recall": None, "mature": 0, "requests": 0}
        last_hour = frame[(frame["at"] >= now - timedelta(hours=1)) & (frame["at"] < now)]
        mature = frame[
            (frame["at"] >= now - window) & frame["arrives"].notna() & (frame["arrives"] <= now)
        ]
        frauds = mature[mature[schema.LABEL_COLUMN] == 1]
        return {
            "flag_rate": float(last_hour["flagged"].mean()) if len(last_hour) else None,
            "recall": float(frauds["flagged"].mean()) if len(frauds) else None,
            "mature": len(mature),
            "requests": len(last_hour),
        }
