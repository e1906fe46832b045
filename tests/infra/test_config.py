"""Stack config: defaults per environment, and one clear line for every kind of bad value."""

from __future__ import annotations

from pathlib import Path

import pytest

from infra.config import ConfigError, load_stack
from infra.config.overrides import apply_overrides
from infra.config.stack_file import read_stack_file, stack_file
from infra.plan.engine import synthesize

MODEL_ARN = "arn:aws:sagemaker:us-east-1:123456789012:model-package/mlops-prod-fraud/3"


def config_with(stack: str, *assignments: str):
    return load_stack(stack, overrides=assignments)


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_every_stack_file_is_valid(stack: str) -> None:
    config = config_with(stack)
    assert config.environment.value == stack


def test_dev_is_cheap_staging_is_canary_prod_is_safe() -> None:
    dev, staging, prod = (config_with(s) for s in ("dev", "staging", "prod"))
    assert dev.serving.serverless is not None and dev.serving.rollout.strategy == "all_at_once"
    assert dev.storage.force_destroy and not dev.protect
    assert staging.serving.rollout.strategy == "canary" and staging.serving.instance_count == 2
    assert prod.protect and prod.storage.object_lock.enabled
    assert prod.serving.rollout.strategy == "canary"
    assert prod.serving.rollout.canary_percent == 10 and prod.serving.rollout.wait_seconds == 600
    assert prod.serving.autoscaling.min_capacity >= 2
    assert prod.pipeline.approval_status == "PendingManualApproval"
    assert dev.pipeline.approval_status == "Approved"


def test_dev_waits_less_for_labels_and_needs_fewer_of_them_than_prod() -> None:
    dev, prod = config_with("dev"), config_with("prod")
    assert dev.monitoring.quality.label_delay_hours < prod.monitoring.quality.label_delay_hours
    quality = dev.monitoring.quality
    assert (
        quality.label_delay_hours + quality.window_hours <= dev.storage.capture_expiration_days * 24
    )
    assert quality.min_labelled_rows < prod.monitoring.quality.min_labelled_rows


def test_a_valid_override_takes_effect() -> None:
    config = config_with("prod", f"serving.modelPackageArn={MODEL_ARN}", "serving.instanceCount=4")
    assert config.serving.model_package_arn == MODEL_ARN
    assert config.serving.instance_count == 4


