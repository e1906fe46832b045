"""Monitoring: drift alarms on the publisher's metrics, retraining on drift, pipeline failures."""

from __future__ import annotations

import json

from ml.schema import FEATURE_COLUMNS
from pipelines.metrics import DRIFT_NAMESPACE, drift_dimensions
from tests.infra.conftest import policy

ARN = (
    "serving.modelPackageArn="
    "arn:aws:sagemaker:us-east-1:123456789012:model-package/mlops-prod-fraud/3"
)
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
FUNCTION = "aws:lambda/function:Function"


def test_drift_alarms_watch_exactly_what_the_publisher_sends(plan_for) -> None:
    plan = plan_for("prod", ARN)
    alarm = plan.one(ALARM, "mlops-prod-drift-alarm")["inputs"]
    assert alarm["namespace"] == DRIFT_NAMESPACE and alarm["metricName"] == "MaxPSI"
    published = drift_dimensions("prod", "mlops-prod-endpoint")
    assert alarm["dimensions"] == published
    assert alarm["threshold"] == plan.config.monitoring.psi_alarm
    warn = plan.one(ALARM, "mlops-prod-drift-warn")["inputs"]
    assert warn["threshold"] == plan.config.monitoring.psi_warn


def test_each_feature_has_a_drift_alarm_on_its_own_published_psi(plan_for) -> None:
    """A second change while the largest PSI is still in ALARM must enter a state somewhere."""
    plan = plan_for("prod", ARN)
    topic = plan.one("aws:sns/topic:Topic")["outputs"]["arn"]
    for feature in FEATURE_COLUMNS:
        name = f"mlops-prod-drift-feature-{feature.replace('_', '-')}"
        alarm = plan.one(ALARM, name)["inputs"]
        assert alarm["metricName"] == "FeaturePSI"
        assert alarm["dimensions"] == drift_dimensions("prod", "mlops-prod-endpoint", feature)
        assert alarm["threshold"] == plan.config.monitoring.psi_alarm
        assert alarm["alarmActions"] == [topic] and alarm["treatMissingData"] == "notBreaching"
        assert feature in alarm["alarmDescription"]


def test_drift_alarm_notifies_the_stack_topic(plan_for) -> None:
    plan = plan_for("prod", ARN)
    topic = plan.one("aws:sns/topic:Topic")["outputs"]["arn"]
    alarm = plan.one(ALARM, "mlops-prod-drift-alarm")["inputs"]
    assert alarm["actionsEnabled"] is True and alarm["alarmActions"] == [topic]


def test_drift_alarm_invokes_the_retrain_gate_not_the_pipeline(plan_for) -> None:
    plan = plan_for("prod", ARN)
    rule = plan.one("aws:cloudwatch/eventRule:EventRule", "mlops-prod-retrain-on-drift")
    pattern = json.loads(rule["inputs"]["eventPattern"])
    alarm_arn = plan.one(ALARM, "mlops-prod-drift-alarm")["outputs"]["arn"]
    feature_arns = [
        plan.one(ALARM, f"mlops-prod-drift-feature-{feature.replace('_', '-')}")["outputs"]["arn"]
        for feature in FEATURE_COLUMNS
    ]
    assert pattern["resources"] == [alarm_arn, *feature_arns]
    assert pattern["detail"] == {"state": {"value": ["ALARM"]}}
    target = plan.one(
        "aws:cloudwatch/eventTarget:EventTarget", "mlops-prod-retrain-on-drift-target"
    )
    gate = plan.one(FUNCTION, "mlops-prod-retrain-gate")
    assert target["inputs"]["arn"] == gate["outputs"]["arn"]
    permission = plan.one(
        "aws:lambda/permission:Permission",
        "mlops-prod-retrain-gate-from-mlops-prod-retrain-on-drift",
    )["inputs"]
    assert permission["principal"] == "events.amazonaws.com"
    assert permission["sourceArn"] == rule["outputs"]["arn"]
    assert permission["sourceAccount"] == "123456789012"


