"""The planned retrain gate in moto: its lease table as planned, its settings as deployed."""

from __future__ import annotations

from datetime import timedelta

import pytest

from infra.plan.engine import synthesize
from ml.errors import MlopsError
from ops.local.gate_emulation import emulate_gate, planned_gate

PACKAGE = "arn:aws:sagemaker:us-east-1:123456789012:model-package/mlops-prod-fraud-models/3"


def test_the_gate_runs_with_the_plans_settings_and_table(monkeypatch: pytest.MonkeyPatch) -> None:
    import boto3
    from moto import mock_aws

    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    plan = synthesize(
        "prod",
        overrides=[f"serving.modelPackageArn={PACKAGE}", "monitoring.retrainCooldownMinutes=90"],
    )
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        settings = emulate_gate(dynamodb, plan)
        assert emulate_gate(dynamodb, plan) == settings  # a second call finds the table
        assert settings.cooldown == timedelta(minutes=90)
        assert settings.pipeline_name == "mlops-prod-training"
        table = dynamodb.describe_table(TableName=settings.lock_table)["Table"]
        assert table["KeySchema"] == [{"AttributeName": "lock", "KeyType": "HASH"}]


def test_a_plan_without_a_gate_is_one_clear_line() -> None:
    with pytest.raises(MlopsError, match="stack dev: the plan has no retrain gate"):
        planned_gate(synthesize("dev"))
