from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest

from ml import schema
from ml.features import feature_frame
from ml.inference import (
    MAX_BODY_BYTES,
    SMALL_CSV_CHARS,
    ModelLoadError,
    RequestError,
    input_fn,
    invoke,
    model_fn,
    output_fn,
    predict_fn,
    request_rows,
    rows_frame,
)
from ml.model_artifact import TARBALL, pack
from ml.request_body import parse_columns
from ml.serve import create_app

FEATURES = list(schema.FEATURE_COLUMNS)

with warnings.catch_warnings():
    # Starlette's test client still runs on httpx; it warns about a future successor.
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient


@pytest.fixture(scope="module")
def loaded(model_dir):
    return model_fn(model_dir)


@pytest.fixture(scope="module")
def client(loaded):
    return TestClient(create_app(loaded, max_body_bytes=64_000))


@pytest.fixture(scope="module")
def rows(test_frame):
    return test_frame[FEATURES].head(20)


def _csv(frame) -> str:
    return frame.to_csv(index=False, header=False)


def test_handlers_give_the_same_scores_as_the_model(loaded, rows):
    direct = loaded.model.predict_proba(feature_frame(rows))[:, 1]
    for body, kind in (
        (_csv(rows), "text/csv"),
        (json.dumps({"instances": rows.to_dict(orient="records")}), "application/json"),
        (json.dumps({"instances": rows.to_numpy().tolist()}), "application/json"),
    ):
        prediction = predict_fn(input_fn(body.encode(), kind), loaded)
        np.testing.assert_allclose(prediction[:, 0], direct, rtol=1e-12)


@pytest.mark.parametrize("count", [1, 16, 17, 150, 400])
@pytest.mark.parametrize("kind", ["text/csv", "application/json"])
def test_invoke_answers_as_the_handler_chain_without_a_frame(loaded, test_frame, kind, count):
    rows = test_frame[FEATURES].head(count)
    if kind == "text/csv":
        body = _csv(rows).encode()
    else:
        body = json.dumps({"instances": rows.to_dict(orient="records")}).encode()
    framed = predict_fn(input_fn(body, kind), loaded)
    np.testing.assert_allclose(predict_fn(parse_columns(body, kind), loaded), framed, rtol=1e-12)
    assert invoke(loaded, body, kind, None) == (output_fn(framed, kind), kind)
    other = "text/csv" if kind == "application/json" else "application/json"
    assert invoke(loaded, body, kind, other)[1] == other


def test_small_and_large_csv_bodies_parse_alike(test_frame):
    from ml.inference import SMALL_CSV_CHARS

    rows = test_frame[FEATURES].head(400)
    body = _csv(rows)
    assert len(body) > SMALL_CSV_CHARS  # Arrow path
    large = input_fn(body.encode(), "text/csv")
    small = pd.concat(
        [input_fn(_csv(rows.iloc[i : i + 50]).encode(), "text/csv") for i in range(0, 400, 50)],
        ignore_index=True,
    )
    pd.testing.assert_frame_equal(large, small, check_dtype=False)
    bad = body.replace(_csv(rows.head(1)).split(",")[0], "abc", 1)
    for text in (bad, "".join(bad.splitlines(keepends=True)[:5])):
        with pytest.raises(RequestError, match="row 1: amount must be a number, got 'abc'"):
            input_fn(text.encode(), "text/csv")


def test_csv_output_is_score_and_decision_per_line(loaded, rows):
    body = output_fn(predict_fn(input_fn(_csv(rows), "text/csv"), loaded), "text/csv")
    lines = body.splitlines()
    assert len(lines) == len(rows)
    score, flag = lines[0].split(",")
    assert 0 <= float(score) <= 1 and flag in {"0", "1"}


def test_model_dir_without_model_is_a_clear_error(tmp_path):
    with pytest.raises(ModelLoadError, match="mlops train"):
        model_fn(tmp_path)


def test_model_loads_from_a_sagemaker_tarball(model_dir, tmp_path):
    pack(model_dir, tmp_path / TARBALL)
    assert model_fn(tmp_path).threshold == model_fn(model_dir).threshold
    assert [p.name for p in tmp_path.iterdir()] == [TARBALL]  # read-only friendly


def test_ping_answers_200(client):
    assert client.get("/ping").status_code == 200


