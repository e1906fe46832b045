"""Seeded synthetic card transactions with rare, learnable fraud and named drift.

The generator exists so every step (and every test) runs on realistic data
without a data set download: fraud is rare (about 0.8%), the signal is real but
noisy (PR AUC well below 1), and each drift scenario reproduces a change a
fraud team meets in production.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Final

import numpy as np
import pandas as pd

from ml import schema
from ml.errors import MlopsError

START: Final = np.datetime64("2026-01-01T00:00:00")
WINDOW_SECONDS: Final = 30 * 24 * 3600
HOURS_PER_DAY: Final = 24
POPULATION_ROWS: Final = 200_000  # rows that fix the intercept of a one-hour frame
POPULATION_SEED: Final = 20_260_101
FRAUD_RATE: Final = 0.008
ACCOUNT_TAKEOVER_FRAUD_RATE: Final = 0.015
# Risk scale and unobserved noise, tuned so a good model reaches PR AUC near 0.7.
RISK_SCALE: Final = 4.5
LABEL_NOISE: Final = 1.2

MERCHANT_WEIGHTS: Final = (0.24, 0.16, 0.1, 0.05, 0.06, 0.16, 0.08, 0.06, 0.06, 0.03)
CATEGORY_PRICE: Final = (0.9, 0.7, 1.0, 4.0, 3.0, 1.3, 0.8, 1.1, 1.5, 5.0)
CATEGORY_RISK: Final = (-0.4, -0.5, -0.3, 0.5, 0.9, 0.5, 0.1, -0.4, -0.6, 1.0)
CHANNEL_WEIGHTS: Final = (0.45, 0.30, 0.20, 0.05)
CHANNEL_RISK: Final = (-0.4, 0.6, -0.3, 0.3)
COUNTRY_WEIGHTS: Final = (0.55, 0.1, 0.08, 0.07, 0.06, 0.04, 0.04, 0.03, 0.02, 0.01)
COUNTRY_RISK: Final = (0.0, 0.0, 0.0, 0.0, 0.0, 0.3, 0.4, 0.4, 0.2, 0.9)
HOUR_WEIGHTS: Final = np.array(
    [
        1,
        0.6,
        0.4,
        0.3,
        0.3,
        0.5,
        1.2,
        2.5,
        4,
        5,
        5.5,
        6,
        6.5,
        6,
        5.5,
        5.5,
        6,
        6.5,
        7,
        6.5,
        5,
        4,
        3,
        2,
    ]
)
NEW_MERCHANT_CATEGORIES: Final = ("crypto_exchange", "buy_now_pay_later")
NEW_MERCHANT_SHARE: Final = 0.12


class UnknownDriftError(MlopsError):
    """A drift scenario name that the generator does not know."""


def generate(
    rows: int, seed: int, drift: str | None = None, hour: int | None = None
) -> pd.DataFrame:
    """Return ``rows`` synthetic transactions; the same arguments give the same frame.

    ``hour`` makes every transaction happen in that clock hour (UTC), as the
    traffic of one hour-long capture window does; fraud follows the hour as it
    does for any other row. ``hourly_rows`` says how many a day brings.
    """
    if drift is not None and drift not in DRIFT_SCENARIOS:
        raise UnknownDriftError(
            f"unknown drift scenario {drift!r}; choose one of: {', '.join(DRIFT_SCENARIOS)}"
        )
    if rows < 1:
        raise MlopsError(f"rows must be at least 1, got {rows}; pass --rows N with N >= 1")
    if hour is not None and not 0 <= hour < HOURS_PER_DAY:
        raise MlopsError(f"hour must be 0-23, got {hour}")
    rng = np.random.default_rng(seed)
    cols = _base_columns(rows, rng, hour)
    risk = _normal_risk(cols)
    if drift is not None:
        risk = DRIFT_SCENARIOS[drift](cols, rng, risk)
    rate = float(cols.pop("_fraud_rate", FRAUD_RATE))
    # One clock hour is a slice of the day: its fraud rate is the day's risk model's, not 0.8%.
    offset = _population_intercept(drift) if hour is not None else None
    cols[schema.LABEL_COLUMN] = _labels(risk, rng, rate, offset)
    return _frame(cols, rng, seed)


@functools.cache
def _population_intercept(drift: str | None) -> float:
    """The intercept that gives the target fraud rate over a whole population (every hour)."""
    rng = np.random.default_rng(POPULATION_SEED)
    cols = _base_columns(POPULATION_ROWS, rng)
    risk = _normal_risk(cols)
    if drift is not None:
        risk = DRIFT_SCENARIOS[drift](cols, rng, risk)
    rate = float(cols.pop("_fraud_rate", FRAUD_RATE))
    return _intercept(RISK_SCALE * risk + rng.normal(0.0, LABEL_NOISE, risk.shape[0]), rate)


def hourly_rows(rows_per_day: int) -> np.ndarray:
    """Transactions in each clock hour (0-23) of a day of ``rows_per_day``: busy by day."""
    return np.rint(rows_per_day * HOUR_WEIGHTS / HOUR_WEIGHTS.sum()).astype(np.int64)


def _base_columns(
    n: int, rng: np.random.Generator, fixed_hour: int | None = None
) -> dict[str, np.ndarray]:
    cat = rng.choice(len(schema.MERCHANT_CATEGORIES), n, p=_norm(MERCHANT_WEIGHTS))
    channel = rng.choice(len(schema.CHANNELS), n, p=CHANNEL_WEIGHTS)
    country = rng.choice(len(schema.COUNTRIES), n, p=COUNTRY_WEIGHTS)
    day = rng.integers(0, 30, n)
    hour = rng.choice(HOURS_PER_DAY, n, p=HOUR_WEIGHTS / HOUR_WEIGHTS.sum())
    if fixed_hour is not None:  # drawn all the same, so the other columns do not change
        hour = np.full(n, fixed_hour)
    seconds = day * 86400 + hour * 3600 + rng.integers(0, 3600, n)
    avg = np.exp(rng.normal(3.5, 0.6, n))
    ratio = np.exp(rng.normal(0.0, 0.55, n))
    amount = avg * ratio * np.asarray(CATEGORY_PRICE)[cat]
    foreign = country != 0
    distance = np.exp(rng.normal(1.8, 1.1, n)) + foreign * np.exp(rng.normal(7.0, 0.6, n))
    online = channel == 1
    return {
        "_cat": cat,
        "_channel": channel,
        "_country": country,
        "_seconds": seconds,
        "_ratio": ratio,
        "amount": amount,
        "avg_amount_30d": avg,
        "account_age_days": np.minimum(rng.gamma(1.3, 600.0, n), 20_000).astype(np.int64),
        "txn_count_24h": rng.poisson(2.2, n).astype(np.int64),
        "distance_from_home_km": np.minimum(distance, 20_000.0),
        "is_new_device": (rng.random(n) < np.where(online, 0.12, 0.03)).astype(np.int64),
        "hour": hour.astype(np.int64),
    }


def _normal_risk(c: dict[str, np.ndarray]) -> np.ndarray:
    """Card-not-present fraud: big unusual amounts, new devices, far from home, at night."""
    night = (c["hour"] <= 5).astype(float)
    young = np.exp(-c["account_age_days"] / 120.0)
    return (
        0.9 * np.log(c["_ratio"]) / 0.55
        + 1.6 * c["is_new_device"]
        + 0.35 * np.log1p(c["distance_from_home_km"]) / 3.0
        + 0.9 * night
        + 1.0 * young
        + np.asarray(CATEGORY_RISK)[c["_cat"]]
        + np.asarray(CHANNEL_RISK)[c["_channel"]]
        + np.asarray(COUNTRY_RISK)[c["_country"]]
    )


def _labels(
    risk: np.ndarray, rng: np.random.Generator, rate: float, offset: float | None = None
) -> np.ndarray:
    """Bernoulli labels from the risk plus unobserved noise, at the target fraud rate.

    ``offset`` is the intercept to use instead of the one that gives these rows ``rate``.
    """
    noisy = RISK_SCALE * risk + rng.normal(0.0, LABEL_NOISE, risk.shape[0])
    if offset is None:
        offset = _intercept(noisy, rate)
    prob = 1.0 / (1.0 + np.exp(-(noisy + offset)))
    return (rng.random(risk.shape[0]) < prob).astype(np.int64)


def _intercept(z: np.ndarray, rate: float) -> float:
    """Solve mean(sigmoid(z + b)) = rate for b by bisection (monotone in b)."""
    sample = z[:: max(1, z.shape[0] // 200_000)]
    lo, hi = -40.0, 10.0
    for _ in range(40):
        mid = (lo + hi) / 2
        if np.mean(1.0 / (1.0 + np.exp(-(sample + mid)))) > rate:
            hi = mid
        else:
            lo = mid
    return (lo + hi) / 2


def _frame(c: dict[str, np.ndarray], rng: np.random.Generator, seed: int) -> pd.DataFrame:
    n = c["amount"].shape[0]
    order = np.argsort(c["_seconds"], kind="stable")
    categories = (*schema.MERCHANT_CATEGORIES, *NEW_MERCHANT_CATEGORIES)
    data: dict[str, object] = {
        schema.ID_COLUMN: (np.int64(seed % 1_000_000) * 10_000_000_000 + np.arange(1, n + 1)),
        schema.TIME_COLUMN: pd.DatetimeIndex(
            START + c["_seconds"][order].astype("timedelta64[s]"), tz="UTC"
        ).as_unit("s"),
    }
    for name in schema.NUMERIC_FEATURES:
        values = c[name][order]
        data[name] = np.round(values, 2) if values.dtype.kind == "f" else values
    data["merchant_category"] = pd.array(np.asarray(categories)[c["_cat"][order]], dtype="str")
    data["channel"] = pd.array(np.asarray(schema.CHANNELS)[c["_channel"][order]], dtype="str")
    data["country"] = pd.array(np.asarray(schema.COUNTRIES)[c["_country"][order]], dtype="str")
    data[schema.LABEL_COLUMN] = c[schema.LABEL_COLUMN][order]
    return pd.DataFrame(data, columns=list(schema.COLUMNS))


def _norm(weights: tuple[float, ...]) -> np.ndarray:
    array = np.asarray(weights, dtype=float)
    return array / array.sum()


def _amount_shift(
    c: dict[str, np.ndarray], rng: np.random.Generator, risk: np.ndarray
) -> np.ndarray:
    """Prices rise and a premium card launches: amounts grow, fraud does not change."""
    c["amount"] = c["amount"] * 1.7 + rng.gamma(2.0, 15.0, c["amount"].shape[0])
    return risk


def _new_merchant_category(
    c: dict[str, np.ndarray], rng: np.random.Generator, risk: np.ndarray
) -> np.ndarray:
    """New merchant kinds are signed; one of them attracts fraud."""
    n = c["_cat"].shape[0]
    chosen = rng.random(n) < NEW_MERCHANT_SHARE
    new = len(schema.MERCHANT_CATEGORIES) + rng.integers(0, len(NEW_MERCHANT_CATEGORIES), n)
    old_risk = np.asarray(CATEGORY_RISK)[c["_cat"]]
    c["_cat"] = np.where(chosen, new, c["_cat"])
    extra = np.where(new == len(schema.MERCHANT_CATEGORIES), 1.5, 0.3)
    return np.where(chosen, risk - old_risk + extra, risk)


def _fraud_pattern_change(
    c: dict[str, np.ndarray], rng: np.random.Generator, risk: np.ndarray
) -> np.ndarray:
    """Account takeover: small purchases from the victim's own device, near home, by day.

    Compromised accounts are drained in bursts, so velocity rises across the
    population; the old signature (new device, far away, big amounts) stops working.
    """
    n = risk.shape[0]
    burst = rng.random(n) < 0.25
    c["txn_count_24h"] = c["txn_count_24h"] + burst * rng.poisson(6.0, n)
    c["_fraud_rate"] = np.asarray(ACCOUNT_TAKEOVER_FRAUD_RATE)
    day = ((c["hour"] >= 9) & (c["hour"] <= 18)).astype(float)
    old = np.minimum(c["account_age_days"] / 1500.0, 2.0)
    return (
        -0.9 * np.log(c["_ratio"]) / 0.55
        - 1.5 * c["is_new_device"]
        - 0.4 * np.log1p(c["distance_from_home_km"]) / 3.0
        + 0.8 * day
        + 0.9 * old
        + 0.8 * burst
        + 0.8 * (c["_cat"] == 6)
    )


DriftFn = Callable[[dict[str, np.ndarray], np.random.Generator, np.ndarray], np.ndarray]
DRIFT_SCENARIOS: Final[dict[str, DriftFn]] = {
    "amount_shift": _amount_shift,
    "new_merchant_category": _new_merchant_category,
    "fraud_pattern_change": _fraud_pattern_change,
}
