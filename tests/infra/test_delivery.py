"""Approvals reach GitHub: the API destination, its secret token, the transformer and the DLQ.

The rule and the transformer are run, not just read: moto's EventBridge matches the
plan's pattern against the documented approval event and applies the plan's input
transformer, and the body it produces is checked against GitHub's dispatch API.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from moto import mock_aws

from infra.config import ConfigError
from infra.config.stack_file import stack_file
from infra.plan.engine import SECRET, Plan, synthesize
from infra.plan.scan import scan_plan
from infra.plan.tfplan import to_terraform_plan
from ml.model_artifact import TARBALL
from tests.infra.conftest import policy

REPOSITORY = "example-org/fraud-platform"
TOKEN = "github_pat_11EXAMPLE0123456789abcdef"  # a plaintext value, as the engine decrypts it
CONNECTION = "aws:cloudwatch/eventConnection:EventConnection"
DESTINATION = "aws:cloudwatch/eventApiDestination:EventApiDestination"
TARGET = "aws:cloudwatch/eventTarget:EventTarget"
RULE = "aws:cloudwatch/eventRule:EventRule"
QUEUE = "aws:sqs/queue:Queue"
GROUP = "mlops-prod-fraud-models"
ECR = "257758044811.dkr.ecr.us-east-2.amazonaws.com"


def approval_event(group: str = GROUP, status: str = "Approved") -> dict[str, Any]:
    """The documented "SageMaker Model Package State Change" example, for this stack's group.

    https://docs.aws.amazon.com/sagemaker/latest/dg/automating-sagemaker-with-eventbridge.html
    (the example repeats "source", once as a list; EventBridge sends the string).
    """
    arn = f"arn:aws:sagemaker:us-east-1:123456789012:model-package/{group}/2"
    return {
        "version": "0",
        "id": "844e2571-85d4-695f-b930-0153b71dcb42",
        "detail-type": "SageMaker Model Package State Change",
        "source": "aws.sagemaker",
        "account": "123456789012",
        "time": "2021-02-24T17:00:14Z",
        "region": "us-east-1",
        "resources": [arn],
        "detail": {
            "ModelPackageGroupName": group,
            "ModelPackageVersion": 2,
            "ModelPackageArn": arn,
            "CreationTime": "2021-02-24T17:00:14Z",
            "InferenceSpecification": {
                "Containers": [
                    {
                        "Image": f"{ECR}/sagemaker-xgboost:1.0-1-cpu-py3",
                        "ModelDataUrl": f"s3://bucket/{TARBALL}",
                    }
                ],
                "SupportedContentTypes": ["text/csv"],
                "SupportedResponseMIMETypes": ["text/csv"],
            },
            "ModelPackageStatus": "Completed",
            "ModelPackageStatusDetails": {"ValidationStatuses": [], "ImageScanStatuses": []},
            "CertifyForMarketplace": False,
            "ModelApprovalStatus": status,
            "LastModifiedTime": "2021-02-24T17:00:14Z",
        },
    }


def stack_file_with_delivery(folder: Path, stack: str, token: Any) -> Path:
    document = yaml.safe_load(stack_file(stack).read_text(encoding="utf-8"))
    document["config"]["mlops:delivery"] = {"github": {"repository": REPOSITORY}}
    document["config"]["mlops:githubToken"] = token
    path = folder / f"Pulumi.{stack}.yaml"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def plan(tmp_path_factory) -> Plan:
    """prod with delivery on and the token as the engine hands it to the program: plaintext."""
    folder = tmp_path_factory.mktemp("delivery")
    return synthesize("prod", config_file=stack_file_with_delivery(folder, "prod", TOKEN))


@pytest.fixture(scope="module")
def delivered(plan) -> dict[str, list[dict[str, Any]]]:
    """What the plan's rule and target deliver, per event, through moto's EventBridge."""
    rule = plan.one(RULE, "mlops-prod-model-package-approved")
    target = plan.one(TARGET, "mlops-prod-model-package-approved-github")
    transformer = target["inputs"]["inputTransformer"]
    events = {
        "approved": approval_event(),
        "rejected": approval_event(status="Rejected"),
        "other group": approval_event(group="mlops-staging-fraud-models"),
    }
    with mock_aws():
        sqs = boto3.client("sqs", region_name="us-east-1")
        client = boto3.client("events", region_name="us-east-1")
        url = sqs.create_queue(QueueName="dispatch-bodies")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
        client.put_rule(Name="approved", EventPattern=rule["inputs"]["eventPattern"])
        client.put_targets(
            Rule="approved",
            Targets=[
                {
                    "Id": "body",
                    "Arn": queue_arn["Attributes"]["QueueArn"],
                    "InputTransformer": {
                        "InputPathsMap": transformer["inputPaths"],
                        "InputTemplate": transformer["inputTemplate"],
                    },
                }
            ],
        )
        bodies: dict[str, list[dict[str, Any]]] = {}
        for name, event in events.items():
            client.put_events(
                Entries=[
                    {
                        "Source": event["source"],
                        "DetailType": event["detail-type"],
                        "Detail": json.dumps(event["detail"]),
                        "Resources": event["resources"],
                    }
                ]
            )
            messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)
            bodies[name] = [json.loads(m["Body"]) for m in messages.get("Messages", [])]
            for message in messages.get("Messages", []):
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return bodies


def test_delivery_is_off_unless_a_repository_is_set(plan_for) -> None:
    default = plan_for("prod")
    assert not default.of_type(CONNECTION) and not default.of_type(DESTINATION)
    assert default.config.delivery.github.enabled is False


def test_a_repository_that_is_not_owner_slash_name_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"delivery\.github\.repository.*owner/name"):
        synthesize("dev", overrides=["delivery.github.repository=https://github.com/a/b"])


def test_a_repository_without_the_token_secret_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"pulumi config set --secret githubToken"):
        synthesize("dev", overrides=[f"delivery.github.repository={REPOSITORY}"])


def test_the_token_never_appears_in_the_plan_or_its_terraform_export(plan) -> None:
    connection = plan.one(CONNECTION)
    assert connection["inputs"]["authorizationType"] == "API_KEY"
    assert connection["inputs"]["authParameters"] == SECRET
    assert TOKEN not in json.dumps(plan.to_dict())
    assert TOKEN not in json.dumps(to_terraform_plan(plan))


def test_an_encrypted_token_in_the_stack_file_stays_out_of_the_typed_config(tmp_path) -> None:
    path = stack_file_with_delivery(tmp_path, "dev", {"secure": "v1:AAAAciphertext"})
    plan = synthesize("dev", config_file=path)
    assert plan.config.delivery.github.repository == REPOSITORY
    assert plan.one(CONNECTION)["inputs"]["authParameters"] == SECRET


def test_the_api_destination_posts_to_the_repositorys_dispatch_endpoint(plan) -> None:
    destination = plan.one(DESTINATION)["inputs"]
    assert destination["invocationEndpoint"] == (
        f"https://api.github.com/repos/{REPOSITORY}/dispatches"
    )
    assert destination["httpMethod"] == "POST"
    assert destination["invocationRateLimitPerSecond"] == 1
    assert destination["connectionArn"] == plan.one(CONNECTION)["outputs"]["arn"]


def test_the_connection_secret_is_encrypted_with_the_stack_key(plan) -> None:
    key = plan.one("aws:kms/key:Key")
    assert plan.one(CONNECTION)["inputs"]["kmsKeyIdentifier"] == key["outputs"]["arn"]
    # EventBridge uses a customer managed key for connections only when it carries this tag.
    assert key["inputs"]["tags"]["EventBridgeApiDestinations"] == "true"


def test_the_approval_rule_matches_the_documented_approval_of_this_group_only(delivered) -> None:
    assert len(delivered["approved"]) == 1
    assert delivered["rejected"] == []
    assert delivered["other group"] == []


def test_the_transformer_builds_a_repository_dispatch_body(delivered) -> None:
    (body,) = delivered["approved"]
    assert set(body) == {"event_type", "client_payload"}
    assert body["event_type"] == "model-approved"
    assert len(body["event_type"]) <= 100
    payload = body["client_payload"]
    assert len(payload) <= 10  # GitHub's limit of top-level payload properties
    assert payload["model_package_arn"] == approval_event()["detail"]["ModelPackageArn"]
    assert payload["model_package_group"] == GROUP
    assert payload["model_package_version"] == 2
    assert payload["stack"] == "prod"
    assert payload["event_id"]


def test_failed_dispatches_retry_for_a_day_then_land_in_the_stacks_dead_letter_queue(plan) -> None:
    target = plan.one(TARGET, "mlops-prod-model-package-approved-github")["inputs"]
    assert target["retryPolicy"] == {"maximumEventAgeInSeconds": 86400, "maximumRetryAttempts": 20}
    queue = plan.one(QUEUE, "mlops-prod-dead-letters")
    assert target["deadLetterConfig"]["arn"] == queue["outputs"]["arn"]
    assert queue["inputs"]["kmsMasterKeyId"] == plan.one("aws:kms/key:Key")["outputs"]["arn"]
    rule_arn = plan.one(RULE, "mlops-prod-model-package-approved")["outputs"]["arn"]
    (dlq_policy,) = [
        p
        for p in plan.of_type("aws:sqs/queuePolicy:QueuePolicy")
        if p["inputs"]["queueUrl"] == queue["outputs"]["url"]
    ]
    allowed_rules = [
        arn
        for statement in policy(dlq_policy)["Statement"]
        if statement["Effect"] == "Allow"
        and statement.get("Principal") == {"Service": "events.amazonaws.com"}
        for arn in _as_list(statement["Condition"]["ArnEquals"]["aws:SourceArn"])
    ]
    assert rule_arn in allowed_rules


def _as_list(value: object) -> list[object]:
    return value if isinstance(value, list) else [value]


def test_the_target_role_may_invoke_only_this_api_destination(plan) -> None:
    role = plan.one("aws:iam/role:Role", "mlops-prod-github-dispatch")
    trust = policy(role, "assumeRolePolicy")["Statement"][0]
    rule_arn = plan.one(RULE, "mlops-prod-model-package-approved")["outputs"]["arn"]
    assert trust["Principal"] == {"Service": "events.amazonaws.com"}
    assert trust["Condition"]["ArnEquals"]["aws:SourceArn"] == rule_arn
    invoke = plan.one("aws:iam/rolePolicy:RolePolicy", "mlops-prod-github-dispatch-invoke")
    document = policy(invoke)
    assert document["Statement"] == [
        {
            "Sid": "InvokeThisApiDestination",
            "Effect": "Allow",
            "Action": "events:InvokeApiDestination",
            "Resource": plan.one(DESTINATION)["outputs"]["arn"],
        }
    ]
    target = plan.one(TARGET, "mlops-prod-model-package-approved-github")["inputs"]
    assert target["roleArn"] == role["outputs"]["arn"]


@pytest.mark.slow
def test_prod_with_delivery_scans_clean(plan) -> None:
    result = scan_plan(plan)
    assert result.passed, [f"{r.check_id} {r.resource}" for r in result.failures]
