"""A request's feature columns as arrays, read by the model as it reads a DataFrame.

Building a pandas DataFrame costs about 0.3 ms, as much as scoring one row, so
the server hands the model these arrays instead: the model's encoder
(``ml.features.TransactionEncoder``) reads a table by ``columns``, ``len`` and
``table[name].to_numpy(dtype)``, which this class answers for plain arrays.
Numbers are numpy arrays; categories of a large request stay Arrow strings,
which the encoder looks up in compiled code (``Column.array``). The scores are
the same as for the DataFrame ``input_fn`` builds (tested).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeAlias

import numpy as np
import pandas as pd
import pyarrow as pa

from ml import schema

FEATURES = tuple(schema.FEATURE_COLUMNS)
Values: TypeAlias = np.ndarray | pa.Array


class Column:
    """One column's values, converted as ``pandas.Series.to_numpy`` converts them."""

    __slots__ = ("values",)

    def __init__(self, values: Values) -> None:
        self.values = values

    def to_numpy(self, dtype: Any = None) -> np.ndarray:
        return np.asarray(_numpy(self.values), dtype=dtype)

    @property
    def array(self) -> Values:
        """The values, as ``pandas.Series.array`` gives a column's own array."""
        return self.values

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        return np.asarray(_numpy(self.values), dtype=dtype)

    def __len__(self) -> int:
        return len(self.values)

    def __iter__(self) -> Any:
        return iter(
            self.values.tolist() if isinstance(self.values, np.ndarray) else self.values.to_pylist()
        )


class FeatureColumns:
    """The feature columns of some rows, each an array of the same length."""

    __slots__ = ("arrays", "rows")

    def __init__(self, arrays: Mapping[str, Values]) -> None:
        self.arrays = dict(arrays)
        self.rows = len(next(iter(self.arrays.values()))) if self.arrays else 0

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(self.arrays)

    @property
    def shape(self) -> tuple[int, int]:
        return self.rows, len(self.arrays)

    def __len__(self) -> int:
        return self.rows

    def __getitem__(self, name: str) -> Column:
        return Column(self.arrays[name])

    def frame(self) -> pd.DataFrame:
        """The same columns as a DataFrame, in schema order (categories as Python strings)."""
        arrays = {name: _numpy(values) for name, values in self.arrays.items()}
        return pd.DataFrame(arrays, columns=list(FEATURES))


def _numpy(values: Values) -> np.ndarray:
    """Numpy values of a column: Arrow strings become an object array of str."""
    if isinstance(values, pa.Array):
        return values.to_numpy(zero_copy_only=False)
    return values
