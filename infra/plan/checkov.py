"""checkov as a subprocess, its results as typed records, and the reviewed skip file.

checkov lives in its own tool venv (its pins clash with the program's), so it
runs as a process and speaks JSON. Skips are applied here rather than with
checkov's ``--skip-check`` so each one keeps its reason in the report and a
skip that no longer matches anything is visible; a suppression written inline
(an annotation in a manifest) is not accepted, so the skip file stays the one
place where exceptions are reviewed.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import asdict, dataclass, field, replace
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any, Literal

import yaml

from infra.config.stack_file import REPO_ROOT
from ml.errors import MlopsError

CHECKOV = REPO_ROOT / ".tools" / "checkov" / "bin" / "checkov"
SKIP_FILE = REPO_ROOT / "security" / "checkov-skips.yaml"
MIN_REASON_LENGTH = 20
TIMEOUT_SECONDS = 600

Status = Literal["passed", "failed", "skipped"]
REPORT_KEYS: tuple[tuple[str, Status], ...] = (
    ("passed_checks", "passed"),
    ("failed_checks", "failed"),
    ("skipped_checks", "skipped"),
)


class CheckovMissingError(MlopsError):
    """checkov is not installed where the Makefile puts it."""


class CheckovRunError(MlopsError):
    """checkov ran but did not produce a result we can trust."""


class SkipFileError(MlopsError):
    """The skip file is malformed: every skip needs a check id and a reason."""


@dataclass(frozen=True)
class CheckResult:
    """One check on one resource, from checkov or from the project's own policies."""

    source: str
    check_id: str
    name: str
    resource: str
    file: str
    status: Status
    detail: str = ""
    # Where checkov found it, relative to the scanned folder: which plan a result belongs to.
    origin: str = field(default="", compare=False, repr=False)

    def to_dict(self) -> dict[str, str]:
        document = asdict(self)
        del document["origin"]
        return document


@dataclass(frozen=True)
class Skip:
    """A reviewed exception: ``check`` on resources matching ``resource`` (a glob), and why."""

    check: str
    reason: str
    resource: str = "*"

    def matches(self, result: CheckResult) -> bool:
        return result.check_id == self.check and fnmatchcase(result.resource, self.resource)


@dataclass
class SkipList:
    """The skips of the skip file, and which of them matched something in this scan."""

    skips: list[Skip] = field(default_factory=list)
    used: set[Skip] = field(default_factory=set)

    def apply(self, results: list[CheckResult]) -> list[CheckResult]:
        """Failed results a skip covers become skipped, carrying the skip's reason."""
        applied: list[CheckResult] = []
        for result in results:
            skip = next((s for s in self.skips if s.matches(result)), None)
            if skip is not None and result.status == "failed":
                self.used.add(skip)
                result = replace(result, status="skipped", detail=skip.reason)
            applied.append(result)
        return applied

    @property
    def unused(self) -> list[Skip]:
        return [skip for skip in self.skips if skip not in self.used]


def load_skips(path: Path = SKIP_FILE) -> SkipList:
    """Read the skip file; a skip without a check id or a real reason is an error."""
    if not path.is_file():
        return SkipList()
    document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    entries = document.get("skips", []) if isinstance(document, dict) else None
    if not isinstance(entries, list):
        raise SkipFileError(f"{path}: expected a mapping with a 'skips' list")
    skips: list[Skip] = []
    for number, entry in enumerate(entries, start=1):
        where = f"{path}: skip #{number}"
        if not isinstance(entry, dict):
            raise SkipFileError(f"{where}: expected a mapping with check, resource and reason")
        unknown = set(entry) - {"check", "resource", "reason"}
        if unknown:
            raise SkipFileError(
                f"{where}: unknown keys {sorted(unknown)}; use check, resource, reason"
            )
        check, reason = entry.get("check"), entry.get("reason")
        if not isinstance(check, str) or not check.strip():
            raise SkipFileError(f"{where}: 'check' must name a check id such as CKV_AWS_144")
        if not isinstance(reason, str) or len(reason.strip()) < MIN_REASON_LENGTH:
            raise SkipFileError(
                f"{where} ({check}): give a 'reason' of at least {MIN_REASON_LENGTH} characters"
            )
        resource = entry.get("resource", "*")
        if not isinstance(resource, str) or not resource:
            raise SkipFileError(
                f"{where} ({check}): 'resource' must be a glob such as '*-access-logs'"
            )
        skips.append(Skip(check=check.strip(), reason=" ".join(reason.split()), resource=resource))
    return SkipList(skips)