def test_the_gate_waits_the_configured_cool_down_on_a_lease_not_on_reserved_concurrency(
    plan_for,
) -> None:
    plan = plan_for("prod", ARN, "monitoring.retrainCooldownMinutes=90")
    gate = plan.one(FUNCTION, "mlops-prod-retrain-gate")["inputs"]
    variables = gate["environment"]["variables"]
    assert variables["RETRAIN_COOLDOWN_MINUTES"] == "90"
    assert variables["PIPELINE_NAME"] == "mlops-prod-training"
    # AWS refuses a reservation that leaves fewer than 100 unreserved executions, the whole
    # quota of a new account (https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html).
    assert "reservedConcurrentExecutions" not in gate
    table = plan.one("aws:dynamodb/table:Table", "mlops-prod-retrain-gate-lock")
    assert variables["RETRAIN_LOCK_TABLE"] == table["inputs"]["name"]
    assert int(variables["LEASE_STALE_SECONDS"]) > gate["timeout"]
    assert gate["handler"] == "pipelines.lambdas.retrain_gate.handler"


def test_the_lease_table_is_encrypted_with_the_stack_key_and_recoverable(plan_for) -> None:
    plan = plan_for("prod", ARN)
    table = plan.one("aws:dynamodb/table:Table", "mlops-prod-retrain-gate-lock")["inputs"]
    key = plan.one("aws:kms/key:Key")["outputs"]["arn"]
    assert table["serverSideEncryption"] == {"enabled": True, "kmsKeyArn": key}
    assert table["pointInTimeRecovery"] == {"enabled": True}
    assert table["billingMode"] == "PAY_PER_REQUEST"
    assert table["hashKey"] == "lock" and table["attributes"] == [{"name": "lock", "type": "S"}]
    assert table["ttl"] == {"attributeName": "expires_at", "enabled": True}


def test_the_gate_may_start_this_pipeline_and_hold_its_lease_only(plan_for) -> None:
    plan = plan_for("prod", ARN)
    pipeline = plan.one("aws:sagemaker/pipeline:Pipeline", "mlops-prod-training")["outputs"]["arn"]
    table = plan.one("aws:dynamodb/table:Table", "mlops-prod-retrain-gate-lock")["outputs"]["arn"]
    statements = {
        s["Sid"]: s
        for s in policy(
            plan.one("aws:iam/rolePolicy:RolePolicy", "mlops-prod-retrain-gate-start-pipeline")
        )["Statement"]
    }
    assert statements["StartThisPipeline"]["Resource"] == pipeline
    assert statements["HoldTheCooldownLease"]["Resource"] == table
    assert statements["HoldTheCooldownLease"]["Action"] == [
        "dynamodb:GetItem",
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
    ]
    key_use = statements["UseTheStackKeyThroughDynamoDbOnly"]
    assert key_use["Condition"] == {
        "StringEquals": {"kms:ViaService": "dynamodb.us-east-1.amazonaws.com"}
    }
    pipeline_actions = {
        action
        for s in statements.values()
        for action in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
        if "Pipeline" in action
    }
    assert pipeline_actions == {"sagemaker:StartPipelineExecution"}
    trust = policy(plan.one("aws:iam/role:Role", "mlops-prod-retrain-gate"), "assumeRolePolicy")
    assert trust["Statement"][0]["Principal"] == {"Service": "lambda.amazonaws.com"}
    assert trust["Statement"][0]["Condition"] == {
        "StringEquals": {"aws:SourceAccount": "123456789012"}
    }


