"""The project's own policies, each with a passing and a failing input."""

from __future__ import annotations

import copy
import dataclasses
import json
from typing import Any

import pytest

from infra.plan import policies
from infra.plan.engine import Plan

KEY_ARN = "arn:aws:kms:us-east-1:123456789012:key/key-mlops-prod-key"
ACCOUNT = "123456789012"


def editable(plan: Plan) -> Plan:
    """A copy of a cached plan that a test may change."""
    return dataclasses.replace(plan, resources=copy.deepcopy(plan.resources))


def add(
    plan: Plan, type_token: str, name: str, inputs: dict[str, Any], **extra: Any
) -> dict[str, Any]:
    resource = {
        "urn": f"urn:pulumi:{plan.stack}::mlops::{type_token}::{name}",
        "type": type_token,
        "name": name,
        "custom": True,
        "inputs": inputs,
        "outputs": {"id": name},
        "parent": None,
        "dependencies": [],
        "protect": False,
        **extra,
    }
    plan.resources.append(resource)
    return resource


def outcome(results: list, name: str) -> list[tuple[str, str]]:
    return [(r.status, r.detail) for r in results if r.resource.endswith(f".{name}")]


def document(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def statement(**fields: Any) -> dict[str, Any]:
    return {"Sid": "Test", "Effect": "Allow", "Resource": "*", **fields}


# TLS-only buckets


def test_every_foundation_bucket_is_tls_only(plan_for) -> None:
    results = policies.tls_only_buckets(plan_for("prod"))
    assert {r.status for r in results} == {"passed"} and len(results) >= 4


def test_a_bucket_policy_without_the_secure_transport_deny_fails(plan_for) -> None:
    plan = editable(plan_for("prod"))
    bucket_policy = plan.one("aws:s3/bucketPolicy:BucketPolicy", "mlops-prod-data-policy")
    parsed = json.loads(bucket_policy["inputs"]["policy"])
    parsed["Statement"] = [s for s in parsed["Statement"] if s["Sid"] != "DenyInsecureTransport"]
    bucket_policy["inputs"]["policy"] = json.dumps(parsed)
    results = policies.tls_only_buckets(plan)
    assert outcome(results, "mlops-prod-data")[0][0] == "failed"
    assert outcome(results, "mlops-prod-artifacts") == [("passed", "")]


# No wildcard actions


@pytest.mark.parametrize("action", ["*", "s3:*", ["s3:GetObject", "sagemaker:*"]])
def test_a_wildcard_action_in_an_allow_fails(plan_for, action) -> None:
    plan = editable(plan_for("dev"))
    add(
        plan,
        "aws:iam/rolePolicy:RolePolicy",
        "too-broad",
        {"policy": document(statement(Action=action))},
    )
    assert outcome(policies.no_wildcard_actions(plan), "too-broad")[0][0] == "failed"


def test_not_action_in_an_allow_fails_and_a_deny_may_use_service_wildcards(plan_for) -> None:
    plan = editable(plan_for("dev"))
    add(
        plan,
        "aws:iam/policy:Policy",
        "not-action",
        {"policy": document(statement(NotAction="iam:*"))},
    )
    add(
        plan,
        "aws:iam/policy:Policy",
        "deny-all",
        {"policy": document(statement(Effect="Deny", Action="s3:*"))},
    )
    results = policies.no_wildcard_actions(plan)
    assert outcome(results, "not-action")[0][0] == "failed"
    assert outcome(results, "deny-all") == [("passed", "")]


def test_attaching_a_full_access_managed_policy_fails(plan_for) -> None:
    plan = editable(plan_for("dev"))
    add(
        plan,
        "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
        "full",
        {
            "role": "mlops-dev-execution",
            "policyArn": "arn:aws:iam::aws:policy/AmazonSageMakerFullAccess",
        },
    )
    assert outcome(policies.no_wildcard_actions(plan), "full")[0][0] == "failed"


def test_every_foundation_policy_document_names_its_actions(plan_for) -> None:
    plan = plan_for("prod")
    results = [r for r in policies.no_wildcard_actions(plan) if "mlops-prod-" in r.resource]
    checked = {r.resource.split(".")[0] for r in results}
    assert {
        "aws_kms_key",
        "aws_iam_role",
        "aws_iam_role_policy",
        "aws_s3_bucket_policy",
        "aws_sns_topic_policy",
    } <= checked
    assert all(r.status == "passed" for r in results)


# Stack key encryption


def test_foundation_data_is_encrypted_with_the_stack_key_except_access_logs(plan_for) -> None:
    results = policies.stack_key_encryption(plan_for("prod"))
    assert outcome(results, "mlops-prod-data") == [("passed", "")]
    assert outcome(results, "mlops-prod-events") == [("passed", "")]
    assert outcome(results, "mlops-prod-access-logs")[0][0] == "failed"


@pytest.mark.parametrize(
    "key", [None, "alias/aws/sns", "arn:aws:kms:us-east-1:999999999999:key/other"]
)
def test_a_topic_without_the_stack_key_fails(plan_for, key) -> None:
    plan = editable(plan_for("prod"))
    add(plan, "aws:sns/topic:Topic", "plain", {} if key is None else {"kmsMasterKeyId": key})
    assert outcome(policies.stack_key_encryption(plan), "plain")[0][0] == "failed"


def test_the_stack_key_alias_counts_as_the_stack_key(plan_for) -> None:
    plan = editable(plan_for("prod"))
    alias = plan.one("aws:kms/alias:Alias")["outputs"]["name"]
    add(plan, "aws:cloudwatch/logGroup:LogGroup", "logs", {"kmsKeyId": alias})
    assert outcome(policies.stack_key_encryption(plan), "logs") == [("passed", "")]


def test_an_online_store_is_checked_only_when_enabled(plan_for) -> None:
    plan = editable(plan_for("prod"))
    offline = {"s3StorageConfig": {"kmsKeyId": KEY_ARN, "s3Uri": "s3://b/"}}
    add(
        plan,
        "aws:sagemaker/featureGroup:FeatureGroup",
        "fg-offline",
        {
            "offlineStoreConfig": offline,
            "onlineStoreConfig": {"enableOnlineStore": False},
        },
    )
    add(
        plan,
        "aws:sagemaker/featureGroup:FeatureGroup",
        "fg-online",
        {
            "offlineStoreConfig": offline,
            "onlineStoreConfig": {"enableOnlineStore": True},
        },
    )
    results = policies.stack_key_encryption(plan)
    assert outcome(results, "fg-offline") == [("passed", "")]
    assert "onlineStoreConfig" in outcome(results, "fg-online")[0][1]


def test_endpoint_configs_need_the_key_for_volumes_and_captured_data(plan_for) -> None:
    plan = editable(plan_for("prod"))
    variant = {"variantName": "primary", "instanceType": "ml.m5.large", "initialInstanceCount": 1}
    capture = {"kmsKeyId": KEY_ARN, "destinationS3Uri": "s3://b/capture"}
    add(
        plan,
        "aws:sagemaker/endpointConfiguration:EndpointConfiguration",
        "no-volume-key",
        {
            "productionVariants": [variant],
            "dataCaptureConfig": capture,
        },
    )
    add(
        plan,
        "aws:sagemaker/endpointConfiguration:EndpointConfiguration",
        "open-capture",
        {
            "productionVariants": [variant],
            "kmsKeyArn": KEY_ARN,
            "dataCaptureConfig": {"destinationS3Uri": "s3://b"},
        },
    )
    add(
        plan,
        "aws:sagemaker/endpointConfiguration:EndpointConfiguration",
        "serverless",
        {
            "productionVariants": [
                {"variantName": "primary", "serverlessConfig": {"memorySizeInMb": 2048}}
            ],
            "dataCaptureConfig": capture,
        },
    )
    results = policies.stack_key_encryption(plan)
    assert "kmsKeyArn" in outcome(results, "no-volume-key")[0][1]
    assert "dataCaptureConfig" in outcome(results, "open-capture")[0][1]
    assert outcome(results, "serverless") == [("passed", "")]


def pipeline(output: dict, volume: dict) -> dict[str, str]:
    step = {
        "Name": "Train",
        "Arguments": {
            "OutputDataConfig": {"S3OutputPath": "s3://b/models", **output},
            "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, **volume},
        },
    }
    return {"pipelineDefinition": json.dumps({"Steps": [step]})}


def test_pipeline_job_outputs_and_volumes_need_the_stack_key(plan_for) -> None:
    plan = editable(plan_for("prod"))
    add(
        plan,
        "aws:sagemaker/pipeline:Pipeline",
        "good",
        pipeline({"KmsKeyId": KEY_ARN}, {"VolumeKmsKeyId": KEY_ARN}),
    )
    add(
        plan,
        "aws:sagemaker/pipeline:Pipeline",
        "open-output",
        pipeline({}, {"VolumeKmsKeyId": KEY_ARN}),
    )
    add(plan, "aws:sagemaker/pipeline:Pipeline", "open-volume", pipeline({"KmsKeyId": KEY_ARN}, {}))
    results = policies.stack_key_encryption(plan)
    assert outcome(results, "good") == [("passed", "")]
    assert "OutputDataConfig.KmsKeyId" in outcome(results, "open-output")[0][1]
    assert "ResourceConfig.VolumeKmsKeyId" in outcome(results, "open-volume")[0][1]
    assert outcome(results, "mlops-prod-training") == [("passed", "")]


# Tags


@pytest.mark.parametrize(
    ("type_token", "expected"),
    [
        ("aws:s3/bucket:Bucket", True),
        ("aws:sagemaker/endpoint:Endpoint", True),
        ("aws:s3/bucketPolicy:BucketPolicy", False),
        ("aws:iam/rolePolicy:RolePolicy", False),
        ("kubernetes:apps/v1:Deployment", False),
    ],
)
def test_taggable_means_the_resource_class_accepts_tags(type_token: str, expected: bool) -> None:
    assert policies.taggable(type_token) is expected


def test_missing_or_wrong_tags_fail(plan_for) -> None:
    plan = editable(plan_for("staging"))
    add(plan, "aws:sqs/queue:Queue", "untagged", {"tags": {"project": "mlops"}})
    add(
        plan,
        "aws:sqs/queue:Queue",
        "mistagged",
        {
            "tags": {"project": "mlops", "environment": "prod", "component": "x"},
        },
    )
    results = policies.required_tags(plan)
    assert outcome(results, "untagged") == [("failed", "missing environment, component")]
    assert outcome(results, "mistagged") == [("failed", "environment='prod'")]
    assert outcome(results, "mlops-staging-data") == [("passed", "")]


# Protection in prod


def test_prod_data_holders_are_protected_and_an_unprotected_bucket_fails(plan_for) -> None:
    plan = editable(plan_for("prod"))
    assert outcome(policies.protected_in_prod(plan), "mlops-prod-key") == [("passed", "")]
    plan.one("aws:s3/bucket:Bucket", "mlops-prod-data")["protect"] = False
    assert outcome(policies.protected_in_prod(plan), "mlops-prod-data") == [
        ("failed", "protect is off")
    ]


def test_protection_is_not_required_outside_prod(plan_for) -> None:
    assert policies.protected_in_prod(plan_for("dev")) == []


# Confused deputy


def trust(**fields: Any) -> dict[str, str]:
    return {"assumeRolePolicy": document(statement(Action="sts:AssumeRole", **fields))}


def test_trust_policies_need_confused_deputy_conditions(plan_for) -> None:
    plan = editable(plan_for("dev"))
    service = {"Service": "events.amazonaws.com"}
    add(plan, "aws:iam/role:Role", "open-service", trust(Principal=service))
    add(
        plan,
        "aws:iam/role:Role",
        "scoped-service",
        trust(Principal=service, Condition={"StringEquals": {"aws:SourceAccount": ACCOUNT}}),
    )
    add(
        plan,
        "aws:iam/role:Role",
        "any-oidc-subject",
        trust(
            Principal={"Federated": "arn:aws:iam::123456789012:oidc-provider/oidc.eks"},
            Condition={"StringEquals": {"oidc.eks:aud": "sts.amazonaws.com"}},
        ),
    )
    add(plan, "aws:iam/role:Role", "everyone", trust(Principal="*"))
    results = policies.confused_deputy(plan)
    assert outcome(results, "open-service")[0][0] == "failed"
    assert outcome(results, "scoped-service") == [("passed", "")]
    assert "subject" in outcome(results, "any-oidc-subject")[0][1]
    assert "every principal" in outcome(results, "everyone")[0][1]
    assert outcome(results, "mlops-dev-execution") == [("passed", "")]
