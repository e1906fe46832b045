"""Reading SageMaker data-capture files: encodings, pairing, malformed lines, windows."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from ml import schema
from ml.capture import (
    EVENT_ID,
    EVENT_ROW,
    INFERENCE_ID,
    INFERENCE_TIME,
    PREDICTION,
    SCORE,
    CaptureInputError,
    Window,
    capture_files,
    file_hour,
    quarantine_lines,
    read_capture,
    read_capture_file,
)
from ml.capture_writer import simulate_traffic, write_capture, write_capture_file
from ml.data import generate
from ml.errors import MlopsError
from ml.inference import CSV, JSON, input_fn, model_fn, predict_fn
from ml.quarantine import reason_path

START = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def model(model_dir):
    return model_fn(model_dir)


@pytest.fixture(scope="module")
def sample():
    return generate(120, seed=11)


def _captured(tmp_path, sample, model, **options):
    lines, labels = simulate_traffic(sample, model, start=START, **options)
    write_capture(lines, tmp_path / "capture")
    return read_capture(tmp_path / "capture"), labels


# What an endpoint writes for a one-row CSV request answered in CSV, laid out as the
# SageMaker developer guide shows a captured line ("View captured data"), written by
# hand so the reader is checked against the documented format, not only our writer.
DOCUMENTED_LINE = json.dumps(
    {
        "captureData": {
            "endpointInput": {
                "observedContentType": "text/csv",
                "mode": "INPUT",
                "data": "120.5,80.25,400,2,12.3,0,14,grocery,pos,US",
                "encoding": "CSV",
            },
            "endpointOutput": {
                "observedContentType": "text/csv; charset=utf-8",
                "mode": "OUTPUT",
                "data": "0.012345,0\n",
                "encoding": "CSV",
            },
        },
        "eventMetadata": {
            "eventId": "8f45e35c-fa44-40d2-8ed3-1bcab3a596f3",
            "inferenceId": "txn-1",
            "inferenceTime": "2020-07-30T13:36:30Z",
        },
        "eventVersion": "0",
    }
)


def test_reads_a_line_in_the_documented_capture_format(tmp_path):
    path = write_capture_file(tmp_path / "a.jsonl", [DOCUMENTED_LINE])
    frame, events, bad = read_capture_file(path)
    assert (events, bad) == (1, [])
    row = frame.iloc[0]
    assert row["amount"] == 120.5 and row["merchant_category"] == "grocery"
    assert row[EVENT_ID] == "8f45e35c-fa44-40d2-8ed3-1bcab3a596f3"
    assert row[INFERENCE_ID] == "txn-1"
    assert row[INFERENCE_TIME] == pd.Timestamp("2020-07-30T13:36:30Z")
    assert (row[SCORE], row[PREDICTION]) == (0.012345, 0)


def test_written_lines_follow_the_documented_layout(tmp_path, sample, model):
    lines, _ = simulate_traffic(sample.head(1), model, start=START, encode_base64=True)
    record = json.loads(lines[0][1])
    assert set(record) == {"captureData", "eventMetadata", "eventVersion"}
    assert record["eventVersion"] == "0"
    sides = record["captureData"]
    assert [sides[k]["mode"] for k in ("endpointInput", "endpointOutput")] == ["INPUT", "OUTPUT"]
    assert {k for s in sides.values() for k in s} == {
        "observedContentType",
        "mode",
        "data",
        "encoding",
    }
    assert sides["endpointInput"]["encoding"] == "BASE64"
    assert record["eventMetadata"]["inferenceTime"] == "2026-03-01T10:00:00.000Z"


@pytest.mark.parametrize(
    "options",
    [
        {"content_type": CSV, "encode_base64": True},
        {"content_type": JSON},
        {"content_type": JSON, "json_shape": "arrays"},
        {"content_type": JSON, "json_shape": "single"},
        {"content_type": JSON, "encode_base64": True},
        {"content_type": CSV, "accept": JSON},
    ],
    ids=["csv-base64", "json-objects", "json-arrays", "json-single", "json-base64", "csv-to-json"],
)
def test_every_encoding_reads_the_same_rows_as_plain_csv(tmp_path, sample, model, options):
    reference, _ = _captured(tmp_path / "csv", sample, model, content_type=CSV)
    batch, _ = _captured(tmp_path / "other", sample, model, **options)
    columns = [*schema.FEATURE_COLUMNS, SCORE, PREDICTION, INFERENCE_TIME]
    pd.testing.assert_frame_equal(batch.frame[columns], reference.frame[columns])
    assert batch.bad_lines == []


def test_rows_read_back_equal_the_rows_sent(tmp_path, sample, model):
    batch, _ = _captured(tmp_path, sample, model, content_type=JSON)
    sent = input_fn(sample.to_csv(index=False, columns=list(schema.FEATURE_COLUMNS)), CSV)
    pd.testing.assert_frame_equal(batch.frame[list(schema.FEATURE_COLUMNS)], sent)


def test_multi_row_requests_pair_each_row_with_its_own_score(tmp_path, sample, model):
    batch, _ = _captured(tmp_path, sample, model, content_type=CSV, rows_per_request=7)
    frame = batch.frame
    expected = np.round(predict_fn(sample, model)[:, 0], 6)
    np.testing.assert_allclose(frame[SCORE].to_numpy(), expected, atol=1e-6)
    assert batch.events == -(-len(sample) // 7)
    assert frame.groupby(EVENT_ID, sort=False)[EVENT_ROW].apply(list).iloc[0] == list(range(7))
    assert frame[EVENT_ID].nunique() == batch.events


def _good_lines(sample, model, count=3):
    lines, _ = simulate_traffic(sample.head(count), model, start=START)
    return [line for _, line in lines]


def _with_input(line, data, encoding="CSV"):
    record = json.loads(line)
    record["captureData"]["endpointInput"].update(data=data, encoding=encoding)
    return json.dumps(record)


@pytest.mark.parametrize(
    ("make_bad", "reason"),
    [
        (lambda good: good[:-5], "not_json"),
        (lambda good: json.dumps({"eventVersion": "0"}), "missing_field"),
        (lambda good: _with_input(good, "@@not base64@@", "BASE64"), "bad_base64"),
        (lambda good: _with_input(good, "1,2,3"), "bad_input"),
        (lambda good: _with_input(good, "x,1,1,1,1,0,3,fuel,pos,US"), "bad_input"),
        (lambda good: _with_input(good, "1,1,1,1,1,0,3,fuel,pos,US\n2,1,1,1,1,0,3,fuel,pos,US"),
         "row_mismatch"),
        (lambda good: _with_input(good, "1,1,1,1,1,0,3,fuel,pos,US", "GZIP"), "unknown_encoding"),
        (lambda good: good.replace('"inferenceTime":"2026', '"inferenceTime":"Tuesday'),
         "bad_time"),
    ],
    ids=["truncated", "no-capture-data", "base64", "columns", "number", "rows", "encoding", "time"],
)  # fmt: skip
def test_a_malformed_line_is_reported_and_the_others_are_read(
    tmp_path, sample, model, make_bad, reason
):
    good = _good_lines(sample, model)
    path = write_capture_file(tmp_path / "c.jsonl", [good[0], make_bad(good[1]), good[2]])
    frame, events, bad = read_capture_file(path)
    assert (events, len(frame)) == (2, 2)
    assert [(b.line, b.reason) for b in bad] == [(2, reason)]
    assert bad[0].text == make_bad(good[1]) and bad[0].message


def test_quarantine_copies_the_bad_lines_with_reasons_and_keeps_the_capture(
    tmp_path, sample, model
):
    good = _good_lines(sample, model)
    root = tmp_path / "capture"
    path = write_capture_file(
        root / "ep/primary/2026/03/01/10/a.jsonl", [good[0], "{oops", good[1]]
    )
    before = path.read_bytes()
    batch = read_capture(root)
    written = quarantine_lines(batch.bad_lines, root / "quarantine")
    assert path.read_bytes() == before
    assert written[0].read_text() == "{oops\n"
    reason = json.loads(reason_path(written[0]).read_text())
    assert reason["source"] == str(path)
    assert [(item["line"], item["reason"]) for item in reason["lines"]] == [(2, "not_json")]
    assert capture_files(root) == [path]  # the quarantined copy is never read again


def test_a_second_quarantine_of_the_same_file_never_overwrites(tmp_path, sample, model):
    path = write_capture_file(tmp_path / "c.jsonl", ["{oops"])
    _, _, bad = read_capture_file(path)
    first = quarantine_lines(bad, tmp_path / "q")
    second = quarantine_lines(bad, tmp_path / "q")
    assert first != second and first[0].exists() and second[0].exists()


def _hourly(tmp_path, sample, model, hours=5):
    lines, _ = simulate_traffic(
        sample.head(hours * 2), model, start=START, seconds_between=1800
    )  # two events per hour
    return write_capture(lines, tmp_path / "capture", endpoint="fraud", variant="primary")


def test_capture_files_are_laid_out_by_endpoint_variant_and_hour(tmp_path, sample, model):
    files = _hourly(tmp_path, sample, model)
    relative = files[0].relative_to(tmp_path / "capture")
    assert relative.parts[:6] == ("fraud", "primary", "2026", "03", "01", "10")
    assert [file_hour(f) for f in files] == [START + timedelta(hours=h) for h in range(5)]


def test_a_window_selects_the_files_of_its_hours_from_their_paths(tmp_path, sample, model):
    files = _hourly(tmp_path, sample, model)
    window = Window(START + timedelta(hours=1), START + timedelta(hours=3))
    assert capture_files(tmp_path / "capture", window) == files[1:3]
    batch = read_capture(tmp_path / "capture", window)
    assert batch.events == 4
    assert batch.frame[INFERENCE_TIME].min() == pd.Timestamp(START + timedelta(hours=1))


def test_a_window_inside_an_hour_keeps_only_its_events(tmp_path, sample, model):
    _hourly(tmp_path, sample, model)
    window = Window(START + timedelta(minutes=20), START + timedelta(minutes=40))
    batch = read_capture(tmp_path / "capture", window)
    assert (batch.events, len(batch.frame)) == (1, 1)
    assert batch.frame[INFERENCE_TIME].iloc[0] == pd.Timestamp(START + timedelta(minutes=30))


def test_window_hours_alone_means_the_last_full_hours():
    window = Window.parse(hours=2, now=datetime(2026, 3, 1, 12, 5, tzinfo=UTC))
    assert (window.start, window.end) == (START, START + timedelta(hours=2))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"start": "2026-03-01T12:00Z", "end": "2026-03-01T10:00Z"}, "not before its end"),
        ({"start": "2026-03-01T10:00Z", "end": "2026-03-01T12:00Z", "hours": 1}, "not all three"),
        ({"start": "yesterday"}, "not an ISO 8601 time"),
        ({"hours": 0}, "must be positive"),
    ],
)
def test_a_bad_window_is_a_clear_error(kwargs, message):
    with pytest.raises(CaptureInputError, match=message):
        Window.parse(**kwargs)


def test_a_window_without_files_is_a_clear_error(tmp_path, sample, model):
    _hourly(tmp_path, sample, model)
    with pytest.raises(CaptureInputError, match="no capture files between"):
        capture_files(tmp_path / "capture", Window(START + timedelta(days=1)))


def test_a_window_cannot_place_a_file_off_the_hourly_layout(tmp_path, sample, model):
    write_capture_file(tmp_path / "flat.jsonl", _good_lines(sample, model, 1))
    with pytest.raises(CaptureInputError, match="yyyy/mm/dd/hh"):
        capture_files(tmp_path, Window(START))


def test_a_directory_without_capture_files_is_a_clear_error(tmp_path):
    with pytest.raises(CaptureInputError, match=r"no \.jsonl capture files"):
        read_capture(tmp_path)


def test_traffic_placed_at_its_time_of_day_lands_in_its_own_clock_hours(tmp_path, model):
    day = datetime(2026, 3, 1, tzinfo=UTC)
    frame = generate(2_000, 71)  # a day of transactions, busy by day and quiet at night
    lines, _ = simulate_traffic(frame, model, day=day)
    files = write_capture(lines, tmp_path, endpoint="fraud", variant="primary")
    assert len(files) == 24
    for path in files:
        batch = read_capture(path)
        hour = file_hour(path)
        assert hour is not None and (batch.frame["hour"] == hour.hour).all()
    assert [when for when, _ in lines] == sorted(when for when, _ in lines)


def test_one_clock_hour_of_traffic_fills_one_capture_hour(tmp_path, model):
    hour = datetime(2026, 3, 1, 14, tzinfo=UTC)
    lines, _ = simulate_traffic(generate(500, 72, hour=14), model, day=hour)
    files = write_capture(lines, tmp_path)
    assert [file_hour(f) for f in files] == [hour]
    assert read_capture(files[0]).events == 500


def test_time_of_day_placement_needs_event_times(model):
    with pytest.raises(MlopsError, match="needs the event_time column"):
        simulate_traffic(generate(5, 73).drop(columns="event_time"), model, day=START)
