"""The monitoring pipeline's definition: two uncached job steps in the project image."""

from __future__ import annotations

import json
from dataclasses import replace

from pipelines.definitions.monitoring import (
    FeedbackSpec,
    MonitoringPipelineSpec,
    QualitySpec,
    build_definition,
    definition_json,
    step_arguments,
)
from pipelines.jobs import drift as monitor_drift
from pipelines.jobs import feedback as monitor_feedback
from pipelines.jobs import quality as monitor_quality
from tests.factories import IMAGE

SPEC = MonitoringPipelineSpec(
    pipeline_name="mlops-prod-monitoring",
    region="us-east-1",
    role_arn="arn:aws:iam::123456789012:role/mlops-prod-monitor",
    image_uri=IMAGE,
    kms_key_arn="arn:aws:kms:us-east-1:123456789012:key/k",
    monitoring_bucket="mlops-prod-monitoring-123456789012-us-east-1",
    stack="prod",
    endpoint_name="mlops-prod-endpoint",
    variant_name="primary",
    model_package_arn="arn:aws:sagemaker:us-east-1:123456789012:model-package/g/3",
    instance_type="ml.m5.large",
    max_retry_attempts=5,
    drift_window_hours=1,
    psi_warn=0.1,
    psi_alarm=0.25,
    quality=QualitySpec(window_hours=168, min_labelled_rows=200, min_segment_positives=5),
)


def test_each_step_runs_its_module_in_the_project_image() -> None:
    steps = {s["Name"]: s["Arguments"]["AppSpecification"] for s in build_definition(SPEC)["Steps"]}
    assert steps["Drift"]["ContainerEntrypoint"] == ["python3", "-m", "pipelines.jobs.drift"]
    assert steps["Quality"]["ContainerEntrypoint"] == ["python3", "-m", "pipelines.jobs.quality"]
    assert {app["ImageUri"] for app in steps.values()} == {IMAGE}


def test_no_step_uses_the_cache() -> None:
    """The arguments are the same every run; a cache hit would replay an old window."""
    assert [s["CacheConfig"] for s in build_definition(SPEC)["Steps"]] == [{"Enabled": False}] * 2


def test_steps_read_the_primary_variants_capture_of_the_endpoint() -> None:
    definition = build_definition(SPEC)
    for step in ("Drift", "Quality"):
        assert step_arguments(definition, step)["capture-prefix"] == (
            "data-capture/mlops-prod-endpoint/primary/"
        )
    assert step_arguments(definition, "Quality")["labels-prefix"] == "labels/mlops-prod-endpoint/"


def test_reports_upload_under_drift_and_quality_per_execution() -> None:
    outputs = {
        s["Name"]: s["Arguments"]["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]
        for s in build_definition(SPEC)["Steps"]
    }
    bucket = f"s3://{SPEC.monitoring_bucket}"
    assert outputs["Drift"]["S3Uri"]["Std:Join"]["Values"] == [
        f"{bucket}/drift/mlops-prod-endpoint",
        {"Get": "Execution.PipelineExecutionId"},
    ]
    assert outputs["Quality"]["S3Uri"]["Std:Join"]["Values"][0] == (
        f"{bucket}/quality/mlops-prod-endpoint"
    )


def test_step_arguments_parse_as_the_modules_take_them() -> None:
    definition = build_definition(SPEC)
    for step, module in (("Drift", monitor_drift), ("Quality", monitor_quality)):
        found = next(s for s in definition["Steps"] if s["Name"] == step)
        args = module._parser().parse_args(
            found["Arguments"]["AppSpecification"]["ContainerArguments"]
        )
        assert args.model_package_arn == SPEC.model_package_arn
    drift = monitor_drift._parser().parse_args(
        definition["Steps"][0]["Arguments"]["AppSpecification"]["ContainerArguments"]
    )
    assert (drift.window_hours, drift.psi_alarm) == (1.0, 0.25)


def test_without_quality_only_the_drift_step_is_built() -> None:
    steps = build_definition(replace(SPEC, quality=None))["Steps"]
    assert [s["Name"] for s in steps] == ["Drift"]


def test_the_definition_is_byte_identical_for_the_same_spec() -> None:
    assert definition_json(SPEC) == definition_json(replace(SPEC))
    assert json.loads(definition_json(SPEC)) == build_definition(SPEC)


FEEDBACK = FeedbackSpec(
    data_bucket="mlops-prod-data-123456789012-us-east-1", lookback_hours=72, catch_up_hours=12
)


def test_the_feedback_step_lands_in_the_data_bucket_with_its_ledger_in_monitoring() -> None:
    definition = build_definition(replace(SPEC, feedback=FEEDBACK))
    step = next(s for s in definition["Steps"] if s["Name"] == "Feedback")
    assert step["CacheConfig"] == {"Enabled": False}
    app = step["Arguments"]["AppSpecification"]
    assert app["ContainerEntrypoint"] == ["python3", "-m", "pipelines.jobs.feedback"]
    args = monitor_feedback._parser().parse_args(app["ContainerArguments"])
    assert (args.data_bucket, args.bucket) == (FEEDBACK.data_bucket, SPEC.monitoring_bucket)
    assert (args.lookback_hours, args.catch_up_hours) == (72, 12)
    assert args.labels_prefix == "labels/mlops-prod-endpoint/"  # the quality job's contract
    assert args.ledger_prefix == "feedback/mlops-prod-endpoint/"
    assert args.capture_prefix == "data-capture/mlops-prod-endpoint/primary/"
    output = step["Arguments"]["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]["S3Uri"]
    assert (
        output["Std:Join"]["Values"][0]
        == f"s3://{SPEC.monitoring_bucket}/feedback/mlops-prod-endpoint"
    )
