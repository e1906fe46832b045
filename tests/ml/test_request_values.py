"""What a request's values become: numbers as the standard library reads them, categories as
the encoder looks them up, and the values no record can hold refused by their row."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from ml import schema
from ml.inference import SMALL_CSV_CHARS, RequestError, input_fn, predict_fn
from ml.request_body import parse_columns
from tests.ml import test_inference as inference_tests
from tests.ml.test_inference import FEATURES, _csv, _json_row

loaded, rows = inference_tests.loaded, inference_tests.rows  # the same fixtures


def test_json_values_read_as_the_standard_library_reads_them():
    rng = np.random.default_rng(3)
    scaled = rng.random(300) * 10.0 ** rng.integers(-8, 8, 300)
    amounts = np.concatenate([scaled, [2.0**64, 1e-320]])
    numbers = [*map(float, amounts), 2**64 - 1, 9007199254740993, -0.0]
    text = ", ".join(f'[{json.dumps(n)}, 1, 1, 1, 1, 0, 3, "fuel", "pos", "US"]' for n in numbers)
    body = '{"instances": [' + text + "]}"
    read = parse_columns(body, "application/json").arrays["amount"]
    np.testing.assert_array_equal(read, np.array([float(n) for n in numbers]))


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("NaN", "amount must be a finite number"),
        ("Infinity", "amount must be a finite number"),
        ("1e999", "amount must be a finite number"),
        ("9" * 30, None),  # past 64 bits: read as the float it is
    ],
)
def test_numbers_orjson_refuses_get_the_standard_librarys_reading(value, message):
    body = _json_row(value)
    if message is None:
        assert parse_columns(body, "application/json").arrays["amount"][0] == float("9" * 30)
    else:
        with pytest.raises(RequestError, match=message):
            parse_columns(body, "application/json")


def test_a_lone_surrogate_category_is_an_unseen_category_in_a_large_request(loaded, rows):
    record = rows.head(1).to_dict(orient="records")[0]
    instances = [record] * 299 + [record | {"merchant_category": "\ud800"}]
    body = json.dumps({"instances": instances})  # ASCII escapes: json.loads reads \ud800
    prediction = predict_fn(parse_columns(body.encode(), "application/json"), loaded)
    assert prediction.shape == (300, 2) and np.isfinite(prediction).all()


def test_requests_hold_arrow_categories_exactly_where_the_encoder_looks_them_up_by_arrow():
    from ml.features import SMALL_BATCH
    from ml.request_body import ARROW_CATEGORY_ROWS

    assert ARROW_CATEGORY_ROWS == SMALL_BATCH


@pytest.mark.parametrize(
    ("row", "make", "message"),
    [
        (500, lambda line: "1,2,3", "row 501: 3 values, expected 10"),
        (700, lambda line: "abc," + line.split(",", 1)[1], "row 701: amount must be a number"),
        (999, lambda line: line + ",7", "row 1000: 11 values, expected 10"),
        (300, lambda line: "," + line.split(",", 1)[1], "row 301: amount must be a finite"),
    ],
)
def test_a_large_csv_bodys_fault_is_named_by_its_row(test_frame, row, make, message):
    lines = _csv(test_frame[FEATURES].head(1_000)).splitlines()
    lines[row] = make(lines[row])
    body = "\n".join(lines)
    assert len(body) > SMALL_CSV_CHARS  # read by Arrow
    with pytest.raises(RequestError, match=message):
        input_fn(body.encode(), "text/csv")


def test_large_json_categories_are_stripped_as_small_ones_are(rows):
    record = rows.head(1).to_dict(orient="records")[0]
    padded = [record | {"channel": " pos\t", "merchant_category": "crypto_exchange "}] * 300
    for count in (300, 10):
        body = json.dumps({"instances": padded[:count]})
        frame = input_fn(body.encode(), "application/json")
        assert set(frame["channel"]) == {"pos"}
        assert set(frame["merchant_category"]) == {"crypto_exchange"}


@pytest.mark.parametrize("rows", [1, 200])
@pytest.mark.parametrize("content_type", ["text/csv", "application/json"])
def test_a_value_below_the_schemas_minimum_is_a_request_error_naming_its_row(rows, content_type):
    """A negative amount is corrupt, and the log-linear model cannot score it (not a 500)."""
    good = [120.5, 80.0, 400, 3, 12.0, 0, 14, "grocery", "pos", "US"]
    values = [good] * (rows - 1) + [[-5.0, *good[1:]]]
    if content_type == "text/csv":
        body = "\n".join(",".join(map(str, v)) for v in values)
    else:
        body = json.dumps({"instances": values})
    with pytest.raises(RequestError, match=f"row {rows}: amount must be at least 0, got -5"):
        parse_columns(body, content_type)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (True, "row 250: is_new_device must be a number, got True"),
        (False, "row 250: is_new_device must be a number, got False"),
        (None, "row 250: is_new_device must be a number, got None"),
        ({"a": 1}, "row 250: is_new_device must be a number, got an object"),
        ("abc", "row 250: is_new_device must be a number, got 'abc'"),
    ],
)
def test_a_large_json_bodys_bad_number_is_named_by_its_row(rows, value, message):
    """Numbers are converted as one matrix; a true, false or null (which numpy would read
    as 1, 0 and NaN) is still refused, and named as reading value by value names it."""
    record = rows.head(1).to_dict(orient="records")[0]
    instances = [record] * 300
    instances[249] = record | {"is_new_device": value}
    with pytest.raises(RequestError, match=message):
        parse_columns(json.dumps({"instances": instances}), "application/json")


def test_numbers_that_are_all_lists_of_one_length_are_refused(rows):
    """Every numeric value a one-item list reads as a 3-dimensional matrix: still refused."""
    record = rows.head(1).to_dict(orient="records")[0]
    listed = record | {name: [record[name]] for name in FEATURES[:7]}
    body = json.dumps({"instances": [listed] * 300})
    with pytest.raises(RequestError, match="row 1: amount must be a number, got a list"):
        parse_columns(body, "application/json")


def test_the_first_fault_is_named_in_schema_order_across_columns(rows):
    record = rows.head(1).to_dict(orient="records")[0]
    instances = [record] * 300
    instances[9] = record | {"hour": -1}  # a later column, an earlier row
    instances[199] = record | {"amount": float("inf")}  # the first column
    with pytest.raises(RequestError, match="row 200: amount must be a finite number"):
        parse_columns(json.dumps({"instances": instances}), "application/json")


def test_a_csv_body_arrow_reads_in_several_blocks_scores_as_predict_proba(loaded, test_frame):
    """Past Arrow's block size (1 MB) the reader's chunks carry dictionaries of their own;
    combined, the categories are those of the rows (scores identical to predict_proba)."""
    from ml.request_body import arrow_table

    frame = pd.concat([test_frame[FEATURES]] * 2, ignore_index=True)  # about 2 MB of CSV
    frame.loc[frame.index[::97], "merchant_category"] = "crypto_exchange"
    frame.loc[frame.index[-5:], "channel"] = " pos "  # only in the last block
    body = _csv(frame).encode()
    assert arrow_table(body).column("channel").num_chunks > 1
    columns = parse_columns(body, "text/csv")
    expected = frame.assign(channel=frame["channel"].str.strip())
    np.testing.assert_array_equal(
        predict_fn(columns, loaded)[:, 0], loaded.model.predict_proba(expected)[:, 1]
    )
    assert set(columns.frame()["channel"]) == set(schema.CHANNELS)
