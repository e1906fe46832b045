"""Terraform plan export: types, attribute shapes and the references checkov's graph follows."""

from __future__ import annotations

import json

import pytest

from infra.plan.tfplan import snake_case, terraform_type, terraform_values, to_terraform_plan


@pytest.fixture
def tfplan(plan_for) -> dict:
    return to_terraform_plan(plan_for("prod"))


def planned(tfplan: dict, address: str) -> dict:
    return next(
        r for r in tfplan["planned_values"]["root_module"]["resources"] if r["address"] == address
    )


def configured(tfplan: dict, address: str) -> dict:
    return next(
        r for r in tfplan["configuration"]["root_module"]["resources"] if r["address"] == address
    )


@pytest.mark.parametrize(
    ("pulumi_type", "expected"),
    [
        ("aws:s3/bucket:Bucket", "aws_s3_bucket"),
        (
            "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
            "aws_s3_bucket_public_access_block",
        ),
        (
            "aws:sagemaker/endpointConfiguration:EndpointConfiguration",
            "aws_sagemaker_endpoint_configuration",
        ),
        ("aws:cloudwatch/metricAlarm:MetricAlarm", "aws_cloudwatch_metric_alarm"),
        ("aws:cloudwatch/eventRule:EventRule", "aws_cloudwatch_event_rule"),
        ("aws:appautoscaling/policy:Policy", "aws_appautoscaling_policy"),
        ("aws:iam/rolePolicy:RolePolicy", "aws_iam_role_policy"),
        ("aws:ec2/securityGroup:SecurityGroup", "aws_security_group"),
        ("aws:lambda/function:Function", "aws_lambda_function"),
        ("aws:s3/bucketObjectv2:BucketObjectv2", "aws_s3_object"),
    ],
)
def test_pulumi_types_map_onto_terraform_types(pulumi_type: str, expected: str) -> None:
    assert terraform_type(pulumi_type) == expected


@pytest.mark.parametrize(
    "pulumi_type",
    [
        "kubernetes:apps/v1:Deployment",
        "pulumi:pulumi:Stack",
        "pulumi:providers:aws",
    ],
)
def test_kubernetes_and_engine_types_are_not_exported(pulumi_type: str) -> None:
    assert terraform_type(pulumi_type) is None


@pytest.mark.parametrize(
    ("camel", "snake"),
    [
        ("kmsMasterKeyId", "kms_master_key_id"),
        ("s3Uri", "s3_uri"),
        ("ipv6CidrBlock", "ipv6_cidr_block"),
        ("bucket", "bucket"),
        ("already_snake", "already_snake"),
    ],
)
def test_camel_case_keys_become_snake_case(camel: str, snake: str) -> None:
    assert snake_case(camel) == snake


def test_objects_become_blocks_and_maps_keep_their_keys() -> None:
    values = terraform_values(
        "aws_sagemaker_model",
        {
            "primaryContainer": {"image": "img", "environment": {"SM_MODEL_DIR": "/opt/ml/model"}},
            "tags": {"costCentre": "ml"},
            "vpcConfig": {"subnets": ["subnet-1"]},
        },
    )
    assert values == {
        "primary_container": [{"image": "img", "environment": {"SM_MODEL_DIR": "/opt/ml/model"}}],
        "tags": {"costCentre": "ml"},
        "vpc_config": [{"subnets": ["subnet-1"]}],
    }


def test_a_lambda_environment_is_a_block_holding_a_variables_map() -> None:
    values = terraform_values(
        "aws_lambda_function", {"environment": {"variables": {"LOG_LEVEL": "INFO"}}}
    )
    assert values == {"environment": [{"variables": {"LOG_LEVEL": "INFO"}}]}


def test_renamed_attributes_get_their_terraform_names() -> None:
    assert terraform_values("aws_cloudwatch_metric_alarm", {"name": "a"}) == {"alarm_name": "a"}
    assert terraform_values("aws_sns_topic_subscription", {"topic": "arn"}) == {"topic_arn": "arn"}


def test_versioning_is_a_single_block(tfplan: dict) -> None:
    values = planned(tfplan, "aws_s3_bucket_versioning.mlops-prod-data-versioning")["values"]
    assert values["versioning_configuration"] == [{"status": "Enabled"}]


def test_encryption_rules_are_terraform_rule_blocks(tfplan: dict) -> None:
    values = planned(
        tfplan, "aws_s3_bucket_server_side_encryption_configuration.mlops-prod-data-encryption"
    )["values"]
    rule = values["rule"][0]
    assert rule["bucket_key_enabled"] is True
    assert rule["apply_server_side_encryption_by_default"][0]["sse_algorithm"] == "aws:kms"


