"""The feature transformations that training and inference both use.

``TransactionEncoder`` is a scikit-learn transformer that sits first in the
model's ``Pipeline`` and is saved with it, so a served model applies exactly
the encoding it was trained with (no skew). Categories come from the schema,
not from the data, so an unseen merchant category is encoded as missing
instead of failing the request. It is stateless and vectorised: a
``ColumnTransformer`` doing the same work cost about 20x more per call, which
dominated single-row serving latency.

``LogLinearFeatures`` follows it in the logistic-regression candidate: log
amounts and counts, and one indicator per category (and per clock hour), the
shape in which fraud risk is close to additive.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from sklearn.base import BaseEstimator, TransformerMixin

from ml import schema

DERIVED_FEATURES = ("log_amount_ratio",)
CATEGORICAL = tuple(schema.CATEGORICAL_FEATURES)
# Output order of the encoder: numeric, derived, then categorical codes.
OUTPUT_FEATURES = (*schema.NUMERIC_FEATURES, *DERIVED_FEATURES, *CATEGORICAL)


class TransactionEncoder(TransformerMixin, BaseEstimator):
    """Numerics as floats, log(amount / 30-day average), categories as schema codes."""

    def fit(self, x: pd.DataFrame, y: Any = None) -> TransactionEncoder:
        """Nothing to learn: categories and columns come from the schema."""
        self.n_features_in_ = len(schema.FEATURE_COLUMNS)
        return self

    def transform(self, x: pd.DataFrame) -> np.ndarray:
        """A float matrix in OUTPUT_FEATURES order; unknown categories become NaN."""
        missing = [name for name in schema.FEATURE_COLUMNS if name not in x.columns]
        if missing:
            raise KeyError(f"missing feature columns: {', '.join(missing)}")
        out = np.empty((len(x), len(OUTPUT_FEATURES)), dtype=np.float64)
        for i, name in enumerate(schema.NUMERIC_FEATURES):
            out[:, i] = x[name].to_numpy(dtype=np.float64)
        amount = OUTPUT_FEATURES.index("amount")
        average = OUTPUT_FEATURES.index("avg_amount_30d")
        ratio = OUTPUT_FEATURES.index("log_amount_ratio")
        out[:, ratio] = np.log1p(out[:, amount]) - np.log1p(out[:, average])
        for name in CATEGORICAL:
            out[:, OUTPUT_FEATURES.index(name)] = _codes(name, x[name])
        return out

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """Names of the output columns, for inspection and importances."""
        return np.asarray(OUTPUT_FEATURES, dtype=object)


_CATEGORY_INDEX = {name: pd.Index(values) for name, values in schema.CATEGORICAL_FEATURES.items()}
_CATEGORY_ARROW = {name: pa.array(values) for name, values in schema.CATEGORICAL_FEATURES.items()}
_CATEGORY_CODE = {
    name: {value: float(code) for code, value in enumerate(values)}
    for name, values in schema.CATEGORICAL_FEATURES.items()
}
SMALL_BATCH = 256


def _codes(name: str, column: Any) -> np.ndarray:
    """Schema codes of one categorical column; NaN for a value the schema does not know.

    A request's large columns come dictionary-encoded (``ml.request_values``):
    each distinct text is looked up once and the codes taken by index. A dict
    lookup is cheapest for the few rows of an online request. Larger batches
    stay in compiled code: Arrow's ``index_in`` for Arrow strings (an
    Arrow-backed pandas column; about 20x faster than hashing Python objects),
    a pandas hash index otherwise.
    """
    values = getattr(column, "array", None)
    if isinstance(values, pa.DictionaryArray):
        return _dictionary_codes(name, values)
    if len(column) <= SMALL_BATCH:
        lookup = _CATEGORY_CODE[name]
        return np.array([lookup.get(value, np.nan) for value in column], dtype=np.float64)
    strings = _arrow_strings(column.array)
    if strings is not None:
        found = pc.index_in(strings, value_set=_CATEGORY_ARROW[name])
        return np.asarray(found.to_numpy(zero_copy_only=False), dtype=np.float64)
    codes = _CATEGORY_INDEX[name].get_indexer(column).astype(np.float64)
    codes[codes < 0] = np.nan
    return codes


def _dictionary_codes(name: str, values: pa.DictionaryArray) -> np.ndarray:
    """Codes of a dictionary-encoded column: its distinct texts' codes, taken by index."""
    lookup = _CATEGORY_CODE[name]
    # One entry per distinct text, and NaN last: where a null index (-1) points.
    codes = np.array([*map(lookup.get, values.dictionary.to_pylist()), None], dtype=np.float64)
    indices = values.indices.fill_null(-1) if values.null_count else values.indices
    return codes[indices.to_numpy()]


def _arrow_strings(values: Any) -> pa.Array | None:
    """A column's values as an Arrow array, if they are held in Arrow (else None)."""
    if isinstance(values, pa.Array):
        return values
    if hasattr(values, "__arrow_array__"):
        return pa.array(values)
    return None


LOG_FEATURES = (
    "amount",
    "avg_amount_30d",
    "account_age_days",
    "txn_count_24h",
    "distance_from_home_km",
)
LINEAR_FEATURES = ("is_new_device", "log_amount_ratio")
# Indicator columns: every category of each categorical, and each clock hour.
INDICATORS: tuple[tuple[str, int], ...] = (
    *((name, len(values)) for name, values in schema.CATEGORICAL_FEATURES.items()),
    ("hour", 24),
)


class LogLinearFeatures(TransformerMixin, BaseEstimator):
    """The encoder's matrix as log numerics plus one indicator per category and hour.

    Stateless: an unknown category (NaN code) sets no indicator of its column.
    """

    def fit(self, x: np.ndarray, y: Any = None) -> LogLinearFeatures:
        """Nothing to learn: the columns come from the schema."""
        self.n_features_in_ = len(OUTPUT_FEATURES)
        return self

    def transform(self, x: np.ndarray) -> np.ndarray:
        """A float matrix: log1p of amounts and counts, linear terms, then indicators."""
        rows = x.shape[0]
        columns = [np.log1p(np.maximum(x[:, OUTPUT_FEATURES.index(n)], 0.0)) for n in LOG_FEATURES]
        columns += [x[:, OUTPUT_FEATURES.index(n)] for n in LINEAR_FEATURES]
        blocks = [np.column_stack(columns)]
        for name, size in INDICATORS:
            code = x[:, OUTPUT_FEATURES.index(name)]
            known = np.isfinite(code) & (code >= 0) & (code < size)
            block = np.zeros((rows, size))
            block[np.flatnonzero(known), code[known].astype(np.intp)] = 1.0
            blocks.append(block)
        return np.hstack(blocks)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """Names of the output columns, in order."""
        names = [f"log_{n}" for n in LOG_FEATURES] + list(LINEAR_FEATURES)
        names += [f"{name}={i}" for name, size in INDICATORS for i in range(size)]
        return np.asarray(names, dtype=object)


def build_preprocessor() -> TransactionEncoder:
    """The feature step of the model pipeline."""
    return TransactionEncoder()


def feature_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """The model's input columns in schema order (a KeyError names any missing)."""
    missing = [name for name in schema.FEATURE_COLUMNS if name not in frame.columns]
    if missing:
        raise KeyError(f"missing feature columns: {', '.join(missing)}")
    return frame[list(schema.FEATURE_COLUMNS)]
