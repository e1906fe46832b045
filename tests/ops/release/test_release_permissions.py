"""The release role's rights: every AWS call of the approval path, allowed by the stacks' policies.

The path runs as the promotion and rollback workflows run it (``deploy --arn``,
``promote --arn``, ``rollback``) against moto, with every call recorded through
botocore's ``provide-client-params`` event. Each call is mapped to the IAM
action and resource it is authorised on (the Service Authorization Reference, as
parliament ships it, confirms the action exists and takes that resource type),
then evaluated with ``infra.plan.iam_eval`` against the ``<prefix>-<env>-release``
policies of the three stacks' plans. moto has no policy simulator, and its IAM
enforcement reads only ``StringEquals`` conditions, hence the evaluator.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from infra.config import load_stack
from infra.config.stack_file import stack_file
from infra.plan.engine import Plan, synthesize
from infra.plan.iam_documents import parse_document
from infra.plan.iam_eval import ALLOW, Request, evaluate, key_arn_of_alias
from ml.model_artifact import TARBALL
from ops.local.stack_emulation import provision_stack, push_image
from ops.release.deploy import deploy
from ops.release.promote import NotPromoted, PromotionClients, promote_package
from ops.release.rollback import rollback
from pipelines import registry
from tests.factories import register_package
from tests.iam_lint import parliament, resource_types

ACCOUNT, REGION = "123456789012", "us-east-1"
STACKS = ("dev", "staging", "prod")
VIA_S3 = {"kms:ViaService": f"s3.{REGION}.amazonaws.com"}
Call = tuple[str, str, dict[str, Any]]  # (service, operation, API parameters)


@pytest.fixture(scope="module")
def plans() -> dict[str, Plan]:
    return {stack: synthesize(stack) for stack in STACKS}


def release_policy(plan: Plan) -> dict[str, Any]:
    resource = plan.one("aws:iam/policy:Policy", f"mlops-{plan.stack}-release")
    document = parse_document(resource["inputs"]["policy"])
    assert document is not None
    return document


@pytest.fixture(scope="module")
def recorded(tmp_path_factory) -> Iterator[dict[str, Any]]:
    """The calls of: approval in dev, staging and prod (pin, promote), then a rollback in prod."""
    work = tmp_path_factory.mktemp("permissions")
    files = {s: work / f"Pulumi.{s}.yaml" for s in STACKS}
    for stack, path in files.items():
        path.write_text(stack_file(stack).read_text(encoding="utf-8"), encoding="utf-8")
    with mock_aws():
        session = boto3.session.Session(region_name=REGION)
        names = ("sagemaker", "s3", "kms", "sts", "ecr")
        clients = PromotionClients(*(session.client(name) for name in names))
        for stack in STACKS:
            provision_stack(clients, load_stack(stack))
        image = push_image(clients.ecr, "mlops-dev-image", [b"the project image"])
        artifacts = f"mlops-dev-artifacts-{ACCOUNT}-{REGION}"
        dev_key = clients.kms.describe_key(KeyId="alias/mlops-dev-data")["KeyMetadata"]["Arn"]
        for key in (f"runs/1/{TARBALL}", "runs/1/evaluation.json"):
            clients.s3.put_object(
                Bucket=artifacts, Key=key, Body=b"x", ServerSideEncryption="aws:kms",
                SSEKMSKeyId=dev_key,
            )  # fmt: skip
        older = register_package(clients.sagemaker, status="Approved")
        deploy(clients.sagemaker, "dev", files["dev"], arn=older)
        calls: list[Call] = []
        for client in clients.__dict__.values():
            client.meta.events.register("provide-client-params", _recorder(client, calls))
        arn = register_package(
            clients.sagemaker,
            status="Approved",
            model_data_url=f"s3://{artifacts}/runs/1/{TARBALL}",
            metrics_uri=f"s3://{artifacts}/runs/1/evaluation.json",
            image=image.ref.uri,
        )
        calls.clear()  # registering is the pipeline's, not the release role's
        for stack in STACKS:
            deploy(clients.sagemaker, stack, files[stack], arn=arn)
            onward = promote_package(clients, arn, files, image.fetch)
            if isinstance(onward, NotPromoted):
                break
            arn = onward.target.arn
            registry.approve(clients.sagemaker, arn, "a person")  # not the release role
            calls[:] = [c for c in calls if c[1] != "UpdateModelPackage"]
        rollback(clients.sagemaker, "dev", files["dev"])
        release_calls = list(calls)
        aliases = {
            alias["TargetKeyId"]: alias["AliasName"]
            for alias in clients.kms.list_aliases()["Aliases"]
            if "TargetKeyId" in alias
        }
        keys_of = {
            f"mlops-{stack}-artifacts-{ACCOUNT}-{REGION}": f"alias/mlops-{stack}-data"
            for stack in STACKS
        }
        yield {"calls": release_calls, "aliases": aliases, "bucket_keys": keys_of}


def _recorder(client: Any, calls: list[Call]) -> Any:
    service = client.meta.service_model.service_name

    def record(params: dict[str, Any], model: Any, **_: Any) -> None:
        calls.append((service, model.name, dict(params)))

    return record


def requests_of(call: Call, recorded: dict[str, Any], plans: dict[str, Plan]) -> list[Request]:
    """The IAM requests one API call makes (a copy reads one object and writes another)."""
    service, operation, params = call
    if service == "sts":
        return []  # GetCallerIdentity needs no permission
    if service == "sagemaker":
        return [_sagemaker(operation, params)]
    if service == "ecr":
        repository = f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/{params['repositoryName']}"
        return [Request(f"ecr:{operation}", repository)]
    if service == "kms":
        alias = params["KeyId"]
        stack = alias.split("-")[1]
        return [Request("kms:DescribeKey", key_arn_of_alias(plans[stack], alias))]
    return _s3(operation, params, recorded, plans)


def _sagemaker(operation: str, params: dict[str, Any]) -> Request:
    if operation == "CreateModelPackage":
        group = params["ModelPackageGroupName"]
        status = {"sagemaker:ModelApprovalStatus": params["ModelApprovalStatus"]}
        return Request("sagemaker:CreateModelPackage", _group_arn(group), status)
    if operation == "ListModelPackages":  # takes the model-package type: the group's packages
        group = params["ModelPackageGroupName"]
        return Request(
            "sagemaker:ListModelPackages",
            f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model-package/{group}/*",
        )
    return Request(f"sagemaker:{operation}", params["ModelPackageName"])


def _group_arn(group: str) -> str:
    return f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model-package-group/{group}"


def _s3(
    operation: str, params: dict[str, Any], recorded: dict[str, Any], plans: dict[str, Plan]
) -> list[Request]:
    bucket = params["Bucket"]
    if operation in ("HeadBucket", "ListObjectsV2"):
        return [Request("s3:ListBucket", f"arn:aws:s3:::{bucket}")]
    target = f"arn:aws:s3:::{bucket}/{params['Key']}"
    key = _plan_key(bucket, recorded, plans)
    if operation == "HeadObject":  # metadata only: no decryption
        return [Request("s3:GetObject", target)]
    if operation == "GetObject":
        return [Request("s3:GetObject", target), Request("kms:Decrypt", key, VIA_S3)]
    assert operation == "CopyObject", operation
    source = params["CopySource"]
    source_key = _plan_key(source["Bucket"], recorded, plans)
    put = {"s3:x-amz-server-side-encryption": params["ServerSideEncryption"]}
    return [
        Request("s3:GetObject", f"arn:aws:s3:::{source['Bucket']}/{source['Key']}"),
        Request("kms:Decrypt", source_key, VIA_S3),
        Request("s3:PutObject", target, put),
        Request("kms:GenerateDataKey", key, VIA_S3),
    ]


def _plan_key(bucket: str, recorded: dict[str, Any], plans: dict[str, Plan]) -> str:
    alias = recorded["bucket_keys"][bucket]
    return key_arn_of_alias(plans[alias.split("-")[1]], alias)


def all_requests(recorded: dict[str, Any], plans: dict[str, Plan]) -> list[Request]:
    return [r for call in recorded["calls"] for r in requests_of(call, recorded, plans)]


def test_the_path_calls_s3_kms_ecr_and_sagemaker(recorded) -> None:
    services = {service for service, _, _ in recorded["calls"]}
    assert services >= {"sagemaker", "s3", "kms", "ecr"}
    operations = {operation for _, operation, _ in recorded["calls"]}
    assert {"CopyObject", "DescribeKey", "CreateModelPackage", "PutImage"} <= operations


def test_every_call_is_an_action_on_the_resource_type_aws_documents(recorded, plans) -> None:
    for request in all_requests(recorded, plans):
        prefix = request.action.split(":")[0]
        resource_type = request.resource.split(":")[5].split("/")[0]
        types = resource_types(request.action)
        expected = {"sagemaker": resource_type, "ecr": "repository", "kms": "key"}.get(prefix)
        if prefix == "s3":
            expected = "object" if "/" in request.resource.split(":::")[1] else "bucket"
        assert expected in types, (request.action, types)


def test_the_stacks_release_policies_allow_every_call(recorded, plans) -> None:
    documents = [release_policy(plan) for plan in plans.values()]
    denied = [r for r in all_requests(recorded, plans) if evaluate(documents, r) != ALLOW]
    assert denied == []


def test_each_call_needs_the_policy_of_the_stack_whose_resource_it_touches(recorded, plans) -> None:
    for stack in STACKS:
        others = [release_policy(plans[s]) for s in STACKS if s != stack]
        own = [r for r in all_requests(recorded, plans) if f"mlops-{stack}-" in r.resource]
        assert own, stack
        assert all(evaluate(others, r) != ALLOW for r in own), stack


def test_the_role_the_docs_used_to_describe_could_not_promote(recorded, plans) -> None:
    sagemaker_only = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": [
                    "sagemaker:ListModelPackages",
                    "sagemaker:DescribeModelPackage",
                    "sagemaker:CreateModelPackage",
                ],
                "Resource": "*",
            }
        ],
    }
    denied = {
        r.action for r in all_requests(recorded, plans) if evaluate([sagemaker_only], r) != ALLOW
    }
    assert {"s3:PutObject", "kms:DescribeKey", "kms:GenerateDataKey", "ecr:PutImage"} <= denied


def test_the_release_role_cannot_register_a_package_as_approved(plans) -> None:
    for stack in ("staging", "prod"):
        documents = [release_policy(plans[stack])]
        group = _group_arn(f"mlops-{stack}-fraud-models")
        approved = {"sagemaker:ModelApprovalStatus": "Approved"}
        pending = {"sagemaker:ModelApprovalStatus": "PendingManualApproval"}
        assert (
            evaluate(documents, Request("sagemaker:CreateModelPackage", group, approved)) != ALLOW
        )
        assert evaluate(documents, Request("sagemaker:CreateModelPackage", group, pending)) == ALLOW
        actions = json.dumps(documents)
        assert "UpdateModelPackage" not in actions  # approving stays a person's act


def test_the_stack_exports_its_release_policy(plans) -> None:
    for stack, plan in plans.items():
        arn = plan.one("aws:iam/policy:Policy", f"mlops-{stack}-release")["outputs"]["arn"]
        assert plan.outputs["releasePolicyArn"] == arn


def test_the_release_policy_lints_clean_with_parliament(plans) -> None:
    for plan in plans.values():
        text = json.dumps(release_policy(plan))
        findings = parliament().analyze_policy_string(text).findings
        assert [f.issue for f in findings] == [], plan.stack