def test_lifecycle_rules_hold_filter_and_expiration_blocks_with_whole_numbers(tfplan: dict) -> None:
    rules = planned(tfplan, "aws_s3_bucket_lifecycle_configuration.mlops-prod-data-lifecycle")[
        "values"
    ]["rule"]
    raw = next(rule for rule in rules if rule["id"] == "expire-raw")
    assert raw["filter"] == [{"prefix": "raw/"}]
    assert isinstance(raw["expiration"][0]["days"], int)
    assert rules[0]["abort_incomplete_multipart_upload"] == [{"days_after_initiation": 7}]
    assert rules[0]["noncurrent_version_transition"][0]["storage_class"] == "STANDARD_IA"


def test_policies_stay_json_strings_and_tags_stay_maps(tfplan: dict) -> None:
    role = planned(tfplan, "aws_iam_role.mlops-prod-execution")["values"]
    assert json.loads(role["assume_role_policy"])["Statement"]
    assert role["tags"] == {"component": "iam", "environment": "prod", "project": "mlops"}


@pytest.mark.parametrize(
    "child",
    [
        "aws_s3_bucket_public_access_block.mlops-prod-data-public-access",
        "aws_s3_bucket_versioning.mlops-prod-data-versioning",
        "aws_s3_bucket_server_side_encryption_configuration.mlops-prod-data-encryption",
        "aws_s3_bucket_logging.mlops-prod-data-logging",
        "aws_s3_bucket_lifecycle_configuration.mlops-prod-data-lifecycle",
        "aws_s3_bucket_policy.mlops-prod-data-policy",
    ],
)
def test_bucket_children_reference_their_bucket(tfplan: dict, child: str) -> None:
    expressions = configured(tfplan, child)["expressions"]
    assert expressions["bucket"] == {
        "references": ["aws_s3_bucket.mlops-prod-data.id", "aws_s3_bucket.mlops-prod-data"]
    }


def test_logging_references_the_access_log_bucket_and_nested_keys_their_key(tfplan: dict) -> None:
    logging = configured(tfplan, "aws_s3_bucket_logging.mlops-prod-data-logging")["expressions"]
    assert logging["target_bucket"]["references"][1] == "aws_s3_bucket.mlops-prod-access-logs"
    encryption = configured(
        tfplan, "aws_s3_bucket_server_side_encryption_configuration.mlops-prod-data-encryption"
    )["expressions"]
    default = encryption["rule"][0]["apply_server_side_encryption_by_default"][0]
    assert default["kms_master_key_id"]["references"] == [
        "aws_kms_key.mlops-prod-key.arn",
        "aws_kms_key.mlops-prod-key",
    ]
    assert default["sse_algorithm"] == {"constant_value": "aws:kms"}


def test_role_policies_reference_their_role(tfplan: dict) -> None:
    expressions = configured(tfplan, "aws_iam_role_policy.mlops-prod-pipeline-run-jobs")[
        "expressions"
    ]
    assert expressions["role"]["references"][1] == "aws_iam_role.mlops-prod-pipeline"


def test_only_custom_non_kubernetes_resources_are_exported_under_unique_addresses(
    tfplan: dict, plan_for
) -> None:
    plan = plan_for("prod")
    expected = [r for r in plan.resources if r["custom"] and terraform_type(r["type"])]
    addresses = [r["address"] for r in tfplan["planned_values"]["root_module"]["resources"]]
    assert len(addresses) == len(set(addresses)) == len(expected)
    assert all(not a.startswith(("kubernetes", "mlops")) for a in addresses)
    changes = {c["address"]: c["change"]["actions"] for c in tfplan["resource_changes"]}
    assert set(changes) == set(addresses) and all(a == ["create"] for a in changes.values())


def test_plan_header_and_provider(tfplan: dict) -> None:
    assert tfplan["format_version"] == "1.2"
    assert tfplan["configuration"]["provider_config"]["aws"]["expressions"]["region"] == {
        "constant_value": "us-east-1"
    }
    resource = tfplan["planned_values"]["root_module"]["resources"][0]
    assert resource["provider_name"] == "registry.terraform.io/hashicorp/aws"
    assert resource["mode"] == "managed" and resource["sensitive_values"] == {}


def test_assets_become_the_path_terraform_uploads() -> None:
    values = terraform_values(
        "aws_s3_object", {"source": {"asset": "FileAsset", "path": "build/code.tar.gz"}}
    )
    assert values == {"source": "build/code.tar.gz"}
