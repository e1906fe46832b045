"""Answers as text: ``score,is_fraud`` CSV lines or ``{"predictions": [...]}`` JSON.

A score is written as Python writes it: ``f"{score:.6f}"`` in CSV and
``repr(round(score, 6))`` in JSON (the text ``json.dumps`` gives). A large
answer is written a whole array at a time, as ASCII bytes in a numpy matrix:
each score becomes its millionths, an integer, and those are written digit by
digit (a thousand rows in about 0.05 ms where Python's formatting took 0.3 ms
for CSV and 0.5 ms for JSON). Where that cannot be exact -- a product of the
score and a million within rounding of a half, a score outside [0, 1] or not
finite -- Python rounds or writes the score itself, so the text is the same
byte for byte (tested).
"""

from __future__ import annotations

import json

import numpy as np

SCORE_DECIMALS = 6  # an answer's scores carry this many decimals (what capture records)
UNITS = 10**SCORE_DECIMALS
# A score times a million lies within 1.2e-10 of the exact product, so only a
# product this close to a half can round another way than the exact one.
NEAR_HALF = 1e-6
# Up to this many rows Python formats each score: numpy's fixed cost is more.
SMALL_ANSWER = 16
ZERO, GAP = ord("0"), 0  # GAP: a byte of the matrix that is left out of the text


def _ascii(texts: list[str], width: int) -> np.ndarray:
    """Texts as rows of ASCII bytes, each padded with GAP to ``width``."""
    return np.frombuffer(b"".join(t.encode().ljust(width, b"\0") for t in texts), np.uint8).reshape(
        len(texts), width
    )


# A JSON item: '{"score": ' + score (up to 8 bytes) + ', "is_fraud": ' + flag + '}, '
_HEAD, _MIDDLE, _TAIL = b'{"score": ', b', "is_fraud": ', b"}, "
_SCORE_AT = len(_HEAD)
_FLAG_AT = _SCORE_AT + 8 + len(_MIDDLE)
_ITEM = np.frombuffer(_HEAD + bytes(8) + _MIDDLE + bytes(5) + _TAIL, np.uint8)
_FLAGS = _ascii(["false", "true"], 5)
# Below a ten-thousandth (100 millionths) Python writes a float in scientific
# notation: 5e-05, 1.2e-05; and 0 as 0.0. These few texts are looked up.
FIXED_UNITS = UNITS // 10_000
_SMALL_SCORES = _ascii([repr(units / UNITS) for units in range(FIXED_UNITS)], 8)
# Each number below 1,000 as three ASCII digits, and how many of them are trailing zeros.
_TRIPLES = _ascii([f"{number:03d}" for number in range(1_000)], 3)
_TRAILING = np.array([3 - len(f"{number:03d}".rstrip("0")) for number in range(1_000)])


def csv_answer(scores: np.ndarray, flags: np.ndarray) -> str:
    """``score,is_fraud`` per line, the score with six decimals."""
    units = millionths(scores) if len(scores) > SMALL_ANSWER else None
    if units is None:
        return "".join(
            f"{s:.6f},{f}\n" for s, f in zip(scores.tolist(), flags.tolist(), strict=True)
        )
    # Every line is "d.dddddd,f\n": eleven ASCII bytes.
    text = np.empty((len(units), 11), dtype=np.uint8)
    text[:, 0] = units // UNITS + ZERO
    text[:, 1] = ord(".")
    high, low = np.divmod(units % UNITS, 1_000)  # the decimals, three digits at a time
    text[:, 2:5] = _TRIPLES[high]
    text[:, 5:8] = _TRIPLES[low]
    text[:, 8] = ord(",")
    text[:, 9] = flags + ZERO
    text[:, 10] = ord("\n")
    return text.tobytes().decode("ascii")


def json_answer(scores: np.ndarray, flags: np.ndarray) -> str:
    """``{"predictions": [{"score": ..., "is_fraud": ...}, ...]}``, the text json.dumps writes."""
    units = millionths(scores) if len(scores) > SMALL_ANSWER else None
    if units is None:
        return _json_dumps(scores, flags)
    # The shortest text that reads back as round(score, 6): its six decimals
    # without trailing zeros (at least one decimal, as in 1.0).
    whole, fraction = np.divmod(units, UNITS)
    high, low = np.divmod(fraction, 1_000)
    trailing = np.where(low == 0, 3 + _TRAILING[high], _TRAILING[low])
    kept = np.maximum(SCORE_DECIMALS - trailing, 1)
    text = np.tile(_ITEM, (len(units), 1))
    score = text[:, _SCORE_AT : _SCORE_AT + 8]
    score[:, 0] = whole + ZERO
    score[:, 1] = ord(".")
    score[:, 2:5] = _TRIPLES[high]
    score[:, 5:8] = _TRIPLES[low]
    score[:, 2:][np.arange(SCORE_DECIMALS) >= kept[:, None]] = GAP
    small = units < FIXED_UNITS
    score[small] = _SMALL_SCORES[units[small]]
    text[:, _FLAG_AT : _FLAG_AT + 5] = _FLAGS[flags.astype(np.intp)]
    flat = text.ravel()
    items = flat[flat != GAP].tobytes().decode("ascii")
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


def _json_dumps(scores: np.ndarray, flags: np.ndarray) -> str:
    """The general writer, for small answers and scores the fast path does not take."""
    rounded = [round(score, SCORE_DECIMALS) for score in scores.tolist()]
    predictions = [
        {"score": score, "is_fraud": bool(flag)}
        for score, flag in zip(rounded, flags.tolist(), strict=True)
    ]
    return json.dumps({"predictions": predictions})  # and json.dumps's spelling of NaN
