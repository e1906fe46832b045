"""Validate incoming data files and quarantine the bad ones, never deleting anything.

``validate_files`` is the library call both ``mlops data validate`` and the
pipeline's validation step use. Every file gets a verdict in the report, so
one odd file never hides the others: a file that vanished before it was read,
a broken link, a file the quarantine could not take (read-only, full) are
reported as such and the run goes on. Before anything is read, the quarantine
finishes what a crashed run left (``ml.quarantine.recover``).

Across files, a transaction id may appear once: a file whose ids an earlier
file (in path order) already holds is the same records landed twice, and is
quarantined naming that file, so training never counts a transaction twice and
no good file is dropped without a reason. Hidden files are data like any other
(the dataset version lists them), and a symbolic link is judged, and
quarantined, by the bytes it points to.

``python -m ml.validate`` is the SageMaker processing entry point: it reads
``/opt/ml/processing/input/data``, copies good files to ``.../output/validated``,
moves bad ones (with reasons) to ``.../output/quarantine`` and writes a JSON
report; every path is an argument.
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
from ml.file_sets import IdRegistry, expand_paths
from ml.io import sha256_file, write_atomic
from ml.quarantine import QuarantineError, quarantine_file, reason_path, recover

__all__ = ["FileReport", "ValidationInputError", "expand_paths", "main", "validate_files"]


class ValidationInputError(MlopsError):
    """A path given to validation that does not exist."""


@dataclass
class FileReport:
    """The verdict on one file and, if it failed, where it went (or why it could not)."""

    path: Path
    ok: bool
    rows: int | None
    failures: list[Failure] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    quarantined_to: Path | None = None
    problem: str | None = None  # why a bad file is not in the quarantine

    @property
    def checks_failed(self) -> list[str]:
        """Names of the failed checks, each once, in order of discovery."""
        return list(dict.fromkeys(f.check for f in self.failures))

    @property
    def status(self) -> str:
        """passed, quarantined, or kept (bad, but not in the quarantine: see ``problem``)."""
        if self.ok:
            return "passed"
        return "quarantined" if self.quarantined_to is not None and not self.problem else "kept"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view for reports."""
        return {
            "file": str(self.path),
            "ok": self.ok,
            "status": self.status,
            "rows": self.rows,
            "checks_failed": self.checks_failed,
            "failures": [f.__dict__ for f in self.failures],
            "warnings": self.warnings,
            "quarantined_to": str(self.quarantined_to) if self.quarantined_to else None,
            "reason_file": str(reason_path(self.quarantined_to)) if self.quarantined_to else None,
            "problem": self.problem,
        }


def validate_files(
    paths: list[Path], quarantine_dir: Path, require_label: bool = True
) -> list[FileReport]:
    """Check every file; move each bad one into quarantine_dir with a reason file."""
    missing = [path for path in paths if not path.exists() and not path.is_symlink()]
    if missing:
        raise ValidationInputError(f"{missing[0]}: no such file or directory; check the path")
    recovery_problem = _recover(quarantine_dir)
    registry = IdRegistry()
    reports = []
    for path in expand_paths(paths, skip=quarantine_dir):
        report = _validate_one(path, require_label, registry)
        if not report.ok and report.problem is None:
            _quarantine(report, quarantine_dir, recovery_problem)
        reports.append(report)
    return reports


def _recover(quarantine_dir: Path) -> str | None:
    """Finish what a crashed run left in the quarantine; the cause if it cannot be read."""
    try:
        recover(quarantine_dir)
    except OSError as error:
        return f"the quarantine {quarantine_dir} cannot be recovered: {error.strerror or error}"
    return None


def _validate_one(path: Path, require_label: bool, registry: IdRegistry) -> FileReport:
    if not path.exists():
        why = (
            Failure("broken_link", f"a link to {path.readlink()}, which does not exist")
            if path.is_symlink()
            else Failure("vanished", "the file disappeared before it was read")
        )
        return FileReport(path, False, None, [why], problem="nothing to quarantine")
    try:
        result = check_file(path, require_label=require_label)
    except FileNotFoundError:
        gone = Failure("vanished", "the file disappeared while it was read")
        return FileReport(path, False, None, [gone], problem="nothing to quarantine")
    report = FileReport(path, not result.failures, result.rows, result.failures, result.warnings)
    if path.name.startswith("."):
        report.warnings.append("a hidden file: validated like any other file of the drop")
    if report.ok and result.ids is not None:
        duplicate = registry.first_overlap(path, result.ids)
        if duplicate is not None:
            report.ok = False
            report.failures.append(_duplicate_failure(path, *duplicate))
    return report


def _duplicate_failure(path: Path, earlier: Path, shared: int) -> Failure:
    same = earlier.exists() and sha256_file(earlier) == sha256_file(path)
    what = "the same bytes as" if same else f"{shared} transaction id(s) also in"
    return Failure(
        "duplicate_across_files",
        f"{what} {earlier}: the same records landed twice; the earlier file is kept",
        [str(earlier)],
    )


def _quarantine(report: FileReport, directory: Path, recovery_problem: str | None) -> None:
    path = report.path
    reason = {
        "file": path.name,
        "checks_failed": report.checks_failed,
        "failures": [f.__dict__ for f in report.failures],
        "rows": report.rows,
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    try:
        reason["sha256"] = sha256_file(path)
        report.quarantined_to = quarantine_file(path, directory, reason)
    except QuarantineError as error:
        report.problem = recovery_problem or str(error)
        report.quarantined_to = error.copied_to
    except FileNotFoundError:
        report.failures.append(Failure("vanished", "the file disappeared before it was moved"))
        report.problem = "nothing to quarantine"


def quarantine_problems(reports: list[FileReport]) -> list[FileReport]:
    """The bad files that are not (fully) in the quarantine though they exist."""
    return [r for r in reports if r.problem and r.problem != "nothing to quarantine"]


def write_report(reports: list[FileReport], path: Path) -> None:
    """Write the per-file verdicts as one JSON document, atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    summary = {
        "files": len(reports),
        "passed": sum(r.ok for r in reports),
        "quarantined": sum(r.status == "quarantined" for r in reports),
        "kept": sum(r.status == "kept" for r in reports),
        "reports": [r.to_dict() for r in reports],
    }
    write_atomic(path, json.dumps(summary, indent=2, default=str))


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
            shutil.copy2(report.path, target)  # a link's bytes, never the link
    write_report(reports, args.report)
    good = sum(r.ok for r in reports)
    print(json.dumps({"passed": good, "quarantined": len(reports) - good}))
    stuck = quarantine_problems(reports)
    if stuck:
        print(f"error: {stuck[0].problem}", file=sys.stderr)
        return 1
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