def test_the_gate_package_holds_every_module_the_handler_imports() -> None:
    import ast

    from infra.components.retrain_gate import GATE_FILES
    from infra.image_context import REPO_ROOT

    packaged = {path.removesuffix(".py").replace("/", ".") for path in GATE_FILES}
    for path in GATE_FILES:
        tree = ast.parse((REPO_ROOT / path).read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in (
                "ml",
                "pipelines",
            ):
                assert node.module in packaged, f"{path} imports {node.module}"


def test_dev_does_not_retrain_on_drift_by_default(plan_for) -> None:
    plan = plan_for("dev", ARN.replace("mlops-prod", "mlops-dev"))
    rules = {r["name"] for r in plan.of_type("aws:cloudwatch/eventRule:EventRule")}
    assert "mlops-dev-retrain-on-drift" not in rules
    assert not plan.of_type(FUNCTION)


def test_a_stack_that_does_not_retrain_on_alarms_keeps_its_drift_alarms(plan_for) -> None:
    plan = plan_for("prod", ARN, "monitoring.retrainOnAlarm=false")
    assert plan.one(ALARM, "mlops-prod-drift-alarm")
    rules = {r["name"] for r in plan.of_type("aws:cloudwatch/eventRule:EventRule")}
    assert "mlops-prod-retrain-on-drift" not in rules
    assert not plan.of_type(FUNCTION)


def test_no_drift_alarm_and_no_gate_where_nothing_publishes_drift(plan_for) -> None:
    # dev serves serverless, which cannot capture; prod here captures nothing either.
    for plan in (
        plan_for("dev", ARN.replace("mlops-prod", "mlops-dev")),
        plan_for("prod", ARN, "serving.dataCapture.enabled=false"),
    ):
        names = {a["name"] for a in plan.of_type(ALARM)}
        assert not [n for n in names if "-drift-" in n], names
        assert not plan.of_type(FUNCTION)
        assert f"mlops-{plan.stack}-training-failed" in names


def test_alarms_that_moved_component_name_their_former_place(plan_for) -> None:
    plan = plan_for("prod", ARN)
    former = "urn:pulumi:prod::mlops::mlops:monitoring:DriftMonitoring$"
    for token, name in (
        (ALARM, "mlops-prod-drift-alarm"),
        (ALARM, "mlops-prod-drift-warn"),
        (ALARM, "mlops-prod-training-failed"),
        ("aws:cloudwatch/eventRule:EventRule", "mlops-prod-retrain-on-drift"),
        ("aws:cloudwatch/eventTarget:EventTarget", "mlops-prod-retrain-on-drift-target"),
    ):
        resource = plan.one(token, name)
        assert resource["aliases"] == [f"{former}{token}::{name}"]
        assert resource["urn"] not in resource["aliases"]


def test_without_an_endpoint_there_is_no_drift_alarm_but_pipeline_failures_alarm(plan_for) -> None:
    plan = plan_for("staging")
    names = {a["name"] for a in plan.of_type(ALARM)}
    assert "mlops-staging-drift-alarm" not in names
    failed = plan.one(ALARM, "mlops-staging-training-failed")["inputs"]
    assert failed["dimensions"] == {
        "PipelineName": plan.one("aws:sagemaker/pipeline:Pipeline", "mlops-staging-training")[
            "inputs"
        ]["pipelineName"]
    }


def test_drift_alarms_need_m_of_n_hourly_windows(plan_for) -> None:
    plan = plan_for("prod", ARN, "monitoring.alarmDatapoints=3", "monitoring.alarmPeriods=4")
    for level in ("warn", "alarm", "flag-rate"):
        alarm = plan.one(ALARM, f"mlops-prod-drift-{level}")["inputs"]
        assert (alarm["evaluationPeriods"], alarm["datapointsToAlarm"]) == (4, 3)
        assert (alarm["period"], alarm["treatMissingData"]) == (3600, "notBreaching")


def test_the_flag_rate_alarm_watches_its_z_and_tells_people_only(plan_for) -> None:
    plan = plan_for("prod", ARN, "monitoring.alarmZ=3.5")
    alarm = plan.one(ALARM, "mlops-prod-drift-flag-rate")
    inputs = alarm["inputs"]
    assert (inputs["metricName"], inputs["threshold"]) == ("FlagRateChangeZ", 3.5)
    assert inputs["dimensions"] == drift_dimensions("prod", "mlops-prod-endpoint")
    rule = plan.one("aws:cloudwatch/eventRule:EventRule", "mlops-prod-retrain-on-drift")
    assert alarm["outputs"]["arn"] not in json.loads(rule["inputs"]["eventPattern"])["resources"]


def test_no_flag_rate_alarm_without_a_score_reference(plan_for) -> None:
    plan = plan_for("prod", ARN, "monitoring.scoreReferenceDays=0")
    names = {a["name"] for a in plan.of_type(ALARM)}
    assert "mlops-prod-drift-flag-rate" not in names and "mlops-prod-drift-alarm" in names
