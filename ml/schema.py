"""The transaction schema every ML step shares.

Column lists, allowed categories and value ranges live here once, so the
generator, validation, features, drift and the infrastructure agree on one
definition of a transaction.
"""

from __future__ import annotations

from typing import Final

ID_COLUMN: Final = "transaction_id"
TIME_COLUMN: Final = "event_time"
LABEL_COLUMN: Final = "is_fraud"

NUMERIC_FEATURES: Final[tuple[str, ...]] = (
    "amount",
    "avg_amount_30d",
    "account_age_days",
    "txn_count_24h",
    "distance_from_home_km",
    "is_new_device",
    "hour",
)

MERCHANT_CATEGORIES: Final[tuple[str, ...]] = (
    "grocery",
    "restaurant",
    "fuel",
    "travel",
    "electronics",
    "online_retail",
    "entertainment",
    "health",
    "utilities",
    "jewelry",
)
CHANNELS: Final[tuple[str, ...]] = ("pos", "online", "contactless", "atm")
COUNTRIES: Final[tuple[str, ...]] = ("US", "GB", "DE", "FR", "CA", "MX", "BR", "IN", "JP", "NG")

# Categories known at training time. merchant_category is an open set: the
# business signs new kinds of merchant, so an unseen value is a drift signal,
# not corruption (validation accepts it, the encoder maps it to "unknown").
# channel and country are closed sets: anything else is a broken record.
CATEGORICAL_FEATURES: Final[dict[str, tuple[str, ...]]] = {
    "merchant_category": MERCHANT_CATEGORIES,
    "channel": CHANNELS,
    "country": COUNTRIES,
}
OPEN_CATEGORICALS: Final[frozenset[str]] = frozenset({"merchant_category"})

FEATURE_COLUMNS: Final[tuple[str, ...]] = (*NUMERIC_FEATURES, *CATEGORICAL_FEATURES)
COLUMNS: Final[tuple[str, ...]] = (ID_COLUMN, TIME_COLUMN, *FEATURE_COLUMNS, LABEL_COLUMN)

# Inclusive value ranges a real record can have; outside them it is corrupt.
NUMERIC_RANGES: Final[dict[str, tuple[float, float]]] = {
    "amount": (0.0, 1_000_000.0),
    "avg_amount_30d": (0.0, 1_000_000.0),
    "account_age_days": (0.0, 36_500.0),
    "txn_count_24h": (0.0, 10_000.0),
    "distance_from_home_km": (0.0, 20_100.0),
    "is_new_device": (0.0, 1.0),
    "hour": (0.0, 23.0),
}
INTEGER_FEATURES: Final[frozenset[str]] = frozenset(
    {"account_age_days", "txn_count_24h", "is_new_device", "hour"}
)