def test_invocation_csv_and_json(client, rows):
    response = client.post("/invocations", content=_csv(rows), headers={"content-type": "text/csv"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert len(response.text.splitlines()) == len(rows)
    payload = {"instances": rows.head(2).to_dict(orient="records")}
    response = client.post("/invocations", json=payload, headers={"accept": "application/json"})
    assert response.status_code == 200
    assert len(response.json()["predictions"]) == 2


def test_unseen_category_is_scored_not_refused(client, rows):
    record = rows.head(1).to_dict(orient="records")[0] | {"merchant_category": "crypto_exchange"}
    response = client.post("/invocations", json={"instances": [record]})
    assert response.status_code == 200
    assert 0 <= response.json()["predictions"][0]["score"] <= 1


def _one_row(rows) -> str:
    return _csv(rows.head(1)).strip()


MALFORMED = {
    "unsupported content type": (lambda r: _one_row(r), "text/plain", 415, "not supported"),
    "missing content type": (lambda r: _one_row(r), None, 415, "not supported"),
    "empty body": (lambda r: "", "text/csv", 400, "empty body"),
    "blank body": (lambda r: " \n ", "application/json", 400, "empty body"),
    "bad json": (lambda r: '{"instances": [', "application/json", 400, "not valid JSON"),
    "json not a list": (lambda r: '{"instances": 5}', "application/json", 400, "instances"),
    "json empty list": (lambda r: '{"instances": []}', "application/json", 400, "at least one"),
    "json missing field": (
        lambda r: '{"instances": [{"amount": 1}]}',
        "application/json",
        400,
        "lacks",
    ),
    "json short array": (
        lambda r: '{"instances": [[1, 2]]}',
        "application/json",
        400,
        "list of 10",
    ),
    "json string amount": (
        lambda r: json.dumps(
            {"instances": [r.head(1).to_dict(orient="records")[0] | {"amount": "ten"}]}
        ),
        "application/json",
        400,
        "amount must be a number",
    ),
    "json null amount": (
        lambda r: json.dumps(
            {"instances": [r.head(1).to_dict(orient="records")[0] | {"amount": None}]}
        ),
        "application/json",
        400,
        "amount must be a number",
    ),
    "too few columns": (lambda r: "1,2,3", "text/csv", 400, "expected 10"),
    "too many columns": (lambda r: _one_row(r) + ",7", "text/csv", 400, "expected 10"),
    "non-numeric value": (
        lambda r: "abc," + _one_row(r).split(",", 1)[1],
        "text/csv",
        400,
        "must be a number",
    ),
    "infinite value": (lambda r: "inf," + _one_row(r).split(",", 1)[1], "text/csv", 400, "finite"),
    "not utf-8": (lambda r: b"\xff\xfe1,2", "text/csv", 400, "UTF-8"),
    "oversize body": (lambda r: (_one_row(r) + "\n") * 2_000, "text/csv", 413, "limit"),
    "json huge integer": (
        lambda r: _json_row(str(10**400)),
        "application/json",
        400,
        "amount must be a finite number",
    ),
    "json 5000-digit integer": (
        lambda r: _json_row("9" * 5000),
        "application/json",
        400,
        "integer too long",
    ),
    "json nested 30000 deep": (
        lambda r: "[" * 30_000 + "]" * 30_000,
        "application/json",
        400,
        "nests too deeply",
    ),
    "json nested category": (
        lambda r: _json_row("120.5").replace('"grocery"', "[[[1]]]"),
        "application/json",
        400,
        "merchant_category must be a text value, got a list",
    ),
}


def _json_row(amount: str) -> str:
    """One instance as a JSON array, its amount written as given."""
    return '{"instances": [[' + amount + ', 80.25, 400, 2, 12.3, 0, 14, "grocery", "pos", "US"]]}'


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_requests_get_a_4xx_with_a_message(client, rows, case):
    make, content_type, status, text = MALFORMED[case]
    headers = {"content-type": content_type} if content_type else {}
    response = client.post("/invocations", content=make(rows), headers=headers)
    assert response.status_code == status, response.text
    assert text in response.json()["error"]


def test_unacceptable_accept_header_is_406(client, rows):
    response = client.post(
        "/invocations",
        content=_one_row(rows),
        headers={"content-type": "text/csv", "accept": "image/png"},
    )
    assert response.status_code == 406


def test_wrong_method_is_405_not_500(client):
    assert client.get("/invocations").status_code == 405


@pytest.mark.parametrize("opening", ["[", '{"a": '])
def test_json_nested_100000_deep_is_refused_not_a_crash(opening):
    with pytest.raises(RequestError, match="nests too deeply") as error:
        input_fn(opening * 100_000, "application/json")
    assert error.value.status == 400


def test_handler_limits_body_size():
    with pytest.raises(RequestError) as error:
        input_fn(b"1" * (MAX_BODY_BYTES + 1), "text/csv")
    assert error.value.status == 413


ROW = "120.5,80.25,400,2,12.3,0,14,grocery,pos,US"


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (ROW.replace("120.5", "abc"), "text/csv"),
        (ROW.replace("120.5", "nan"), "text/csv"),
        ("1,2,3", "text/csv"),
        ("", "text/csv"),
        ('{"instances": [{"amount": 1}]}', "application/json"),
        ('{"instances": [[true, 1, 1, 1, 1, 0, 3, "fuel", "pos", "US"]]}', "application/json"),
        (ROW, "text/plain"),
        ('{"instances": [[1e999, 1, 1, 1, 1, 0, 3, "fuel", "pos", "US"]]}', "application/json"),
        ("[[" + str(10**400) + ', 1, 1, 1, 1, 0, 3, "fuel", "pos", "US"]]', "application/json"),
        ('[[1, 1, 1, 1, 1, 0, 3, {"a": 1}, "pos", "US"]]', "application/json"),
    ],
)
def test_request_rows_refuses_what_input_fn_refuses_with_the_same_message(body, content_type):
    with pytest.raises(RequestError) as served:
        input_fn(body, content_type)
    with pytest.raises(RequestError) as rows:
        request_rows(body, content_type)
    assert str(rows.value) == str(served.value)