# (stack, overrides, words the one-line error must contain)
INVALID = [
    ("prod", ["nosuch.key=1"], "nosuch.key"),
    ("prod", ["serving.nosuch=1"], "serving.nosuch"),
    ("prod", ["serving.rollout.canaryPercent=80"], "serving.rollout.canaryPercent"),
    ("prod", ["serving.rollout.canaryPercent=0"], "serving.rollout.canaryPercent"),
    ("prod", ["serving.instanceCount=abc"], "serving.instanceCount"),
    ("prod", ["serving.instanceCount=0"], "serving.instanceCount"),
    ("prod", ["serving.workers=0"], "serving.workers"),
    ("prod", ["serving.rollout.strategy=blue"], "serving.rollout.strategy"),
    ("prod", ["serving.rollout.linearStepPercent=5"], "serving.rollout.linearStepPercent"),
    ("prod", ["serving.rollout.timeoutSeconds=700"], "serving.rollout.timeoutSeconds"),
    ("prod", ["serving.rollout.waitSeconds=4000"], "serving.rollout.waitSeconds"),
    (
        "prod",
        [
            "serving.rollout.strategy=rolling",
            "serving.instanceCount=1",
            "serving.autoscaling.minCapacity=1",
        ],
        "serving.rollout.strategy",
    ),
    ("dev", ["serving.rollout.strategy=rolling"], "serving.rollout.strategy"),
    ("prod", ["serving.modelPackageArn=not-an-arn"], "serving.modelPackageArn"),
    (
        "prod",
        ["serving.autoscaling.minCapacity=5", "serving.autoscaling.maxCapacity=3"],
        "serving.autoscaling.minCapacity",
    ),
    ("prod", ["storage.kmsDeletionWindowDays=3"], "storage.kmsDeletionWindowDays"),
    ("prod", ["storage.forceDestroy=true"], "storage.forceDestroy"),
    ("prod", ["protect=false"], "protect"),
    ("prod", ["network.mode=explicit"], "network.vpcId"),
    (
        "prod",
        [
            "network.mode=explicit",
            "network.vpcId=vpc-0123456789abcdef0",
            "network.subnetIds=[subnet-0123456789abcdef0]",
            "network.securityGroupIds=[sg-0123456789abcdef0]",
        ],
        "network.subnetIds",
    ),
    ("prod", ["network.mode=terraform"], "network.terraform"),
    (
        "prod",
        ["network.mode=terraform", "network.terraform.backend=s3"],
        "network.terraform.bucket",
    ),
    ("prod", ["network.vpcId=vpc-0123456789abcdef0"], "network.mode"),
    ("prod", ["region=mars-1"], "region"),
    ("prod", ["pipeline.schedule=every hour"], "pipeline.schedule"),
    ("prod", ["pipeline.approvalStatus=Yes"], "pipeline.approvalStatus"),
    ("prod", ["pipeline.gates.minPrAuc=1.5"], "pipeline.gates.minPrAuc"),
    ("prod", ["pipeline.gates.minTestPositives=0"], "pipeline.gates.minTestPositives"),
    ("prod", ["pipeline.gates.margins.recall=0"], "pipeline.gates.margins.recall"),
    ("prod", ["pipeline.gates.maxRegression=0.01"], "pipeline.gates.maxRegression"),
    ("prod", ["monitoring.psiWarn=0.3"], "monitoring.psiWarn"),
    ("prod", ["monitoring.alarmEmail=nobody"], "monitoring.alarmEmail"),
    ("prod", ["monitoring.quality.minRecall=1.2"], "monitoring.quality.minRecall"),
    ("prod", ["monitoring.quality.maxRecallGap=0"], "monitoring.quality.maxRecallGap"),
    ("prod", ["monitoring.driftWindowHours=0"], "monitoring.driftWindowHours"),
    ("prod", ["monitoring.alarmDatapoints=4"], "monitoring.alarmDatapoints"),
    ("prod", ["monitoring.quality.minLabelCoverage=1.5"], "monitoring.quality.minLabelCoverage"),
    (
        "prod",
        ["storage.captureExpirationDays=20"],
        "monitoring.quality.labelDelayHours",
    ),
    ("prod", ["monitoring.alarmEmails=[nobody]"], "monitoring.alarmEmails.0"),
    (
        "prod",
        ["monitoring.alarmHttpsEndpoints=[http://chat.example.com/hooks/mlops]"],
        "monitoring.alarmHttpsEndpoints.0",
    ),
    (
        "prod",
        ["monitoring.alarmHttpsEndpoints=[chat.example.com]"],
        "monitoring.alarmHttpsEndpoints.0",
    ),
    ("prod", ["budget.monthlyLimitUsd=0"], "budget.monthlyLimitUsd"),
    ("prod", ["budget.actualThresholdsPercent=[80, 80]"], "budget.actualThresholdsPercent"),
    ("prod", ["budget.forecastedThresholdsPercent=[0]"], "budget.forecastedThresholdsPercent.0"),
    (
        "prod",
        ["kubernetes.enabled=true", "kubernetes.image=registry.example.com/fraud:1.0"],
        "kubernetes.image",
    ),
    ("prod", ["tags.project=other"], "tags"),
    ("prod", ["namePrefix=Bad_Prefix"], "namePrefix"),
    ("prod", ["serving.dataCapture.samplingPercent=101"], "serving.dataCapture.samplingPercent"),
    ("prod", ["serving=3"], "serving"),
    # S3 refuses old versions that expire before they move to STANDARD_IA (30 days at least).
    ("prod", ["storage.noncurrentVersionDays=20"], "storage.infrequentAccessAfterDays"),
    ("dev", ["storage.infrequentAccessAfterDays=7"], "storage.infrequentAccessAfterDays"),
    (
        "staging",
        ["storage.infrequentAccessAfterDays=30"],
        "storage.infrequentAccessAfterDays",
    ),
    # SageMaker's endpoint metrics are one-minute metrics.
    ("prod", ["serving.alarms.periodSeconds=10"], "serving.alarms.periodSeconds"),
    ("prod", ["serving.alarms.periodSeconds=30"], "serving.alarms.periodSeconds"),
    ("prod", ["serving.alarms.periodSeconds=90"], "serving.alarms.periodSeconds"),
    (
        "prod",
        ["serving.alarms.periodSeconds=86400", "serving.alarms.evaluationPeriods=10"],
        "serving.alarms.evaluationPeriods",
    ),
    # The API server refuses requests above limits.
    (
        "prod",
        ["kubernetes.resources.memoryRequest=2Gi", "kubernetes.resources.memoryLimit=1Gi"],
        "kubernetes.resources.memoryRequest",
    ),
    ("prod", ["kubernetes.resources.cpuRequest=2"], "kubernetes.resources.cpuRequest"),
    ("prod", ["kubernetes.resources.cpuLimit=lots"], "kubernetes.resources.cpuLimit"),
]


