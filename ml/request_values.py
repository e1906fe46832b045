"""A request's values as the model reads them, every bad one refused with its row and a fix.

Numbers become float64 arrays (as Python's ``float()`` reads them), refused
when they are not numbers, not finite, or below the schema's minimum.
Categories become stripped text: a large request's as an Arrow dictionary
array, whose few distinct texts the model's encoder looks up once each (see
``ml.features``); a small request's as a numpy array of ``str``. The common,
well-formed request is checked a whole matrix or column at a time; only when
that finds a fault is each value read again, to name the first bad one.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from itertools import chain
from typing import Any

import numpy as np
import pyarrow as pa

from ml.errors import MlopsError
from ml.feature_columns import Values
from ml.schema import NUMERIC_FEATURES, NUMERIC_RANGES

SHOWN_CHARS = 40  # of a bad value, in a message
PLAIN_NUMBERS = frozenset({float, int, str})  # what numpy converts as Python's float() does
# Past this many rows categories are held in Arrow, which the model's encoder
# reads in compiled code; below it (ml.features.SMALL_BATCH, tested equal)
# the encoder's dict lookup per value is cheaper.
ARROW_CATEGORY_ROWS = 256
CATEGORY_TYPE = pa.dictionary(pa.int32(), pa.string())
LOWEST = np.array([NUMERIC_RANGES.get(name, (-math.inf,))[0] for name in NUMERIC_FEATURES])


class RequestError(MlopsError):
    """A request the client must fix; ``status`` is the HTTP status to answer with."""

    status = 400


def number_columns(columns: Sequence[Sequence[Any]]) -> dict[str, np.ndarray]:
    """The numeric features' values (one sequence per feature, in schema order) as arrays.

    One type check and one conversion for the whole matrix; the first fault
    is named as reading each column on its own would name it.
    """
    try:
        if not set(map(type, chain.from_iterable(columns))) <= PLAIN_NUMBERS:
            raise TypeError  # booleans, nulls, lists, objects: find and name the bad one
        matrix = np.array(columns, dtype=np.float64)
    except (TypeError, ValueError, OverflowError):
        return {
            name: _numbers(name, column)
            for name, column in zip(NUMERIC_FEATURES, columns, strict=True)
        }
    return checked_numbers(matrix)


def checked_numbers(matrix: np.ndarray) -> dict[str, np.ndarray]:
    """The rows of a (feature, row) matrix by name, refusing a value not finite or too low."""
    if not np.isfinite(matrix).all() or (matrix < LOWEST[:, None]).any():
        for name, values in zip(NUMERIC_FEATURES, matrix, strict=True):
            _require_finite(name, values)
            _require_in_range(name, values)
    return dict(zip(NUMERIC_FEATURES, matrix, strict=True))


def _numbers(name: str, values: Sequence[Any]) -> np.ndarray:
    try:
        if not set(map(type, values)) <= PLAIN_NUMBERS:
            raise TypeError
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError, OverflowError):
        read = [check_number(name, value, i) for i, value in enumerate(values, 1)]
        array = np.array(read, dtype=np.float64)
    _require_finite(name, array)
    _require_in_range(name, array)
    return array


def check_number(name: str, value: Any, number: int) -> float:
    """A finite number, or the error that says which row holds what instead."""
    result = _as_float(value)
    if result is None:
        raise RequestError(f"row {number}: {name} must be a number, got {_shown(value)}")
    if not math.isfinite(result):
        raise RequestError(f"row {number}: {name} must be a finite number, not empty, NaN or inf")
    if result < _lowest(name):
        raise RequestError(_below(name, number, result))
    return result


def _lowest(name: str) -> float:
    return NUMERIC_RANGES.get(name, (-math.inf, math.inf))[0]


def _below(name: str, number: int, value: float) -> str:
    return f"row {number}: {name} must be at least {_lowest(name):g}, got {value:g}"


def _as_float(value: Any) -> float | None:
    """The value as a float (a number too large for one is infinite), or None if not a number."""
    if isinstance(value, bool | dict | list) or value is None:
        return None
    try:
        return float(value)
    except OverflowError:
        return math.inf
    except (TypeError, ValueError):
        return None


def categories(name: str, values: Sequence[Any]) -> Values:
    """Categories as stripped text; a large request's all-text column goes to Arrow whole."""
    if len(values) > ARROW_CATEGORY_ROWS:
        try:
            encoded = pa.array(values, type=CATEGORY_TYPE)
        except (pa.ArrowException, UnicodeEncodeError):
            pass  # numbers, lists, a lone surrogate: each read as below
        else:
            if encoded.null_count == 0:  # a null is read as the text None, below
                return stripped(name, encoded)
    return _texts(name, values)


def stripped(name: str, values: pa.DictionaryArray) -> Values:
    """Arrow categories with surrounding whitespace removed, as Python's ``str.strip`` does.

    Only the distinct texts are looked at; a column is stripped value by value
    only when one of them has such whitespace (no known category does).
    """
    if all(text == text.strip() for text in values.dictionary.to_pylist()):
        return values
    return _texts(name, values.to_pylist())


def _texts(name: str, values: Sequence[Any]) -> Values:
    """Each value as stripped text, or the error naming the first that cannot be one."""
    try:
        texts = [value.strip() for value in values]  # all text: the usual case
    except AttributeError:
        texts = [check_category(name, v, i) for i, v in enumerate(values, 1)]
    if len(texts) <= ARROW_CATEGORY_ROWS:
        return np.array(texts, dtype=object)
    try:
        return pa.array(texts, type=CATEGORY_TYPE)
    except UnicodeEncodeError:  # a lone surrogate (json.loads reads "\ud800"): not UTF-8
        escaped = [text.encode("utf-8", "backslashreplace").decode("utf-8") for text in texts]
        return pa.array(escaped, type=CATEGORY_TYPE)  # read as its escaped text: unseen


def check_category(name: str, value: Any, number: int) -> str:
    """A category as text: a number or null is read as its text (an unseen category)."""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, list | dict):
        raise RequestError(f"row {number}: {name} must be a text value, got {_shown(value)}")
    return str(value)


def _shown(value: Any) -> str:
    """A bad value as a message shows it: short, and never a nested structure."""
    if isinstance(value, list | dict):
        return "a list" if isinstance(value, list) else "an object"
    text = repr(value)
    return text if len(text) <= SHOWN_CHARS else text[: SHOWN_CHARS - 3] + "..."


def _require_finite(name: str, values: np.ndarray) -> None:
    finite = np.isfinite(values)
    if not finite.all():
        bad = int(np.flatnonzero(~finite)[0]) + 1
        raise RequestError(f"row {bad}: {name} must be a finite number, not empty, NaN or inf")


def _require_in_range(name: str, values: np.ndarray) -> None:
    """A value below the schema's minimum (a negative amount, distance or age) is refused.

    No real record has one, and the log-linear model cannot score it (``log1p``
    of a value below -1 is NaN); large values score, so the maximum is not enforced.
    """
    below = values < _lowest(name)
    if below.any():
        bad = int(np.flatnonzero(below)[0])
        raise RequestError(_below(name, bad + 1, float(values[bad])))