def checkov_executable() -> Path:
    """The pinned checkov of the tool venv (``MLOPS_CHECKOV`` points elsewhere, for CI images)."""
    configured = os.environ.get("MLOPS_CHECKOV")
    executable = Path(configured) if configured else CHECKOV
    if not executable.is_file():
        raise CheckovMissingError(
            f"checkov is not installed at {executable}: run `make install` (it pins checkov "
            "in .tools/checkov from tools/checkov.lock.txt)"
        )
    return executable


def run_checkov(targets: dict[Path, str | tuple[str, ...]]) -> list[CheckResult]:
    """Run checkov offline, once, on files (Terraform plan JSON) and folders (manifests).

    ``targets`` maps each path to its framework (a folder may hold several);
    one process for all of them, since checkov's start-up costs more than a
    small plan's checks.
    """
    executable = checkov_executable()
    selectors = [
        argument
        for target in targets
        for argument in (["-d", str(target)] if target.is_dir() else ["-f", str(target)])
    ]
    frameworks = sorted(
        {fw for value in targets.values() for fw in ((value,) if isinstance(value, str) else value)}
    )
    command = [
        str(executable),
        *selectors,
        "--framework",
        *frameworks,
        "--skip-download",
        "--output",
        "json",
        "--soft-fail",
    ]
    environment = {**os.environ, "BC_SKIP_MAPPING": "TRUE", "LOG_LEVEL": "ERROR"}
    completed = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_SECONDS,
        env=environment,
        check=False,
    )
    if completed.returncode != 0:
        last = (completed.stderr.strip().splitlines() or ["no output"])[-1]
        names = ", ".join(target.name for target in targets)
        raise CheckovRunError(f"checkov exited with {completed.returncode} on {names}: {last}")
    return parse_report(completed.stdout, " and ".join(frameworks))


def parse_report(stdout: str, framework: str) -> list[CheckResult]:
    """checkov's JSON report (one framework: a dict; several: a list) as records."""
    try:
        document = json.loads(stdout)
    except json.JSONDecodeError as error:
        raise CheckovRunError(f"checkov printed no JSON report: {error}") from error
    reports = document if isinstance(document, list) else [document]
    results: list[CheckResult] = []
    for report in reports:
        summary = report.get("summary", {})
        if summary.get("parsing_errors"):
            raise CheckovRunError(
                f"checkov could not parse {summary['parsing_errors']} file(s) of {framework}"
            )
        source = f"checkov:{report.get('check_type', framework)}"
        outcome = report.get("results", {})
        for key, status in REPORT_KEYS:
            results.extend(_record(source, status, check) for check in outcome.get(key, []))
    return results


def _record(source: str, status: Status, check: dict[str, Any]) -> CheckResult:
    detail = ""
    if status == "skipped":
        # Only the reviewed skip file may skip: an inline suppression counts as a failure.
        comment = (check.get("check_result") or {}).get("suppress_comment") or "no reason"
        status, detail = "failed", f"skipped inline ({comment}); move it to {SKIP_FILE.name}"
    return CheckResult(
        source=source,
        check_id=str(check.get("check_id")),
        name=str(check.get("check_name", "")),
        resource=str(check.get("resource", "")),
        file=Path(str(check.get("file_path", ""))).name,
        status=status,
        detail=detail,
        origin=str(check.get("file_path", "")),
    )