@pytest.mark.parametrize(
    ("stack", "assignments", "key"), INVALID, ids=[case[2] + ":" + case[1][-1] for case in INVALID]
)
def test_invalid_config_gives_one_line_naming_the_key(
    stack: str, assignments: list[str], key: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        config_with(stack, *assignments)
    message = str(raised.value)
    assert "\n" not in message
    assert f"mlops:{key}" in message, message


@pytest.mark.parametrize(
    ("assignment", "expected"),
    [
        ("kubernetes.resources.cpuRequest=2", "2"),
        ("kubernetes.resources.cpuRequest=0.5", "0.5"),
        ("kubernetes.resources.memoryRequest=536870912", "536870912"),
        ("kubernetes.resources.memoryRequest=1Gi", "1Gi"),
    ],
)
def test_kubernetes_quantities_may_be_numbers_or_strings(assignment: str, expected: str) -> None:
    config = config_with(
        "prod",
        assignment,
        "kubernetes.resources.cpuLimit=4",
        "kubernetes.resources.memoryLimit=2Gi",
    )
    resources = config.kubernetes.resources
    assert expected in (resources.cpu_request, resources.memory_request)


def test_a_one_minute_multiple_alarm_period_is_accepted() -> None:
    config = config_with("prod", "serving.alarms.periodSeconds=300")
    assert config.serving.alarms.period_seconds == 300


def test_the_single_alarm_email_key_points_to_its_list_replacement() -> None:
    with pytest.raises(ConfigError) as raised:
        config_with("prod", "monitoring.alarmEmail=oncall@example.com")
    assert "renamed to alarmEmails" in str(raised.value)


@pytest.mark.parametrize(
    ("key", "replacement"),
    [("maxRegression", "replaced by margins"), ("minRecallAtPrecision", "replaced by minRecall")],
)
def test_a_retired_gate_key_points_to_what_replaced_it(
    tmp_path: Path, key: str, replacement: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        config_with("prod", f"pipeline.gates.{key}=0.01")
    assert replacement in str(raised.value)
    custom = tmp_path / "Pulumi.dev.yaml"
    custom.write_text(
        f"config:\n  mlops:environment: dev\n  mlops:pipeline:\n    gates:\n      {key}: 0.01\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match=rf"pipeline.gates.{key} = 0.01: {replacement}"):
        synthesize("dev", config_file=custom)


def test_the_gates_reach_the_champion_step_as_configured() -> None:
    from pipelines.definitions.training import Gates, gates_of

    gates = gates_of(config_with("prod", "pipeline.gates.margins.prAuc=0.03").pipeline.gates)
    assert gates == Gates(margin_pr_auc=0.03)


def test_a_plain_http_endpoint_is_refused_with_the_fix() -> None:
    with pytest.raises(ConfigError) as raised:
        config_with("prod", "monitoring.alarmHttpsEndpoints=[http://chat.example.com/hook]")
    assert "expected an https:// URL" in str(raised.value)


def test_invalid_config_fails_before_any_resource_is_registered(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import infra.plan.engine as engine

    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError("the program ran although the config was invalid")

    monkeypatch.setattr(engine.pulumi.runtime, "set_mocks", forbidden)
    with pytest.raises(ConfigError, match=r"serving\.rollout\.canaryPercent"):
        synthesize("prod", overrides=["serving.rollout.canaryPercent=80"])


def test_set_without_equals_sign_is_explained() -> None:
    with pytest.raises(ConfigError, match="expected KEY=VALUE"):
        apply_overrides({}, ["serving.instanceCount"])


def test_unknown_stack_needs_an_explicit_environment(tmp_path: Path) -> None:
    custom = tmp_path / "Pulumi.sandbox.yaml"
    custom.write_text("config:\n  aws:region: eu-west-1\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="mlops:environment"):
        synthesize("sandbox", config_file=custom)


def test_a_custom_stack_file_with_an_environment_plans(tmp_path: Path) -> None:
    custom = tmp_path / "Pulumi.sandbox.yaml"
    custom.write_text(
        "config:\n  aws:region: eu-west-1\n  mlops:environment: dev\n", encoding="utf-8"
    )
    plan = synthesize("sandbox", config_file=custom)
    assert plan.config.region == "eu-west-1"
    assert plan.outputs["environment"] == "dev"


def test_broken_yaml_names_the_file_and_line(tmp_path: Path) -> None:
    broken = tmp_path / "Pulumi.dev.yaml"
    broken.write_text("config:\n  mlops:serving: [unclosed\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"Pulumi.dev.yaml line \d+ is not valid YAML"):
        read_stack_file(broken)


def test_missing_stack_file_points_to_the_fix() -> None:
    with pytest.raises(ConfigError, match="--config-file"):
        read_stack_file(stack_file("nosuchstack"))


def test_a_stack_file_with_the_single_alarm_email_is_told_to_use_the_list(tmp_path: Path) -> None:
    custom = tmp_path / "Pulumi.prod.yaml"
    custom.write_text(
        "config:\n  mlops:environment: prod\n  mlops:protect: true\n"
        "  mlops:monitoring:\n    alarmEmail: oncall@example.com\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match=r"monitoring.alarmEmail = .*renamed to alarmEmails"):
        synthesize("prod", config_file=custom)
