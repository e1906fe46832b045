"""The one feature transformation that training and inference both use.

The transformer is fitted inside the model pipeline and saved with it, so a
served model applies exactly the encoding it was trained with (no skew).
Categories come from the schema, not from the data, so an unseen merchant
category is encoded as "missing" instead of failing the request.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.preprocessing import FunctionTransformer, OrdinalEncoder

from ml import schema

DERIVED_FEATURES = ("log_amount_ratio",)
CATEGORICAL = tuple(schema.CATEGORICAL_FEATURES)
# Output order of the transformer: numeric, derived, then categorical codes.
OUTPUT_FEATURES = (*schema.NUMERIC_FEATURES, *DERIVED_FEATURES, *CATEGORICAL)
CATEGORICAL_OUTPUT_MASK = tuple(name in CATEGORICAL for name in OUTPUT_FEATURES)


def log_amount_ratio(frame: pd.DataFrame) -> np.ndarray:
    """How unusual the amount is for this card: log(amount / 30-day average)."""
    values = frame.to_numpy(dtype=float)
    return np.log1p(values[:, [0]]) - np.log1p(values[:, [1]])


def _derived_names(_transformer: object, _inputs: object) -> np.ndarray:
    return np.asarray(DERIVED_FEATURES, dtype=object)


def build_preprocessor() -> ColumnTransformer:
    """Numeric features as floats, the amount ratio, categories as fixed ordinal codes."""
    encoder = OrdinalEncoder(
        categories=[list(schema.CATEGORICAL_FEATURES[name]) for name in CATEGORICAL],
        handle_unknown="use_encoded_value",
        unknown_value=np.nan,
        encoded_missing_value=np.nan,
        dtype=np.float64,
    )
    ratio = FunctionTransformer(log_amount_ratio, feature_names_out=_derived_names)
    return ColumnTransformer(
        [
            ("numeric", "passthrough", list(schema.NUMERIC_FEATURES)),
            ("ratio", ratio, ["amount", "avg_amount_30d"]),
            ("categorical", encoder, list(CATEGORICAL)),
        ],
        sparse_threshold=0.0,
        verbose_feature_names_out=False,
    )


def feature_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """The model's input columns in schema order, numerics as float, categories as str."""
    missing = [name for name in schema.FEATURE_COLUMNS if name not in frame.columns]
    if missing:
        raise KeyError(f"missing feature columns: {', '.join(missing)}")
    out = {name: frame[name].astype(np.float64) for name in schema.NUMERIC_FEATURES}
    for name in CATEGORICAL:
        out[name] = frame[name].astype(object)
    return pd.DataFrame(out, index=frame.index)
