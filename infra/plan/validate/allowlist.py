"""The reviewed allow-list of the independent validators: each exception, what it covers and why.

An entry names a validator (``iam``, ``kubernetes``, ``aws-api``, ``events``),
a check id, a resource glob (the Terraform address or ``Kind.name``) and
optionally a detail glob, and a reason a reviewer accepts. A failure an entry
covers becomes ``skipped`` with the entry's reason; an entry nothing matched is
reported, so a fixed problem's exception does not linger unseen.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from fnmatch import fnmatchcase
from pathlib import Path

import yaml

from infra.config.stack_file import REPO_ROOT
from infra.plan.checkov import CheckResult
from ml.errors import MlopsError

ALLOWLIST_FILE = REPO_ROOT / "security" / "validator-allowlist.yaml"
VALIDATORS = ("iam", "kubernetes", "aws-api", "events")
MIN_REASON_LENGTH = 20


class AllowListError(MlopsError):
    """The allow-list is malformed: every entry needs a validator, a check and a reason."""


@dataclass(frozen=True)
class Allowance:
    """``check`` of ``validator`` on resources matching ``resource`` (and ``detail``), and why."""

    validator: str
    check: str
    reason: str
    resource: str = "*"
    detail: str = "*"

    def covers(self, result: CheckResult) -> bool:
        return (
            result.source == f"validator:{self.validator}"
            and result.check_id == self.check
            and fnmatchcase(result.resource, self.resource)
            and fnmatchcase(result.detail, self.detail)
        )


@dataclass
class AllowList:
    entries: list[Allowance] = field(default_factory=list)
    used: set[Allowance] = field(default_factory=set)

    def apply(self, results: list[CheckResult]) -> list[CheckResult]:
        """Failures an entry covers become skipped, carrying the entry's reason."""
        applied = []
        for result in results:
            entry = next((e for e in self.entries if e.covers(result)), None)
            if entry is not None and result.status == "failed":
                self.used.add(entry)
                result = replace(
                    result, status="skipped", detail=f"{entry.reason} [{result.detail}]"
                )
            applied.append(result)
        return applied

    @property
    def unused(self) -> list[Allowance]:
        return [entry for entry in self.entries if entry not in self.used]


def load_allowlist(path: Path = ALLOWLIST_FILE) -> AllowList:
    """Read the allow-list; an entry without a known validator, check or reason is an error."""
    if not path.is_file():
        return AllowList()
    document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    entries = document.get("allow", []) if isinstance(document, dict) else None
    if not isinstance(entries, list):
        raise AllowListError(f"{path}: expected a mapping with an 'allow' list")
    allowances = []
    for number, entry in enumerate(entries, start=1):
        where = f"{path}: entry #{number}"
        if not isinstance(entry, dict) or entry.get("validator") not in VALIDATORS:
            raise AllowListError(f"{where}: 'validator' must be one of {', '.join(VALIDATORS)}")
        reason = " ".join(str(entry.get("reason") or "").split())
        if not entry.get("check") or len(reason) < MIN_REASON_LENGTH:
            raise AllowListError(
                f"{where}: give 'check' and a 'reason' of at least {MIN_REASON_LENGTH} characters"
            )
        allowances.append(
            Allowance(
                validator=entry["validator"],
                check=str(entry["check"]),
                reason=reason,
                resource=str(entry.get("resource", "*")),
                detail=str(entry.get("detail", "*")),
            )
        )
    return AllowList(allowances)
