"""``mlops scan``: checkov on the exported plan, manifests and Dockerfile, our policies, validators.

The plan is exported to a temporary folder, checkov runs on it offline (and
on the Dockerfile of every image the plan builds, which hadolint lints too),
the project's own policies run on the plan itself, and the reviewed skip file
turns known, justified failures into skips. Beside them run the independent
validators (``infra/plan/validate``: parliament, kubernetes-validate,
botocore's service models, AWS's sample events) with their own reviewed
allow-list. A scan that checked nothing is an error, never a pass.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from infra.plan.checkov import (
    CheckovRunError,
    CheckResult,
    Skip,
    SkipList,
    load_skips,
    run_checkov,
)
from infra.plan.hadolint import run_hadolint
from infra.plan.policies import evaluate_policies
from infra.plan.tfplan import to_terraform_plan
from infra.plan.validate import ValidationReport, run_validators
from ml.errors import MlopsError

if TYPE_CHECKING:
    from infra.plan.engine import Plan

DOCKER_IMAGE = "docker-build:index:Image"


class ManifestWriterMissingError(MlopsError):
    """The plan holds Kubernetes resources but nothing can render them for scanning."""


@dataclass
class ScanResult:
    """Every check result of one stack, after skips, and the skips nothing needed."""

    stack: str
    results: list[CheckResult]
    unused_skips: list[Skip] = field(default_factory=list)
    validation: ValidationReport | None = None

    @property
    def failures(self) -> list[CheckResult]:
        return [result for result in self.results if result.status == "failed"]

    @property
    def skipped(self) -> list[CheckResult]:
        return [result for result in self.results if result.status == "skipped"]

    @property
    def passed(self) -> bool:
        return not self.failures

    def counts(self) -> dict[str, dict[str, int]]:
        """source -> {passed, failed, skipped}."""
        counts: dict[str, Counter[str]] = {}
        for result in self.results:
            counts.setdefault(result.source, Counter())[result.status] += 1
        return {
            source: {status: counter[status] for status in ("passed", "failed", "skipped")}
            for source, counter in sorted(counts.items())
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "stack": self.stack,
            "passed": self.passed,
            "counts": self.counts(),
            "results": [result.to_dict() for result in self.results],
            "unusedSkips": [
                {"check": s.check, "resource": s.resource, "reason": s.reason}
                for s in self.unused_skips
            ],
            **({"validators": self._validators()} if self.validation is not None else {}),
        }

    def _validators(self) -> dict[str, Any]:
        assert self.validation is not None
        return {
            "checked": self.validation.checked,
            "allowListSize": self.validation.allowlist_size,
            "unusedAllowances": [
                {"validator": a.validator, "check": a.check, "resource": a.resource}
                for a in self.validation.unused
            ],
        }


def scan_plan(plan: Plan, skip_file: Path | None = None) -> ScanResult:
    """Scan ``plan``: checkov (Terraform plan, manifests, Dockerfiles), hadolint, our policies."""
    return scan_plans([plan], skip_file)[0]


def scan_plans(plans: list[Plan], skip_file: Path | None = None) -> list[ScanResult]:
    """Scan several plans with one checkov process (its start-up costs more than a plan's checks).

    Each plan is exported into its own numbered folder, so every result is told
    back to the plan it came from.
    """
    reviewed = (load_skips(skip_file) if skip_file is not None else load_skips()).skips
    with tempfile.TemporaryDirectory(prefix="mlops-scan-") as folder:
        root = Path(folder)
        exports = [_export(plan, root / str(number)) for number, plan in enumerate(plans)]
        frameworks = sorted({fw for export in exports for fw in export.frameworks})
        found = run_checkov({root: tuple(frameworks)})
    scans = []
    for number, (plan, export) in enumerate(zip(plans, exports, strict=True)):
        checkov_results = [r for r in found if _folder_of(r) == str(number)]
        _require_checks(export, checkov_results)
        lint_results = [result for path in export.dockerfiles for result in run_hadolint(path)]
        validation = run_validators(plan)
        results = checkov_results + lint_results + evaluate_policies(plan) + validation.results
        skips = SkipList(list(reviewed))
        scans.append(
            ScanResult(
                stack=plan.stack,
                results=skips.apply(results),
                unused_skips=skips.unused,
                validation=validation,
            )
        )
    return scans


def _folder_of(result: CheckResult) -> str:
    """The first folder of the path checkov reports (relative to the scanned folder)."""
    return result.origin.lstrip("/").split("/", 1)[0]


@dataclass(frozen=True)
class _Export:
    """What one plan's folder holds for checkov: its frameworks and the Dockerfiles copied in."""

    frameworks: tuple[str, ...]
    dockerfiles: list[Path]
    resources: int


def _export(plan: Plan, folder: Path) -> _Export:
    """The plan's Terraform-plan JSON, its manifests and its images' Dockerfiles in ``folder``."""
    folder.mkdir(parents=True)
    document = to_terraform_plan(plan)
    (folder / "tfplan.json").write_text(
        json.dumps(document, indent=2, sort_keys=True), encoding="utf-8"
    )
    frameworks = ["terraform_plan"]
    if has_kubernetes(plan):
        _write_manifests(plan, folder / "kubernetes")
        frameworks.append("kubernetes")
    dockerfiles = built_dockerfiles(plan)
    for number, path in enumerate(dockerfiles):
        # checkov skips a Dockerfile given with -f when a folder is scanned too: copy it in.
        copy = folder / "images" / str(number) / "Dockerfile"
        copy.parent.mkdir(parents=True)
        shutil.copyfile(path, copy)
    if dockerfiles:
        frameworks.append("dockerfile")
    exported = len(document["planned_values"]["root_module"]["resources"])
    return _Export(tuple(frameworks), dockerfiles, exported)


def _require_checks(export: _Export, results: list[CheckResult]) -> None:
    """A framework that reported no check on an exported plan means checkov could not read it."""
    for framework in export.frameworks if export.resources else ():
        source = f"checkov:{framework}"
        if not any(r.source == source and r.resource != "aws.default" for r in results):
            raise CheckovRunError(
                f"checkov reported no {framework} checks: the export is unreadable"
            )


def built_dockerfiles(plan: Plan) -> list[Path]:
    """The Dockerfiles of the images the plan builds (``docker-build`` Images)."""
    paths = {
        Path(resource["inputs"]["dockerfile"]["location"])
        for resource in plan.of_type(DOCKER_IMAGE)
        if (resource["inputs"].get("dockerfile") or {}).get("location")
    }
    return sorted(paths)


def has_kubernetes(plan: Plan) -> bool:
    return any(resource["type"].startswith("kubernetes:") for resource in plan.resources)


def _write_manifests(plan: Plan, folder: Path) -> Path:
    try:
        from infra.plan.kubernetes import write_manifests
    except ImportError as error:
        raise ManifestWriterMissingError(
            "the plan holds Kubernetes resources but infra/plan/kubernetes.py "
            f"(write_manifests) cannot be imported: {error}"
        ) from error
    written = write_manifests(plan, folder)
    if not written:
        raise ManifestWriterMissingError(
            "the plan holds Kubernetes resources but write_manifests wrote no manifest"
        )
    return folder
