"""The feedback step's capture index: each capture file read about once, not once an hour."""

from __future__ import annotations

import gzip
import json
from datetime import timedelta
from typing import Any

import pandas as pd

from pipelines.jobs.feedback_capture import INDEX_FILE, digest, digests
from tests.pipelines.jobs.test_feedback import (  # noqa: F401 - fixtures used by name
    CAPTURE,
    ENDPOINT,
    H,
    LEDGER,
    MONITORING,
    clock,
    drop,
    run,
    s3,
    send_labels,
    send_traffic,
)


def index_of(s3: Any) -> dict[str, Any]:
    body = s3.get_object(Bucket=MONITORING, Key=f"{LEDGER}{INDEX_FILE}")["Body"].read()
    return dict(json.loads(gzip.decompress(body))["files"])


def count_gets(s3: Any) -> list[str]:
    """The keys of every GetObject the client sends from now on."""
    keys: list[str] = []
    s3.meta.events.register(
        "provide-client-params.s3.GetObject", lambda params, **_: keys.append(params["Key"])
    )
    return keys


def hours_of_traffic(s3: Any, hours: int) -> list[pd.DataFrame]:
    """One capture file per hour for ``hours`` hours before H; each hour's labels."""
    return [
        send_traffic(s3, 20, H - timedelta(hours=back), seed=back) for back in range(hours, 0, -1)
    ]


def test_a_windows_labels_read_only_the_capture_files_that_hold_their_events(
    s3, clock, tmp_path
) -> None:
    labels = hours_of_traffic(s3, 12)
    send_labels(s3, clock, labels[3], H + timedelta(minutes=5), "one-hour")
    gets = count_gets(s3)
    report = run(s3, H + timedelta(hours=1, minutes=5), tmp_path)
    assert report["landed_rows"] == 20 and report["windows"][-1]["join"]["capture_files"] == 1
    assert sum(key.startswith(CAPTURE) for key in gets) == 12  # each file once: indexed, joined
    assert len(index_of(s3)) == 12
    # The next hour: one new capture file is indexed; the labels name two hours.
    send_traffic(s3, 20, H, seed=99)
    send_labels(s3, clock, pd.concat([labels[5], labels[8]]), H + timedelta(hours=1, minutes=5), "b")
    gets.clear()
    report = run(s3, H + timedelta(hours=2, minutes=5), tmp_path)
    assert report["landed_rows"] == 40 and report["windows"][-1]["join"]["capture_files"] == 2
    assert sum(key.startswith(CAPTURE) for key in gets) == 3
    assert report["capture"]["newly_indexed"] == 1 and report["capture"]["indexed_files"] == 13


def test_a_lost_or_unreadable_index_is_rebuilt_and_rows_still_land_once(
    s3, clock, tmp_path
) -> None:
    labels = hours_of_traffic(s3, 3)
    send_labels(s3, clock, labels[0].iloc[:10], H + timedelta(minutes=5), "a")
    run(s3, H + timedelta(hours=1, minutes=5), tmp_path)
    s3.put_object(Bucket=MONITORING, Key=f"{LEDGER}{INDEX_FILE}", Body=b"not gzip")
    send_labels(s3, clock, labels[0], H + timedelta(hours=1, minutes=5), "again")
    report = run(s3, H + timedelta(hours=2, minutes=5), tmp_path)
    assert report["capture"]["newly_indexed"] == 3 and report["landed_rows"] == 10
    assert set(drop(s3, H + timedelta(hours=1))["transaction_id"]).isdisjoint(
        drop(s3, H)["transaction_id"]
    )


def test_files_that_left_the_look_back_leave_the_index(s3, clock, tmp_path) -> None:
    labels = hours_of_traffic(s3, 30)
    send_labels(s3, clock, labels[-1], H + timedelta(minutes=5), "a")
    run(s3, H + timedelta(hours=1, minutes=5), tmp_path, lookback_hours=24, catch_up_hours=1)
    hours = sorted(key.removeprefix(CAPTURE)[:13] for key in index_of(s3))
    # The window H's look-back is [H - 23 h, H + 1 h): capture of H - 23 h .. H - 1 h.
    assert hours == [f"{H - timedelta(hours=back):%Y/%m/%d/%H}" for back in range(23, 0, -1)]


def test_an_index_entry_holds_each_event_ids_digest() -> None:
    ids = ["a", "b", "c"]
    entry = "".join(digest(i) for i in ids)
    assert digests(entry) == {digest(i) for i in ids} and len(entry) == 24
    assert digest("a") != digest("b")
