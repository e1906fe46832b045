"""The deployed monitoring loop in the plan: pipeline, schedule, job role, quality alarms."""

from __future__ import annotations

import json
from typing import Any

from pipelines import metrics
from pipelines.definitions.monitoring import step_arguments
from tests.infra.conftest import policy

PACKAGE = "arn:aws:sagemaker:us-east-1:123456789012:model-package/mlops-prod-fraud-models/3"
ARN = f"serving.modelPackageArn={PACKAGE}"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
PIPELINE = "aws:sagemaker/pipeline:Pipeline"
POLICY = "aws:iam/rolePolicy:RolePolicy"


def definition(plan: Any) -> dict[str, Any]:
    return json.loads(plan.one(PIPELINE, "mlops-prod-monitoring")["inputs"]["pipelineDefinition"])


def statements(plan: Any, name: str) -> dict[str, dict[str, Any]]:
    return {s["Sid"]: s for s in policy(plan.one(POLICY, name))["Statement"]}


def test_the_drift_steps_dimensions_are_the_drift_alarms(plan_for) -> None:
    plan = plan_for("prod", ARN)
    args = step_arguments(definition(plan), "Drift")
    published = metrics.drift_dimensions(args["stack"], args["endpoint"])
    for level in ("alarm", "warn"):
        assert plan.one(ALARM, f"mlops-prod-drift-{level}")["inputs"]["dimensions"] == published


def test_the_quality_steps_dimensions_are_the_quality_alarms(plan_for) -> None:
    plan = plan_for("prod", ARN)
    args = step_arguments(definition(plan), "Quality")
    published = metrics.quality_dimensions(args["endpoint"], args["variant"])
    for part in ("recall", "precision", "recall-gap"):
        alarm = plan.one(ALARM, f"mlops-prod-quality-{part}")["inputs"]
        assert alarm["namespace"] == metrics.QUALITY_NAMESPACE
        assert alarm["dimensions"] == published
    # PR AUC is published for the dashboard; without an interval for it there is no alarm.
    assert "mlops-prod-quality-pr-auc" not in {a["name"] for a in plan.of_type(ALARM)}


def test_the_drift_step_uses_the_pinned_package_and_the_configured_thresholds(plan_for) -> None:
    plan = plan_for("prod", ARN, "monitoring.psiAlarm=0.3", "monitoring.driftWindowHours=2")
    args = step_arguments(definition(plan), "Drift")
    assert args["model-package-arn"] == PACKAGE
    assert (args["psi-alarm"], args["window-hours"]) == ("0.3", "2")


def test_the_schedule_starts_the_monitoring_pipeline_on_the_drift_schedule(plan_for) -> None:
    plan = plan_for("prod", ARN, "monitoring.driftSchedule=rate(30 minutes)")
    schedule = plan.one("aws:scheduler/schedule:Schedule", "mlops-prod-monitoring-schedule")
    pipeline = plan.one(PIPELINE, "mlops-prod-monitoring")
    key = plan.one("aws:kms/key:Key")["outputs"]["arn"]
    inputs = schedule["inputs"]
    assert inputs["scheduleExpression"] == "rate(30 minutes)"
    assert inputs["state"] == "ENABLED" and inputs["kmsKeyArn"] == key
    assert inputs["target"]["arn"] == pipeline["outputs"]["arn"]
    start = statements(plan, "mlops-prod-monitoring-scheduler-start")
    assert start["StartThisPipelineOnly"]["Resource"] == pipeline["outputs"]["arn"]
    assert start["StartThisPipelineOnly"]["Action"] == "sagemaker:StartPipelineExecution"


def test_the_job_role_publishes_to_the_monitoring_namespaces_only(plan_for) -> None:
    plan = plan_for("prod", ARN)
    found = statements(plan, "mlops-prod-monitor-drift-and-quality")
    publish = found["PublishMonitoringMetricsOnly"]
    assert publish["Action"] == "cloudwatch:PutMetricData"
    assert publish["Condition"] == {
        "StringEquals": {
            "cloudwatch:namespace": ["mlops/drift", "mlops/quality", "mlops/monitoring"]
        }
    }
    assert found["ReadTheServingModelPackage"]["Resource"] == PACKAGE


