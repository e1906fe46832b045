"""One priced line of the cost estimate."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CostItem:
    """One priced resource: what it is, how it was priced, USD a month."""

    resource: str
    service: str
    basis: str
    monthly_usd: float | None
    assumption: str = ""
