"""Answers as text: ``score,is_fraud`` CSV lines or ``{"predictions": [...]}`` JSON.

A score is written as Python writes it: ``f"{score:.6f}"`` in CSV and
``repr(round(score, 6))`` in JSON (the text ``json.dumps`` gives), but a
thousand-row answer is formatted a whole array at a time: each score becomes
its millionths, an integer, in numpy, and integers format several times faster
than floats. Where that cannot be exact -- a product of the score and a million
within rounding of a half, a score outside [0, 1] or not finite -- Python
formats the score itself, so the text is the same byte for byte (tested).
"""

from __future__ import annotations

import json

import numpy as np

SCORE_DECIMALS = 6  # an answer's scores carry this many decimals (what capture records)
UNITS = 10**SCORE_DECIMALS
JSON_BOOL = np.array(["false", "true"], dtype=object)
# A score times a million lies within 1.2e-10 of the exact product, so only a
# product this close to a half can round another way than the exact one.
NEAR_HALF = 1e-6
# Below a ten-thousandth Python writes a float in scientific notation (5e-05).
FIXED_UNITS = UNITS // 10_000
SMALL_SCORES = np.array([repr(units / UNITS) for units in range(FIXED_UNITS)], dtype=object)
ZERO = ord("0")
# Up to this many rows Python formats each score: numpy's fixed cost is more.
SMALL_ANSWER = 16
_SCORE = "%d.%0*d"


def csv_answer(scores: np.ndarray, flags: np.ndarray) -> str:
    """``score,is_fraud`` per line, the score with six decimals."""
    units = millionths(scores) if len(scores) > SMALL_ANSWER else None
    if units is None:
        return "".join(
            f"{s:.6f},{f}\n" for s, f in zip(scores.tolist(), flags.tolist(), strict=True)
        )
    # Every line is "d.dddddd,f\n": eleven ASCII bytes, written digit by digit.
    text = np.empty((len(units), 11), dtype=np.uint8)
    text[:, 0] = units // UNITS + ZERO
    text[:, 1] = ord(".")
    for place in range(SCORE_DECIMALS):
        text[:, 2 + place] = units // 10 ** (SCORE_DECIMALS - 1 - place) % 10 + ZERO
    text[:, 8] = ord(",")
    text[:, 9] = flags + ZERO
    text[:, 10] = ord("\n")
    return text.tobytes().decode("ascii")


def json_answer(scores: np.ndarray, flags: np.ndarray) -> str:
    """``{"predictions": [{"score": ..., "is_fraud": ...}, ...]}``, the text json.dumps writes."""
    units = millionths(scores) if len(scores) > SMALL_ANSWER else None
    if units is None:
        return _json_dumps(scores, flags)
    whole, fraction = np.divmod(units, UNITS)
    zeros = sum((fraction % 10**place == 0).astype(np.int64) for place in range(1, 7))
    texts = (_SCORE + "\n") * len(units) % _interleave(whole, 6 - zeros, fraction // 10**zeros)
    written = np.array(texts.split("\n")[:-1], dtype=object)
    small = units < FIXED_UNITS
    written[small] = SMALL_SCORES[units[small]]  # 5e-05, 1.2e-05, 0.0
    template = '{"score": %s, "is_fraud": %s}, ' * len(units)
    items = template % _interleave(written, JSON_BOOL[flags.astype(np.intp)])
    return '{"predictions": [' + items[:-2] + "]}"


def millionths(scores: np.ndarray) -> np.ndarray | None:
    """Each score in millionths, rounded as Python's float formatting rounds (half to even
    on the exact binary value); None when a score is outside [0, 1] or not finite."""
    if not (np.all(scores >= 0.0) and np.all(scores <= 1.0)) or np.signbit(scores).any():
        return None
    product = scores * UNITS
    units = np.rint(product)
    near = np.flatnonzero(np.abs(np.abs(product - units) - 0.5) < NEAR_HALF)
    for row in near.tolist():
        units[row] = int(f"{scores[row]:.6f}".replace(".", ""))
    return units.astype(np.int64)


def _interleave(*columns: np.ndarray | list[str]) -> tuple[object, ...]:
    """The columns' values row by row, flat: (a0, b0, a1, b1, ...), as ``%`` takes them."""
    lists = [c.tolist() if isinstance(c, np.ndarray) else c for c in columns]
    flat: list[object] = [None] * (len(lists) * len(lists[0]))
    for offset, values in enumerate(lists):
        flat[offset :: len(lists)] = values
    return tuple(flat)


def _json_dumps(scores: np.ndarray, flags: np.ndarray) -> str:
    """The general writer, for scores the fast path does not take (NaN, out of range)."""
    rounded = [round(score, SCORE_DECIMALS) for score in scores.tolist()]
    predictions = [
        {"score": score, "is_fraud": bool(flag)}
        for score, flag in zip(rounded, flags.tolist(), strict=True)
    ]
    return json.dumps({"predictions": predictions})  # and json.dumps's spelling of NaN