def test_the_job_role_reads_capture_and_labels_and_writes_only_reports_and_feedback(
    plan_for,
) -> None:
    plan = plan_for("prod", ARN)
    names = {r["name"] for r in plan.of_type(POLICY) if r["name"].startswith("mlops-prod-monitor-")}
    prefix = "mlops-prod-monitor-monitoring-"
    assert {
        f"{prefix}data-capture-mlops-prod-endpoint-ro",
        f"{prefix}labels-mlops-prod-endpoint-ro",
        f"{prefix}drift-mlops-prod-endpoint-rw",
        f"{prefix}quality-mlops-prod-endpoint-rw",
        f"{prefix}feedback-mlops-prod-endpoint-rw",
        "mlops-prod-monitor-data-raw-feedback-mlops-prod-endpoint-rw",
        "mlops-prod-monitor-artifacts-pipeline-runs-ro",
    } <= names
    writes = [n for n in names if n.endswith("-rw")]
    assert not [n for n in writes if not any(p in n for p in ("drift", "quality", "feedback"))]


def test_the_pipeline_role_may_pass_the_monitor_role_to_sagemaker_only(plan_for) -> None:
    plan = plan_for("prod", ARN)
    role = plan.one("aws:iam/role:Role", "mlops-prod-monitor")["outputs"]["arn"]
    passing = statements(plan, "mlops-prod-pipeline-run-monitoring-jobs")
    assert passing["PassTheMonitorRoleToSageMaker"]["Resource"] == role
    assert passing["PassTheMonitorRoleToSageMaker"]["Condition"] == {
        "StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}
    }
    steps = definition(plan)["Steps"]
    assert {s["Arguments"]["RoleArn"] for s in steps} == {role}


def test_quality_alarms_watch_the_drop_from_the_evaluation_m_of_n(plan_for) -> None:
    plan = plan_for("prod", ARN, "monitoring.alarmZ=4", "monitoring.alarmDatapoints=3")
    recall = plan.one(ALARM, "mlops-prod-quality-recall")["inputs"]
    assert (recall["threshold"], recall["comparisonOperator"]) == (
        4,
        "GreaterThanOrEqualToThreshold",
    )
    assert (recall["metricName"], recall["statistic"]) == (metrics.RECALL_DROP_Z, "Maximum")
    assert (recall["evaluationPeriods"], recall["datapointsToAlarm"]) == (3, 3)
    gap = plan.one(ALARM, "mlops-prod-quality-recall-gap")["inputs"]
    assert (gap["metricName"], gap["threshold"]) == (metrics.SEGMENT_RECALL_DROP_Z, 4)
    assert gap["treatMissingData"] == "notBreaching"
    topic = plan.one("aws:sns/topic:Topic")["outputs"]["arn"]
    assert recall["alarmActions"] == [topic] and gap["alarmActions"] == [topic]


def test_quality_drop_alarms_retrain_through_the_cool_down_gate_and_the_gap_alarm_does_not(
    plan_for,
) -> None:
    plan = plan_for("prod", ARN)
    rule = plan.one("aws:cloudwatch/eventRule:EventRule", "mlops-prod-retrain-on-quality")
    arns = {
        part: plan.one(ALARM, f"mlops-prod-quality-{part}")["outputs"]["arn"]
        for part in ("recall", "precision", "recall-gap")
    }
    pattern = json.loads(rule["inputs"]["eventPattern"])
    assert pattern["resources"] == [arns["recall"], arns["precision"]]
    target = plan.one(
        "aws:cloudwatch/eventTarget:EventTarget", "mlops-prod-retrain-on-quality-target"
    )
    gate = plan.one("aws:lambda/function:Function", "mlops-prod-retrain-gate")["outputs"]["arn"]
    assert target["inputs"]["arn"] == gate
    queue = plan.one("aws:sqs/queue:Queue", "mlops-prod-dead-letters")["outputs"]["arn"]
    assert target["inputs"]["deadLetterConfig"]["arn"] == queue
    permitted = [p["inputs"]["sourceArn"] for p in plan.of_type("aws:lambda/permission:Permission")]
    assert rule["outputs"]["arn"] in permitted


