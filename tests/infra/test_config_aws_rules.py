"""Config AWS or Kubernetes would refuse at deploy time is refused at synth, in one line.

Each rule is AWS's documented one (cited next to the validator); where botocore's
service model carries the same rule (lengths, patterns), the tests check that the
validator and the model agree.
"""

from __future__ import annotations

import re
from pathlib import Path

import botocore.session
import pytest

from infra.config import ConfigError, load_stack

ARN = "arn:aws:sagemaker:us-east-1:123456789012:model-package/mlops-prod-fraud-models/3"
OTHER_ACCOUNT = ARN.replace("123456789012", "999956789012")


def refusal(stack: str, *assignments: str, path: Path | None = None) -> str:
    with pytest.raises(ConfigError) as raised:
        load_stack(stack, path, assignments)
    message = str(raised.value)
    assert "\n" not in message
    return message


# (assignments, key the line names, words of the fix or the rule)
REFUSED = [
    (["pipeline.schedule=rate(0 minutes)"], "pipeline.schedule", "positive"),
    (["pipeline.schedule=rate(1 hours)"], "pipeline.schedule", "'hour'"),
    (["pipeline.schedule=rate(5 hour)"], "pipeline.schedule", "'hours'"),
    (["pipeline.schedule=cron(nonsense)"], "pipeline.schedule", "6 fields"),
    (["pipeline.schedule=cron(0 * * * * *)"], "pipeline.schedule", "? in exactly one"),
    (["pipeline.schedule=cron(61 * * * ? *)"], "pipeline.schedule", "minutes '61'"),
    (["monitoring.driftSchedule=at(2030-02-30T00:00:00)"], "monitoring.driftSchedule", "date"),
    (["pipeline.scheduleTimezone=Mars/Olympus"], "pipeline.scheduleTimezone", "IANA"),
    (["pipeline.cacheExpiry=P1D1D"], "pipeline.cacheExpiry", "ISO 8601"),
    (["pipeline.cacheExpiry=PT30S"], "pipeline.cacheExpiry", "ISO 8601"),
    (['tags={"aws:owner": "fraud"}'], "tags", "reserved prefix 'aws:'"),
    (['tags={"AWS:Owner": "fraud"}'], "tags", "reserved prefix 'aws:'"),
    ([f'tags={{"team": "{"v" * 257}"}}'], "tags.team", "at most 256"),
    ([f'tags={{"{"k" * 129}": "v"}}'], "tags", "1-128"),
    (['tags={"team": "fraud;drop"}'], "tags.team", "';' is not allowed"),
    (
        ["serving.modelPackageArn=" + ARN.replace("us-east-1", "eu-west-1")],
        "serving.modelPackageArn",
        "own region",
    ),
    (
        ["serving.modelPackageArn=" + ARN.rsplit("/", 1)[0]],
        "serving.modelPackageArn",
        "add the version",
    ),
    (
        [f"serving.modelPackageArn={ARN}", f"serving.shadowModelPackageArn={OTHER_ACCOUNT}"],
        "serving.shadowModelPackageArn",
        "own registry",
    ),
    (["serving.shadowModelPackageArn=" + ARN], "serving.shadowModelPackageArn", "modelPackageArn"),
    (["featureStore.featureGroupName=" + "a" * 41, "namePrefix=abcdefghijklmno"],
     "featureStore.featureGroupName", "allows 64"),
    (["kubernetes.ingressHost=Not A Host!"], "kubernetes.ingressHost", "DNS name"),
    (["kubernetes.ingressHost=10.0.0.1"], "kubernetes.ingressHost", "IP address"),
    (["kubernetes.ingressHost=*"], "kubernetes.ingressHost", "DNS name"),
    (["serving.rollout.waitSeconds=true"], "serving.rollout.waitSeconds", "not numbers"),
    (["serving.instanceCount=2.5"], "serving.instanceCount", "valid integer"),
    (["budget.monthlyLimitUsd=true"], "budget.monthlyLimitUsd", "expected a number"),
    (["environment=dev"], "environment", "name decides its guards"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("assignments", "key", "words"), REFUSED, ids=[f"{c[1]}:{c[0][-1][:40]}" for c in REFUSED]
)
def test_what_aws_would_refuse_is_one_line_naming_key_value_and_rule(
    assignments: list[str], key: str, words: str
) -> None:
    message = refusal("prod", *assignments)
    assert message.startswith(f"invalid config mlops:{key} = "), message
    assert words in message, message


@pytest.mark.parametrize(
    "expression",
    [
        "rate(1 minute)",
        "rate(5 minutes)",
        "rate(1 day)",
        "cron(0 10 * * ? *)",
        "cron(15 12 * * ? *)",
        "cron(0 18 ? * MON-FRI *)",
        "cron(0 8 1 * ? *)",
        "cron(0/15 * * * ? *)",
        "cron(0/5 8-17 ? * MON-FRI *)",
        "cron(0 9 ? * 2#1 *)",
        "cron(0 0 L * ? 2030)",
        "cron(0 0 15W JAN,JUL ? *)",
        "at(2030-01-01T00:00:00)",
    ],
)
def test_documented_schedule_expressions_are_accepted(expression: str) -> None:
    # The examples of AWS's cron and rate pages, and a one-time schedule.
    from infra.config.schedules import schedule_problem

    assert schedule_problem(expression) is None
    assert load_stack("prod", overrides=[f"pipeline.schedule={expression}"])


def test_valid_values_of_the_same_rules_are_accepted() -> None:
    config = load_stack(
        "prod",
        overrides=[
            "pipeline.scheduleTimezone=Europe/Berlin",
            "pipeline.cacheExpiry=P1W",
            'tags={"cost-center": "Zürich 42", "owner": "fraud@example.com"}',
            "kubernetes.ingressHost=*.fraud.example.com",
            "serving.modelPackageArn=" + ARN,
            "serving.shadowModelPackageArn=" + ARN.replace("/3", "/4"),
        ],
    )
    assert config.pipeline.schedule_timezone == "Europe/Berlin"
    assert config.tags["cost-center"] == "Zürich 42"


def test_a_region_botocore_does_not_know_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "Pulumi.prod.yaml"
    path.write_text("config:\n  aws:region: us-east-9\n", encoding="utf-8")
    message = refusal("prod", path=path)
    assert message.startswith("invalid config aws:region = 'us-east-9': not an AWS region")
    assert refusal("prod", "region=us-east-9").startswith("invalid config mlops:region = ")


def test_every_region_of_botocores_partitions_is_a_region_and_no_other() -> None:
    from infra.config.aws_values import region_partitions

    loader = botocore.session.get_session().get_component("data_loader")
    partitions = loader.load_data("endpoints")["partitions"]
    known = {region for partition in partitions for region in partition["regions"]}
    assert set(region_partitions()) == known
    assert {"us-east-1", "eu-west-1", "cn-north-1", "us-gov-west-1"} <= known
    assert "us-east-9" not in known


def test_a_package_of_another_partition_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "Pulumi.prod.yaml"
    path.write_text("config:\n  aws:region: cn-north-1\n", encoding="utf-8")
    arn = ARN.replace("us-east-1", "cn-north-1")  # arn:aws:... in a region of aws-cn
    message = refusal("prod", f"serving.modelPackageArn={arn}", path=path)
    assert "partition aws; cn-north-1 is in aws-cn" in message


def test_a_package_of_an_account_the_provider_may_not_use_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "Pulumi.prod.yaml"
    path.write_text(
        "config:\n  aws:region: us-east-1\n  aws:allowedAccountIds: ['210987654321']\n",
        encoding="utf-8",
    )
    message = refusal("prod", f"serving.modelPackageArn={ARN}", path=path)
    assert message.startswith("invalid config mlops:serving.modelPackageArn = ")
    assert "account 123456789012, not one of the stack's aws:allowedAccountIds" in message
    own = ARN.replace("123456789012", "210987654321")
    assert load_stack("prod", path, [f"serving.modelPackageArn={own}"])


def test_the_stack_name_decides_the_environment_in_the_file_too(tmp_path: Path) -> None:
    path = tmp_path / "Pulumi.prod.yaml"
    path.write_text("config:\n  mlops:environment: dev\n", encoding="utf-8")
    message = refusal("prod", path=path)
    assert message.startswith("invalid config mlops:environment = 'dev': stack 'prod'")


def test_the_tag_and_feature_group_rules_are_the_service_models() -> None:
    from infra.config.aws_values import (
        FEATURE_GROUP_NAME,
        FEATURE_GROUP_NAME_LENGTH,
        TAG_KEY_LENGTH,
        TAG_VALUE_LENGTH,
    )

    model = botocore.session.get_session().get_service_model("sagemaker")
    tag_key, tag_value = model.shape_for("TagKey"), model.shape_for("TagValue")
    assert (tag_key.metadata["max"], tag_value.metadata["max"]) == (
        TAG_KEY_LENGTH,
        TAG_VALUE_LENGTH,
    )
    assert tag_key.metadata["pattern"] == r"([\p{L}\p{Z}\p{N}_.:/=+\-@]*)"
    name = model.shape_for("FeatureGroupName").metadata
    assert name["max"] == FEATURE_GROUP_NAME_LENGTH
    assert FEATURE_GROUP_NAME.pattern == f"^{name['pattern']}$"
    for sample in ("mlops-prod-transactions-v1", "a_b", "-bad", "bad-", "x" * 64):
        ours = bool(FEATURE_GROUP_NAME.match(sample)) and len(sample) <= 64
        theirs = bool(re.fullmatch(name["pattern"], sample))
        assert ours == theirs, sample