def test_request_rows_build_the_frame_input_fn_builds():
    body = ROW + "\n" + ROW.replace("grocery", "fuel")
    pd.testing.assert_frame_equal(
        rows_frame(request_rows(body, "text/csv")), input_fn(body, "text/csv")
    )


@pytest.mark.parametrize("count", [1, 3, 500])
def test_json_answers_are_the_text_json_dumps_writes(count):
    rng = np.random.default_rng(count)
    scores = np.concatenate([[0.0, 1.0, 1e-9, 0.5], rng.random(count)])
    prediction = np.column_stack([scores, scores >= 0.5])
    expected = json.dumps(
        {"predictions": [{"score": round(float(s), 6), "is_fraud": bool(s >= 0.5)} for s in scores]}
    )
    assert output_fn(prediction, "application/json") == expected


def test_csv_and_json_answers_carry_the_score_decimals_capture_records() -> None:
    from ml.inference import SCORE_DECIMALS, output_fn

    prediction = np.array([[0.123456789, 0.0]])
    assert output_fn(prediction, "text/csv") == f"{0.123456789:.{SCORE_DECIMALS}f},0\n"
    assert json.loads(output_fn(prediction, "application/json"))["predictions"][0]["score"] == (
        round(0.123456789, SCORE_DECIMALS)
    )


@pytest.mark.parametrize("shape", ["csv", "objects", "arrays"])
def test_a_thousand_row_request_scores_exactly_as_predict_proba(loaded, test_frame, shape):
    rows = test_frame[FEATURES].head(1_000)
    if shape == "csv":
        body, kind = _csv(rows).encode(), "text/csv"
    else:
        instances = rows.to_dict(orient="records") if shape == "objects" else rows.to_numpy()
        body = json.dumps({"instances": instances.tolist() if shape == "arrays" else instances})
        body, kind = body.encode(), "application/json"
    direct = loaded.model.predict_proba(rows)[:, 1]
    np.testing.assert_array_equal(predict_fn(parse_columns(body, kind), loaded)[:, 0], direct)
    answer, _ = invoke(loaded, body, kind, "text/csv")
    assert answer == "".join(f"{score:.6f},{int(score >= loaded.threshold)}\n" for score in direct)


def test_large_csv_categories_are_stripped_as_small_ones_are(test_frame):
    rows = test_frame[FEATURES].head(400).copy()
    rows.loc[rows.index[::3], "channel"] = " pos\t"
    rows.loc[rows.index[::5], "merchant_category"] = "crypto_exchange "
    body = _csv(rows)
    assert len(body) > SMALL_CSV_CHARS  # read by Arrow
    large = input_fn(body.encode(), "text/csv")
    small = pd.concat(
        [input_fn(_csv(rows.iloc[i : i + 50]).encode(), "text/csv") for i in range(0, 400, 50)],
        ignore_index=True,
    )
    pd.testing.assert_frame_equal(large, small, check_dtype=False)
    assert set(large["channel"]) <= set(schema.CHANNELS)
    assert "crypto_exchange" in set(large["merchant_category"])
