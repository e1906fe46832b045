"""Model registry: one named group per stack, state changes to the topic, approvals a CD hook."""

from __future__ import annotations

import json

from tests.infra.conftest import policy

GROUP = "aws:sagemaker/modelPackageGroup:ModelPackageGroup"
RULE = "aws:cloudwatch/eventRule:EventRule"
TARGET = "aws:cloudwatch/eventTarget:EventTarget"


def test_each_stack_has_one_deterministically_named_group(plan_for) -> None:
    for stack in ("dev", "staging", "prod"):
        group = plan_for(stack).one(GROUP)
        assert group["inputs"]["modelPackageGroupName"] == f"mlops-{stack}-fraud-models"
    assert plan_for("prod").one(GROUP)["protect"] is True
    assert plan_for("dev").one(GROUP)["protect"] is False


def test_state_changes_of_this_group_go_to_the_stack_topic(plan_for) -> None:
    plan = plan_for("staging")
    rule = plan.one(RULE, "mlops-staging-model-package-state")
    assert json.loads(rule["inputs"]["eventPattern"]) == {
        "source": ["aws.sagemaker"],
        "detail-type": ["SageMaker Model Package State Change"],
        "detail": {"ModelPackageGroupName": ["mlops-staging-fraud-models"]},
    }
    target = plan.one(TARGET, "mlops-staging-model-package-state-topic")
    assert target["inputs"]["rule"] == "mlops-staging-model-package-state"
    assert target["inputs"]["arn"] == plan.one("aws:sns/topic:Topic")["outputs"]["arn"]


def test_approvals_of_this_group_match_the_cd_hook_which_has_no_target_by_default(
    plan_for,
) -> None:
    plan = plan_for("prod")
    rule = plan.one(RULE, "mlops-prod-model-package-approved")
    pattern = json.loads(rule["inputs"]["eventPattern"])
    assert pattern["detail"] == {
        "ModelPackageGroupName": ["mlops-prod-fraud-models"],
        "ModelApprovalStatus": ["Approved"],
    }
    # Without delivery.github the hook has no target (the state rule still tells the topic),
    # and no queue collects approvals that nothing reads.
    assert [t for t in plan.of_type(TARGET) if t["inputs"]["rule"] == rule["name"]] == []
    assert not [q for q in plan.of_type("aws:sqs/queue:Queue") if "approvals" in q["name"]]
    assert "modelApprovalQueueUrl" not in plan.outputs


def test_pipeline_role_may_register_into_this_group_only(plan_for) -> None:
    plan = plan_for("prod")
    document = policy(
        plan.one("aws:iam/rolePolicy:RolePolicy", "mlops-prod-pipeline-register-models")
    )
    register = document["Statement"][0]
    assert "sagemaker:CreateModelPackage" in register["Action"]
    group_arn = plan.one(GROUP)["outputs"]["arn"]
    assert register["Resource"] == [
        group_arn,
        "arn:aws:sagemaker:us-east-1:123456789012:model-package/mlops-prod-fraud-models/*",
    ]
    resources = [
        r
        for s in document["Statement"]
        for r in (s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]])
    ]
    assert "*" not in resources


def test_execution_role_may_read_only_this_groups_packages_and_their_artifacts(plan_for) -> None:
    plan = plan_for("staging")
    document = policy(
        plan.one("aws:iam/rolePolicy:RolePolicy", "mlops-staging-execution-read-models")
    )
    read = document["Statement"][0]
    assert read["Action"] == ["sagemaker:ListModelPackages", "sagemaker:DescribeModelPackage"]
    assert read["Resource"] == [
        plan.one(GROUP)["outputs"]["arn"],
        "arn:aws:sagemaker:us-east-1:123456789012:model-package/mlops-staging-fraud-models/*",
    ]
    artifacts = policy(
        plan.one("aws:iam/rolePolicy:RolePolicy", "mlops-staging-execution-artifacts-all-ro")
    )
    objects = next(s for s in artifacts["Statement"] if s["Sid"] == "ReadObjects")
    assert "s3:GetObject" in objects["Action"]
    assert "mlops-staging-artifacts-" in json.dumps(objects["Resource"])
