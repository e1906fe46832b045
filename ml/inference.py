"""SageMaker inference handlers: ``model_fn``, ``input_fn``, ``predict_fn``, ``output_fn``.

Requests are ``text/csv`` (rows of the feature columns in schema order, no
header needed) or ``application/json`` (``{"instances": [...]}`` of objects or
arrays, or a single object), read by ``ml.request_body``. Every malformed
request raises a ``RequestError`` carrying a 4xx status and a message that says
what to fix; an unseen category is not an error: the encoder maps it to
"unknown". ``invoke`` is the chain the server runs per request: the same
answer, with the model reading the request's columns without a DataFrame.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ml.feature_columns import FeatureColumns
from ml.model_artifact import ModelLoadError as ModelLoadError  # what model_fn raises
from ml.model_artifact import load_model
from ml.request_body import CSV as CSV
from ml.request_body import JSON as JSON
from ml.request_body import MAX_BODY_BYTES as MAX_BODY_BYTES
from ml.request_body import SMALL_CSV_CHARS as SMALL_CSV_CHARS
from ml.request_body import NotAcceptableError as NotAcceptableError
from ml.request_body import PayloadTooLargeError as PayloadTooLargeError
from ml.request_body import RequestError as RequestError
from ml.request_body import UnsupportedMediaTypeError as UnsupportedMediaTypeError
from ml.request_body import (
    check_values,
    columns_from_rows,
    csv_rows,
    json_rows,
    parse_columns,
    request_text,
)
from ml.request_body import media_type as media_type
from ml.response_body import SCORE_DECIMALS as SCORE_DECIMALS
from ml.response_body import csv_answer, json_answer


@dataclass
class LoadedModel:
    """The fitted estimator with the metadata it was saved with."""

    model: Any
    metadata: dict[str, Any]
    threshold: float


def model_fn(model_dir: str | Path) -> LoadedModel:
    """Load the model and its metadata, from the model directory or its tarball.

    A tarball (how a training job hands its model on) is unpacked into a
    temporary directory, so a read-only model directory works as well.
    """
    model, metadata = load_model(Path(model_dir))
    return LoadedModel(model, metadata, float(metadata["decision_threshold"]))


def input_fn(request_body: bytes | str, request_content_type: str | None) -> pd.DataFrame:
    """Parse a request body into a frame of the feature columns."""
    return parse_columns(request_body, request_content_type).frame()


def request_rows(request_body: bytes | str, request_content_type: str | None) -> list[list[Any]]:
    """The rows of a request, checked as ``input_fn`` checks them, without building a frame.

    For reading many small requests (data capture): a frame per request costs
    milliseconds, so callers collect rows and build one frame with ``rows_frame``.
    """
    kind, text = request_text(request_body, request_content_type)
    rows = json_rows(text) if kind == JSON else csv_rows(text)
    check_values(rows)
    return rows


def rows_frame(rows: list[list[Any]]) -> pd.DataFrame:
    """A frame of the feature columns from rows in schema order (as ``input_fn`` builds it)."""
    return columns_from_rows(rows).frame()


def invoke(
    model: LoadedModel, request_body: bytes, content_type: str | None, accept: str | None
) -> tuple[str, str]:
    """One request as the server answers it: the response body and its media type.

    The answer of ``output_fn(predict_fn(input_fn(...)))``; the model reads the
    parsed columns directly, which halves the time of a one-row request, and
    the scores go to the answer without the (n, 2) array in between.
    """
    kind = response_type(accept, default=media_type(content_type) or JSON)
    scores = model.model.predict_proba(parse_columns(request_body, content_type))[:, 1]
    return answer(scores, scores >= model.threshold, kind), kind


def predict_fn(input_data: pd.DataFrame | FeatureColumns, model: LoadedModel) -> np.ndarray:
    """Fraud probability and 0/1 decision per row, as an (n, 2) array.

    The model's encoder picks the feature columns by name (and names any that
    are missing), so extra columns such as the label are simply ignored.
    """
    score = model.model.predict_proba(input_data)[:, 1]
    return np.column_stack([score, score >= model.threshold])


def output_fn(prediction: np.ndarray, accept: str | None) -> str:
    """Serialise predictions as CSV lines ``score,is_fraud`` or JSON ``{"predictions": [...]}``."""
    return answer(prediction[:, 0], prediction[:, 1] != 0, response_type(accept))


def answer(scores: np.ndarray, fraud: np.ndarray, kind: str) -> str:
    """The answer's text for scores and their decisions (booleans), in ``kind``."""
    flags = fraud.view(np.uint8)  # 0 or 1, as the answer writes them
    return csv_answer(scores, flags) if kind == CSV else json_answer(scores, flags)


def response_type(accept: str | None, default: str = JSON) -> str:
    """The response media type for an Accept header (first supported type wins)."""
    for part in (accept or "").split(","):
        kind = media_type(part)
        if kind in (CSV, JSON):
            return kind
        if kind in ("", "*/*", "application/*", "text/*"):
            return default if kind != "text/*" else CSV
    raise NotAcceptableError(f"cannot answer in {accept!r}; accept {CSV} or {JSON}")
