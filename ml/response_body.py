"""Answers as text: ``score,is_fraud`` CSV lines or ``{"predictions": [...]}`` JSON.

A score is written as Python writes it: ``f"{score:.6f}"`` in CSV and
``repr(round(score, 6))`` in JSON (the text ``json.dumps`` gives). A large
answer is written a whole array at a time: each score becomes its millionths,
an integer, and its text ``d.dddddd`` eight ASCII bytes packed in one 64-bit
integer (three digits at a time, looked up), which is laid into a numpy record
per line or item beside the constant text (a thousand rows in about 0.04 ms
for CSV and 0.08 ms for JSON, where Python's formatting took 0.3 and 0.5 ms).
Where that cannot be exact -- a product of the score and a million within
rounding of a half, a score outside [0, 1] or not finite -- Python rounds or
writes the score itself, so the text is the same byte for byte (tested).
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
GAP = 0  # a byte of a record that is left out of the text (text pads with it)


def _packed(texts: list[str]) -> np.ndarray:
    """Texts of up to eight ASCII bytes as little-endian 64-bit integers (GAP-padded)."""
    return np.array([int.from_bytes(t.encode(), "little") for t in texts], dtype=np.uint64)


# "d.dddddd" is the whole digit, a point, then two triples of digits at bytes 2 and 5.
_POINT = int.from_bytes(b"0.", "little")
_TRIPLES = _packed([f"{number:03d}" for number in range(1_000)])
_AT_2, _AT_5 = np.uint64(16), np.uint64(40)
# Trailing zeros of each triple, and the bytes of "d.dddddd" kept with 1-6 decimals.
_TRAILING = np.array([3 - len(f"{number:03d}".rstrip("0")) for number in range(1_000)])
_KEPT = np.array([0, *((1 << 8 * (2 + k)) - 1 for k in range(1, 6)), 2**64 - 1], np.uint64)
# Below a ten-thousandth (100 millionths) Python writes a float in scientific
# notation: 5e-05, 1.2e-05; and 0 as 0.0. These few texts are looked up.
FIXED_UNITS = UNITS // 10_000
_SMALL_SCORES = _packed([repr(units / UNITS) for units in range(FIXED_UNITS)])

_LINE = np.dtype([("score", "<u8"), ("tail", "S3")])  # "d.dddddd" ",f\n"
_TAILS = np.array([b",0\n", b",1\n"], dtype="S3")
_ITEM = np.dtype(  # '{"score": ' score ', "is_fraud": ' flag '}, '
    [("head", "S10"), ("score", "<u8"), ("middle", "S14"), ("flag", "S5"), ("tail", "S3")]
)
_ITEM_TEXT = np.array([(b'{"score": ', 0, b', "is_fraud": ', b"", b"}, ")], dtype=_ITEM)
_FLAGS = np.array([b"false", b"true"], dtype="S5")


def csv_answer(scores: np.ndarray, flags: np.ndarray) -> str:
    """``score,is_fraud`` per line, the score with six decimals."""
    units = millionths(scores) if len(scores) > SMALL_ANSWER else None
    if units is None:
        return "".join(
            f"{s:.6f},{f}\n" for s, f in zip(scores.tolist(), flags.tolist(), strict=True)
        )
    whole, fraction = np.divmod(units, UNITS)
    lines = np.empty(len(units), _LINE)
    lines["score"] = _score_text(whole, *np.divmod(fraction, 1_000))
    lines["tail"] = _TAILS[flags]
    return lines.tobytes().decode("ascii")


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
    kept = _KEPT[np.maximum(SCORE_DECIMALS - trailing, 1)]
    small = units < FIXED_UNITS
    items = np.repeat(_ITEM_TEXT, len(units))
    items["score"] = np.where(
        small,
        _SMALL_SCORES[np.minimum(units, FIXED_UNITS - 1)],
        _score_text(whole, high, low) & kept,
    )
    items["flag"] = _FLAGS[flags]
    text = items.view(np.uint8)
    text = text[text != GAP].tobytes().decode("ascii")
    return '{"predictions": [' + text[:-2] + "]}"


def _score_text(whole: np.ndarray, high: np.ndarray, low: np.ndarray) -> np.ndarray:
    """``d.dddddd`` of each score (its whole digit, then its decimals three at a time) packed."""
    return (whole.astype(np.uint64) + _POINT) | (_TRIPLES[high] << _AT_2) | (_TRIPLES[low] << _AT_5)


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
