"""The scan: real checkov runs on the exported plan, the skip file, and its failure modes.

Three checkov runs (about ten seconds each): dev and prod scan clean with the
bucket graph checks connected, and an insecure edit of a plan is caught.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import sys
from pathlib import Path

import pytest

from infra.plan.checkov import (
    CheckovMissingError,
    CheckovRunError,
    CheckResult,
    SkipFileError,
    checkov_executable,
    load_skips,
    parse_report,
)
from infra.plan.engine import Plan, synthesize
from infra.plan.scan import ManifestWriterMissingError, ScanResult, scan_plan, scan_plans

GRAPH_CHECKS = ("CKV2_AWS_6", "CKV2_AWS_61", "CKV_AWS_18", "CKV_AWS_21")
PACKAGE = "arn:aws:sagemaker:us-east-1:123456789012:model-package"
IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/fraud-api"


def result(status: str, check: str = "CKV_AWS_1", resource: str = "aws_s3_bucket.a") -> CheckResult:
    return CheckResult(
        source="checkov:terraform_plan",
        check_id=check,
        name="n",
        resource=resource,
        file="tfplan.json",
        status=status,
    )  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def clean_scans() -> dict[str, ScanResult]:
    """Every stack serving a model on SageMaker and on Kubernetes: dev (serverless, an image
    tag), staging and prod (instances, canary, capture and monitoring; images by digest)."""
    digest = f"{IMAGE}@sha256:{'a' * 64}"
    images = {"dev": f"{IMAGE}:1.4.0", "staging": digest, "prod": digest}
    plans = {
        stack: synthesize(
            stack,
            overrides=[
                f"serving.modelPackageArn={PACKAGE}/{stack}/1",
                "kubernetes.enabled=true",
                f"kubernetes.image={image}",
            ],
        )
        for stack, image in images.items()
    }
    return dict(zip(plans, scan_plans(list(plans.values())), strict=True))  # one checkov run


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_a_stack_serving_a_model_scans_clean(clean_scans, stack: str) -> None:
    scan = clean_scans[stack]
    assert scan.failures == [], [(f.check_id, f.resource, f.detail) for f in scan.failures]
    counts = scan.counts()
    assert counts["checkov:terraform_plan"]["passed"] > 100 and counts["policy"]["passed"] > 40
    assert counts["checkov:kubernetes"]["passed"] > 20
    assert all(r.detail for r in scan.skipped)


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_one_checkov_run_tells_each_result_back_to_its_stack(clean_scans, stack: str) -> None:
    others = [f"mlops-{other}-" for other in ("dev", "staging", "prod") if other != stack]
    planned = [r for r in clean_scans[stack].results if r.source == "checkov:terraform_plan"]
    named = [r.resource for r in planned if "mlops-" in r.resource]
    assert named and all(f"mlops-{stack}-" in resource for resource in named)
    assert not [r for r in named if any(other in r for other in others)]


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_the_project_images_dockerfile_is_scanned_and_linted(clean_scans, stack: str) -> None:
    counts = clean_scans[stack].counts()
    assert counts["checkov:dockerfile"]["passed"] > 20
    assert counts["hadolint"] == {"passed": 1, "failed": 0, "skipped": 0}


def test_hadolint_findings_fail_the_scan(tmp_path) -> None:
    from infra.plan.hadolint import run_hadolint

    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text(
        "FROM python:3.11\nRUN apt-get update && apt-get install -y curl\n", encoding="utf-8"
    )
    failed = [r for r in run_hadolint(dockerfile) if r.status == "failed"]
    assert "DL3008" in {r.check_id for r in failed}
    assert all(r.source == "hadolint" for r in failed)


def test_every_data_bucket_is_connected_to_its_controls(clean_scans) -> None:
    results = clean_scans["prod"].results
    for name in ("data", "artifacts", "monitoring"):
        passed = {
            r.check_id
            for r in results
            if r.resource == f"aws_s3_bucket.mlops-prod-{name}" and r.status == "passed"
        }
        assert {*GRAPH_CHECKS, "CKV_AWS_145"} <= passed, name


def test_every_reviewed_skip_is_needed_by_some_stack(clean_scans) -> None:
    used = {
        (r.check_id, r.detail)
        for scan in clean_scans.values()
        for r in scan.skipped
        if not r.source.startswith("validator:")  # those are the allow-list's
    }
    assert {(s.check, s.reason) for s in load_skips().skips} == used


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_the_independent_validators_report_beside_checkov(clean_scans, stack: str) -> None:
    scan = clean_scans[stack]
    counts = scan.counts()
    for source in (
        "validator:iam",
        "validator:kubernetes",
        "validator:aws-api",
        "validator:events",
    ):
        assert counts[source]["passed"] > 0 and counts[source]["failed"] == 0, source
    assert scan.validation is not None and scan.validation.checked["API calls"] > 50
    assert scan.to_dict()["validators"]["allowListSize"] == scan.validation.allowlist_size > 0
    assert all(r.detail for r in scan.skipped if r.source.startswith("validator:"))


def test_an_insecure_plan_fails_the_scan(plan_for) -> None:
    plan = dataclasses.replace(plan_for("dev"), resources=copy.deepcopy(plan_for("dev").resources))
    plan.resources = [r for r in plan.resources if r["name"] != "mlops-dev-data-public-access"]
    role_policy = plan.one("aws:iam/rolePolicy:RolePolicy", "mlops-dev-execution-image-pull")
    role_policy["inputs"]["policy"] = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
        }
    )
    scan = scan_plan(plan)
    failed = {(r.check_id, r.resource) for r in scan.failures}
    assert ("CKV2_AWS_6", "aws_s3_bucket.mlops-dev-data") in failed
    assert ("CKV_AWS_63", "aws_iam_role_policy.mlops-dev-execution-image-pull") in failed
    assert (
        "MLOPS_NO_WILDCARD_ACTIONS",
        "aws_iam_role_policy.mlops-dev-execution-image-pull",
    ) in failed
    assert ("CKV2_AWS_6", "aws_s3_bucket.mlops-dev-artifacts") not in failed
    assert not scan.passed


def test_skips_turn_matching_failures_into_reasoned_skips_and_unused_ones_are_listed(
    tmp_path: Path,
) -> None:
    skip_file = tmp_path / "skips.yaml"
    skip_file.write_text(
        "skips:\n"
        "  - check: CKV_AWS_1\n    resource: '*-logs'\n"
        "    reason: the log bucket cannot use it, see docs\n"
        "  - check: CKV_AWS_2\n    reason: nothing in this plan needs this skip at all\n",
        encoding="utf-8",
    )
    skips = load_skips(skip_file)
    applied = skips.apply(
        [
            result("failed", resource="aws_s3_bucket.x-logs"),
            result("failed", resource="aws_s3_bucket.x-data"),
            result("passed", resource="aws_s3_bucket.x-logs"),
        ]
    )
    assert [r.status for r in applied] == ["skipped", "failed", "passed"]
    assert applied[0].detail == "the log bucket cannot use it, see docs"
    assert [s.check for s in skips.unused] == ["CKV_AWS_2"]


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("  - check: CKV_AWS_1\n", "reason"),
        ("  - check: CKV_AWS_1\n    reason: ok\n", "at least"),
        ("  - reason: a long enough reason for the reviewer\n", "check"),
        (
            "  - check: CKV_AWS_1\n    reason: a long enough reason for the reviewer\n"
            "    until: 2027\n",
            "unknown",
        ),
    ],
)
def test_a_skip_without_a_real_reason_is_an_error(tmp_path: Path, entry: str, message: str) -> None:
    skip_file = tmp_path / "skips.yaml"
    skip_file.write_text("skips:\n" + entry, encoding="utf-8")
    with pytest.raises(SkipFileError, match=message):
        load_skips(skip_file)


def test_the_reviewed_skip_file_loads_and_every_skip_has_a_reason() -> None:
    skips = load_skips().skips
    assert skips and all(len(s.reason) >= 20 for s in skips)


def test_missing_checkov_names_make_install(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MLOPS_CHECKOV", str(tmp_path / "absent" / "checkov"))
    with pytest.raises(CheckovMissingError, match="make install"):
        checkov_executable()


def test_reports_of_several_frameworks_parse_and_parsing_errors_are_refused() -> None:
    check = {
        "check_id": "CKV_K8S_1",
        "check_name": "n",
        "resource": "Deployment.a",
        "file_path": "/d.yaml",
    }
    report = [
        {"check_type": "kubernetes", "results": {"failed_checks": [check]}, "summary": {}},
        {"check_type": "terraform_plan", "results": {"passed_checks": [check]}, "summary": {}},
    ]
    parsed = parse_report(json.dumps(report), "kubernetes")
    assert [(r.source, r.status, r.file) for r in parsed] == [
        ("checkov:kubernetes", "failed", "d.yaml"),
        ("checkov:terraform_plan", "passed", "d.yaml"),
    ]
    with pytest.raises(CheckovRunError, match="parse"):
        parse_report(json.dumps({"summary": {"parsing_errors": 1}}), "terraform_plan")
    with pytest.raises(CheckovRunError, match="no JSON"):
        parse_report("Traceback ...", "terraform_plan")


def test_kubernetes_resources_without_a_manifest_writer_are_an_error(plan_for, monkeypatch) -> None:
    plan: Plan = dataclasses.replace(plan_for("dev"), resources=list(plan_for("dev").resources))
    plan.resources.append(
        {
            "urn": "urn:k8s",
            "type": "kubernetes:apps/v1:Deployment",
            "name": "api",
            "custom": True,
            "inputs": {},
            "outputs": {},
            "dependencies": [],
        }
    )
    monkeypatch.setitem(sys.modules, "infra.plan.kubernetes", None)
    with pytest.raises(ManifestWriterMissingError, match="kubernetes"):
        scan_plan(plan)


def test_a_scan_result_fails_on_any_failure_and_counts_per_source() -> None:
    scan = ScanResult(stack="dev", results=[result("passed"), result("failed"), result("skipped")])
    assert not scan.passed
    assert scan.counts() == {"checkov:terraform_plan": {"passed": 1, "failed": 1, "skipped": 1}}
    assert scan.to_dict()["passed"] is False and len(scan.to_dict()["results"]) == 3
    assert ScanResult(stack="dev", results=[result("passed"), result("skipped")]).passed


def test_an_inline_suppression_counts_as_a_failure_until_the_skip_file_reviews_it() -> None:
    check = {
        "check_id": "CKV_K8S_8",
        "check_name": "Liveness probe",
        "resource": "Deployment.a",
        "file_path": "/d.yaml",
        "check_result": {"result": "SKIPPED", "suppress_comment": "later"},
    }
    report = {"check_type": "kubernetes", "results": {"skipped_checks": [check]}, "summary": {}}
    [parsed] = parse_report(json.dumps(report), "kubernetes")
    assert parsed.status == "failed" and "skipped inline (later)" in parsed.detail


def test_print_scan_lists_failures_skip_reasons_and_counts_per_source() -> None:
    from ops.plan_report import console, print_scan

    skipped = dataclasses.replace(
        result("skipped", check="CKV_AWS_144"), detail="a reviewed reason"
    )
    scan = ScanResult(stack="prod", results=[result("failed", check="CKV_AWS_63"), skipped])
    with console.capture() as captured:
        print_scan(scan)
    text = captured.get()
    assert "CKV_AWS_63" in text and "a reviewed reason" in text
    assert "checkov:terraform_plan: 1 failed, 0 passed, 1 skipped" in text
    assert "scan failed" in text


def test_print_scan_gives_what_the_validators_checked_and_unused_allowances() -> None:
    from infra.plan.validate import ValidationReport
    from infra.plan.validate.allowlist import Allowance
    from ops.plan_report import console, print_scan

    unused = Allowance(
        "iam", "PARLIAMENT_MALFORMED", "a reason long enough to be read", "aws_iam_role.*"
    )
    report = ValidationReport([], {"policy documents": 3, "API calls": 9}, 8, [unused])
    with console.capture() as captured:
        print_scan(ScanResult(stack="prod", results=[], validation=report))
    text = captured.get()
    assert "validators checked 3 policy documents, 9 API calls; allow-list of 8 entries" in text
    assert "PARLIAMENT_MALFORMED (aws_iam_role.*)" in text


def test_mlops_scan_exits_1_when_the_scan_fails(monkeypatch, plan_for) -> None:
    from infra.plan import scan as scan_module
    from ops import cli, plan_report

    failing = ScanResult(stack="dev", results=[result("failed", check="CKV_AWS_63")])
    monkeypatch.setattr(plan_report, "synthesize_with_progress", lambda *args: plan_for("dev"))
    monkeypatch.setattr(scan_module, "scan_plan", lambda plan: failing)
    monkeypatch.setattr(sys, "argv", ["mlops", "scan", "--stack", "dev"])
    with pytest.raises(SystemExit) as exited:
        cli.main()
    assert exited.value.code == 1
