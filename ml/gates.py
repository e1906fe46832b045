"""The registration gates: what a challenger must show, each check with its one-line reason.

A model is registered only when its test split holds enough frauds for its
metrics to be evidence, its threshold was chosen on enough frauds (no
fallback), the threshold flags at least one test row, precision and recall at
that threshold and PR AUC reach their floors, and, with a champion, it is
non-inferior on PR AUC and at the operating point (``ml.comparison``).
Every failed check says why in one line; ``reason`` joins them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

from ml.errors import MlopsError

OFF = "none"
COMPARED = ("pr_auc", "recall", "precision")  # gated against the champion, each with a margin


class GateError(MlopsError):
    """A gate specification that cannot be read."""


@dataclass(frozen=True)
class Gates:
    """Floors at the operating point, evidence needed, and non-inferiority margins."""

    min_pr_auc: float = 0.5
    min_precision: float = 0.5
    min_recall: float = 0.1
    min_test_positives: float = 30
    min_flagged: float = 1
    allow_fallback: float = 0
    margin_pr_auc: float = 0.05
    margin_recall: float = 0.1
    margin_precision: float = 0.15

    @classmethod
    def parse(cls, text: str | None) -> Gates:
        """Read ``"min_pr_auc=0.6,margin_recall=0.08"``; ``none`` measures without gating."""
        if not text:
            return cls()
        if text.strip() == OFF:
            return cls.off()
        known = {f.name for f in fields(cls)}
        values: dict[str, float] = {}
        for item in text.split(","):
            name, _, raw = item.partition("=")
            name = name.strip()
            if name not in known:
                raise GateError(f"unknown gate {name!r}; use one of {', '.join(sorted(known))}")
            try:
                values[name] = float(raw)
            except ValueError:
                raise GateError(f"gate {name} needs a number, got {raw!r}") from None
        return cls(**values)

    @classmethod
    def off(cls) -> Gates:
        """Gates every model passes: the evaluation only measures."""
        return cls(0.0, 0.0, 0.0, 0, 0, 1, 1.0, 1.0, 1.0)

    def margins(self) -> dict[str, float]:
        """The non-inferiority margin of each compared metric."""
        return {name: float(getattr(self, f"margin_{name}")) for name in COMPARED}

    def as_dict(self) -> dict[str, float]:
        """Every gate by name."""
        return asdict(self)

    def argument(self) -> str:
        """The gates as ``--gates`` takes them (``parse`` reads this back unchanged)."""
        return ",".join(f"{name}={float(value)!r}" for name, value in asdict(self).items())


def evidence_checks(evaluation: dict[str, Any], gates: Gates) -> list[dict[str, Any]]:
    """Enough frauds in the test split, a threshold that did not fall back, rows flagged."""
    facts = evaluation["evaluation"]
    threshold = facts.get("threshold") or {}
    return [
        check(
            "test_positives >= min_test_positives",
            facts["positives"],
            gates.min_test_positives,
            f"the test split holds {facts['positives']} frauds, fewer than the "
            f"{gates.min_test_positives:g} the gates need (metrics on fewer are noise): "
            "train on more data",
        ),
        check(
            "threshold_fallback <= allow_fallback",
            facts["threshold_fallback"],
            gates.allow_fallback,
            f"the decision threshold fell back: {threshold.get('reason') or 'no reason recorded'}",
            at_most=True,
        ),
        check(
            "flagged >= min_flagged",
            facts["flagged"],
            gates.min_flagged,
            f"the threshold {facts['decision_threshold']:.4f} flags {facts['flagged']} of "
            f"{facts['rows']} test rows",
        ),
    ]


def floor_checks(evaluation: dict[str, Any], gates: Gates) -> list[dict[str, Any]]:
    """Precision and recall at the model's own threshold, and PR AUC, against their floors."""
    metrics = evaluation["binary_classification_metrics"]
    found = []
    for name, limit in (
        ("precision", gates.min_precision),
        ("recall", gates.min_recall),
        ("pr_auc", gates.min_pr_auc),
    ):
        value = metrics[name]["value"]
        found.append(
            check(
                f"{name} >= min_{name}",
                value,
                limit,
                f"{name} {value:.3f} at the threshold is below its floor {limit:g}"
                if name != "pr_auc"
                else f"pr_auc {value:.3f} is below its floor {limit:g}",
            )
        )
    return found


def champion_checks(comparison: dict[str, Any]) -> list[dict[str, Any]]:
    """Non-inferiority on each compared metric: the interval's low end above minus the margin."""
    found = []
    for name, m in comparison["metrics"].items():
        found.append(
            check(
                f"{name} difference vs champion (low end) >= -margin",
                m["low"],
                -m["margin"],
                f"{name} {m['challenger']:.3f} vs champion {m['champion']:.3f}: difference "
                f"{m['difference']:+.3f}, 95% interval [{m['low']:+.3f}, {m['high']:+.3f}] "
                f"reaches below -{m['margin']:g}",
            )
        )
    return found


def check(name: str, value: float, limit: float, why: str, at_most: bool = False) -> dict[str, Any]:
    """One gate: its value, its limit, whether it passed and, if not, why."""
    passed = bool(value <= limit) if at_most else bool(value >= limit)
    return {
        "check": name,
        "value": float(value),
        "limit": float(limit),
        "passed": passed,
        "reason": "" if passed else why,
    }


def decide(checks: list[dict[str, Any]]) -> dict[str, Any]:
    """The verdict of all checks and, when one fails, every failed check's reason in one line."""
    failed = [c["reason"] for c in checks if not c["passed"]]
    return {
        "verdict": "fail" if failed else "pass",
        "checks": checks,
        "reason": "; ".join(failed),
    }
