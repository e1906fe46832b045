"""Validate incoming data files and quarantine the bad ones, never deleting anything.

``validate_files`` is the library call both ``mlops data validate`` and the
pipeline's validation step use. ``python -m ml.validate`` is the SageMaker
processing entry point: it reads ``/opt/ml/processing/input/data``, copies good
files to ``.../output/validated``, moves bad ones (with reasons) to
``.../output/quarantine`` and writes a JSON report; every path is an argument.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ml.checks import Failure, check_file
from ml.errors import MlopsError
from ml.io import sha256_file
from ml.quarantine import quarantine_file, reason_path


class ValidationInputError(MlopsError):
    """A path given to validation that does not exist."""


@dataclass
class FileReport:
    """The verdict on one file and, if it failed, where it went."""

    path: Path
    ok: bool
    rows: int | None
    failures: list[Failure] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    quarantined_to: Path | None = None

    @property
    def checks_failed(self) -> list[str]:
        """Names of the failed checks, each once, in order of discovery."""
        return list(dict.fromkeys(f.check for f in self.failures))

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view for reports."""
        return {
            "file": str(self.path),
            "ok": self.ok,
            "rows": self.rows,
            "checks_failed": self.checks_failed,
            "failures": [f.__dict__ for f in self.failures],
            "warnings": self.warnings,
            "quarantined_to": str(self.quarantined_to) if self.quarantined_to else None,
            "reason_file": str(reason_path(self.quarantined_to)) if self.quarantined_to else None,
        }


def expand_paths(paths: list[Path]) -> list[Path]:
    """Files to validate: each file given, and every visible file under each directory."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(
                p for p in sorted(path.rglob("*")) if p.is_file() and not p.name.startswith(".")
            )
        elif path.is_file():
            files.append(path)
        else:
            raise ValidationInputError(f"{path}: no such file or directory; check the path")
    return files


def validate_files(
    paths: list[Path], quarantine_dir: Path, require_label: bool = True
) -> list[FileReport]:
    """Check every file; move each bad one into quarantine_dir with a reason file."""
    reports = []
    quarantine_root = quarantine_dir.resolve()
    for path in expand_paths(paths):
        if quarantine_root in path.resolve().parents:
            continue  # never re-validate what is already quarantined
        result = check_file(path, require_label=require_label)
        report = FileReport(
            path, not result.failures, result.rows, result.failures, result.warnings
        )
        if result.failures:
            reason = {
                "file": path.name,
                "checks_failed": report.checks_failed,
                "failures": [f.__dict__ for f in result.failures],
                "rows": result.rows,
                "sha256": sha256_file(path),
                "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
            }
            report.quarantined_to = quarantine_file(path, quarantine_dir, reason)
        reports.append(report)
    return reports


def write_report(reports: list[FileReport], path: Path) -> None:
    """Write the per-file verdicts as one JSON document."""
    path.parent.mkdir(parents=True, exist_ok=True)
    summary = {
        "files": len(reports),
        "passed": sum(r.ok for r in reports),
        "quarantined": sum(not r.ok for r in reports),
        "reports": [r.to_dict() for r in reports],
    }
    path.write_text(json.dumps(summary, indent=2, default=str))


def main(argv: list[str] | None = None) -> int:
    """Processing entry point; exits 1 when no good file is left (or any is bad, if asked)."""
    root = Path("/opt/ml/processing")
    parser = argparse.ArgumentParser(description="Validate data files; quarantine bad ones.")
    parser.add_argument("--input", type=Path, default=root / "input" / "data")
    parser.add_argument("--validated", type=Path, default=root / "output" / "validated")
    parser.add_argument("--quarantine", type=Path, default=root / "output" / "quarantine")
    parser.add_argument(
        "--report", type=Path, default=root / "output" / "report" / "validation.json"
    )
    parser.add_argument("--no-label", action="store_true", help="data without the is_fraud label")
    parser.add_argument("--fail-on-bad", action="store_true", help="exit 1 if any file is bad")
    args = parser.parse_args(argv)
    try:
        reports = validate_files([args.input], args.quarantine, require_label=not args.no_label)
    except MlopsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    args.validated.mkdir(parents=True, exist_ok=True)
    for report in reports:
        if report.ok:
            # Keep the path below the input: drops in different folders may share a file name.
            target = args.validated / _relative_to_input(report.path, args.input)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(report.path, target)
    write_report(reports, args.report)
    good = sum(r.ok for r in reports)
    print(json.dumps({"passed": good, "quarantined": len(reports) - good}))
    if good == 0 or (args.fail_on_bad and good < len(reports)):
        return 1
    return 0


def _relative_to_input(path: Path, root: Path) -> Path:
    """``path`` below the input directory, or its name when the input is the file itself."""
    try:
        return path.relative_to(root) if root.is_dir() else Path(path.name)
    except ValueError:
        return Path(path.name)


if __name__ == "__main__":
    sys.exit(main())
