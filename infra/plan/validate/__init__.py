"""Validators no one on the project wrote, run on the offline plan, with a reviewed allow-list.

``parliament`` on every IAM policy document (``iam.py``), ``kubernetes-validate``
and the API server's rules on every manifest (``manifests.py``), botocore's
service models and AWS's documented limits on every API call the plan implies
(``aws_api.py``), AWS's sample events against every EventBridge rule
(``events.py``). ``run_validators`` runs them all; ``mlops scan`` reports the
results beside checkov's, and the suite runs them on every stack.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from infra.plan.checkov import CheckResult
from infra.plan.validate.allowlist import ALLOWLIST_FILE, Allowance, load_allowlist

if TYPE_CHECKING:
    from infra.plan.engine import Plan


@dataclass
class ValidationReport:
    """Every validator result (allow-listed failures skipped), and what was checked."""

    results: list[CheckResult]
    checked: dict[str, int]
    allowlist_size: int
    unused: list[Allowance] = field(default_factory=list)

    @property
    def failures(self) -> list[CheckResult]:
        return [result for result in self.results if result.status == "failed"]

    def summary(self) -> str:
        counts = ", ".join(f"{count} {what}" for what, count in self.checked.items())
        return f"validators checked {counts}; allow-list of {self.allowlist_size} entries"


def run_validators(plan: Plan, allowlist: Path = ALLOWLIST_FILE) -> ValidationReport:
    """Run every validator on ``plan`` and apply the allow-list."""
    from infra.plan.validate.aws_api import check_api_calls
    from infra.plan.validate.events import check_rules
    from infra.plan.validate.iam import check_policies
    from infra.plan.validate.manifests import check_manifests

    allowed = load_allowlist(allowlist)
    results: list[CheckResult] = []
    checked: dict[str, int] = {}
    for what, validator in (
        ("policy documents", check_policies),
        ("manifests", check_manifests),
        ("API calls", check_api_calls),
        ("rule-event matches", check_rules),
    ):
        found, count = validator(plan)
        results += found
        checked[what] = count
    return ValidationReport(allowed.apply(results), checked, len(allowed.entries), allowed.unused)