def test_no_monitoring_pipeline_before_a_model_is_pinned(plan_for) -> None:
    plan = plan_for("prod")
    assert [r["name"] for r in plan.of_type(PIPELINE)] == ["mlops-prod-training"]
    assert not [r for r in plan.of_type(ALARM) if r["name"].startswith("mlops-prod-quality-")]


def test_no_monitoring_pipeline_when_the_endpoint_captures_nothing(plan_for) -> None:
    plan = plan_for("prod", ARN, "serving.dataCapture.enabled=false")
    assert [r["name"] for r in plan.of_type(PIPELINE)] == ["mlops-prod-training"]


def test_quality_can_be_turned_off_keeping_the_drift_job(plan_for) -> None:
    plan = plan_for(
        "prod", ARN, "monitoring.quality.enabled=false", "monitoring.feedback.enabled=false"
    )
    assert [s["Name"] for s in definition(plan)["Steps"]] == ["Drift"]
    assert not [r for r in plan.of_type(ALARM) if r["name"].startswith("mlops-prod-quality-")]


def test_the_feedback_step_lands_in_the_stacks_data_bucket_as_configured(plan_for) -> None:
    plan = plan_for("prod", ARN, "monitoring.feedback.lookbackHours=72")
    args = step_arguments(definition(plan), "Feedback")
    data = plan.one("aws:s3/bucket:Bucket", "mlops-prod-data")["inputs"]["bucket"]
    assert (args["data-bucket"], args["lookback-hours"], args["catch-up-hours"]) == (
        data,
        "72",
        "24",
    )
    off = plan_for("prod", ARN, "monitoring.feedback.enabled=false")
    assert "Feedback" not in [s["Name"] for s in definition(off)["Steps"]]
    assert not [
        r for r in off.of_type(ALARM) if r["name"] == "mlops-prod-monitoring-feedback-stale"
    ]


def test_the_steps_carry_the_minimums_the_label_delay_and_the_score_reference(plan_for) -> None:
    plan = plan_for(
        "prod",
        ARN,
        "monitoring.minWindowRows=500",
        "monitoring.scoreReferenceDays=5",
        "monitoring.quality.labelDelayHours=336",
        "monitoring.quality.minPositives=40",
    )
    drift = step_arguments(definition(plan), "Drift")
    assert (drift["min-rows"], drift["score-reference-days"]) == ("500", "5")
    assert drift["flag-rate-tolerance"] == "1.5"
    quality = step_arguments(definition(plan), "Quality")
    assert (quality["label-delay-hours"], quality["min-positives"]) == ("336", "40")
    assert (quality["min-segment-positives"], quality["min-label-coverage"]) == ("20", "0.9")


def test_the_job_role_reads_a_promoted_packages_model_and_evaluation(plan_for) -> None:
    from ops.release.artifact_copy import PROMOTED_PREFIX
    from pipelines.definitions.monitoring import PROMOTED_PREFIX as READ_PREFIX

    assert f"{PROMOTED_PREFIX}/" == READ_PREFIX
    plan = plan_for("prod", ARN)
    reads = policy(plan.one(POLICY, "mlops-prod-monitor-artifacts-promoted-ro"))["Statement"]
    objects = [s for s in reads if "s3:GetObject" in s["Action"]]
    assert objects and all(r.endswith("/promoted/*") for s in objects for r in _list(s["Resource"]))


def _list(value: Any) -> list[str]:
    return value if isinstance(value, list) else [value]
