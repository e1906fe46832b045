"""Offline answers for the Pulumi engine: what AWS would return, without AWS.

Each resource gets a deterministic id and the computed attributes other
resources read (``arn``, ``id``, names), so references resolve to values that
point back at the resource that made them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pulumi

ACCOUNT_ID = "123456789012"
PARTITION = "aws"
OFFLINE_UUID = "00000000-0000-4000-8000-000000000000"

# Pulumi type -> (ARN service, ARN resource path template, attribute holding the name).
ARN_SHAPES: dict[str, tuple[str, str, str]] = {
    "aws:s3/bucket:Bucket": ("s3", "{name}", "bucket"),
    "aws:iam/role:Role": ("iam", "role/{name}", "name"),
    "aws:iam/policy:Policy": ("iam", "policy/{name}", "name"),
    "aws:kms/key:Key": ("kms", "key/{id}", ""),
    "aws:kms/alias:Alias": ("kms", "{name}", "name"),
    "aws:sns/topic:Topic": ("sns", "{name}", "name"),
    "aws:sqs/queue:Queue": ("sqs", "{name}", "name"),
    "aws:cloudwatch/metricAlarm:MetricAlarm": ("cloudwatch", "alarm:{name}", "name"),
    "aws:cloudwatch/compositeAlarm:CompositeAlarm": ("cloudwatch", "alarm:{name}", "alarmName"),
    "aws:cloudwatch/eventRule:EventRule": ("events", "rule/{name}", "name"),
    # Connections and API destinations end their ARNs in an id AWS assigns.
    "aws:cloudwatch/eventConnection:EventConnection": (
        "events",
        "connection/{name}/" + OFFLINE_UUID,
        "name",
    ),
    "aws:cloudwatch/eventApiDestination:EventApiDestination": (
        "events",
        "api-destination/{name}/" + OFFLINE_UUID,
        "name",
    ),
    "aws:cloudwatch/dashboard:Dashboard": ("cloudwatch", "dashboard/{name}", "dashboardName"),
    "aws:cloudwatch/logGroup:LogGroup": ("logs", "log-group:{name}", "name"),
    "aws:scheduler/schedule:Schedule": ("scheduler", "schedule/default/{name}", "name"),
    "aws:sagemaker/model:Model": ("sagemaker", "model/{name}", "name"),
    "aws:sagemaker/endpoint:Endpoint": ("sagemaker", "endpoint/{name}", "name"),
    "aws:sagemaker/endpointConfiguration:EndpointConfiguration": (
        "sagemaker",
        "endpoint-config/{name}",
        "name",
    ),
    "aws:sagemaker/modelPackageGroup:ModelPackageGroup": (
        "sagemaker",
        "model-package-group/{name}",
        "modelPackageGroupName",
    ),
    "aws:sagemaker/featureGroup:FeatureGroup": (
        "sagemaker",
        "feature-group/{name}",
        "featureGroupName",
    ),
    "aws:sagemaker/pipeline:Pipeline": ("sagemaker", "pipeline/{name}", "pipelineName"),
    "aws:glue/catalogDatabase:CatalogDatabase": ("glue", "database/{name}", "name"),
    "aws:lambda/function:Function": ("lambda", "function:{name}", "name"),
    "aws:ecr/repository:Repository": ("ecr", "repository/{name}", "name"),
}
GLOBAL_SERVICES = {"iam", "s3"}


class OfflineMocks(pulumi.runtime.Mocks):
    """Answers resource registrations and the invokes the program uses."""

    def __init__(self, region: str) -> None:
        self.region = region

    def new_resource(
        self, args: pulumi.runtime.MockResourceArgs
    ) -> tuple[str | None, dict[str, Any]]:
        state = dict(args.inputs)
        shape = ARN_SHAPES.get(args.typ)
        name = _physical_name(args, shape)
        resource_id = name if shape is not None and shape[2] and name else f"{args.name}-id"
        if args.typ == "aws:kms/key:Key":
            resource_id = f"key-{args.name}"
            state["keyId"] = resource_id
        if shape is not None:
            service, path, name_attribute = shape
            if name_attribute:
                state.setdefault(name_attribute, name)
            state["arn"] = self._arn(service, path.format(name=name, id=resource_id))
        state.setdefault("id", resource_id)
        if args.typ == "aws:s3/bucket:Bucket":
            state["bucketDomainName"] = f"{name}.s3.amazonaws.com"
            state["bucketRegionalDomainName"] = f"{name}.s3.{self.region}.amazonaws.com"
        if args.typ == "aws:sqs/queue:Queue":
            state["url"] = f"https://sqs.{self.region}.amazonaws.com/{ACCOUNT_ID}/{name}"
        return resource_id, state

    def call(
        self, args: pulumi.runtime.MockCallArgs
    ) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        invoke, inputs = args.token, args.args
        if invoke == "aws:index/getCallerIdentity:getCallerIdentity":
            return {
                "accountId": ACCOUNT_ID,
                "arn": f"arn:aws:iam::{ACCOUNT_ID}:root",
                "id": ACCOUNT_ID,
                "userId": ACCOUNT_ID,
            }, []
        if invoke == "aws:index/getPartition:getPartition":
            return {"partition": PARTITION, "dnsSuffix": "amazonaws.com", "id": PARTITION}, []
        if invoke == "aws:index/getRegion:getRegion":
            return {"name": self.region, "region": self.region, "id": self.region}, []
        if invoke == "terraform:state:getLocalReference":
            return {"outputs": _local_terraform_outputs(inputs.get("path"))}, []
        if invoke in ("terraform:state:getS3Reference", "terraform:state:getRemoteReference"):
            return {"outputs": OFFLINE_TERRAFORM_OUTPUTS}, []
        raise NotImplementedError(
            f"the offline plan has no answer for invoke {invoke}; add one in infra/plan/mocks.py"
        )

    def _arn(self, service: str, path: str) -> str:
        region = "" if service in GLOBAL_SERVICES else self.region
        account = "" if service == "s3" else ACCOUNT_ID
        return f"arn:{PARTITION}:{service}:{region}:{account}:{path}"


# What a remote Terraform state is assumed to hold when planning offline.
OFFLINE_TERRAFORM_OUTPUTS: dict[str, Any] = {
    "vpc_id": "vpc-0a1b2c3d4e5f60718",
    "private_subnet_ids": ["subnet-0a1b2c3d4e5f60718", "subnet-0a1b2c3d4e5f60719"],
    "sagemaker_security_group_ids": ["sg-0a1b2c3d4e5f60718"],
}


def _physical_name(
    args: pulumi.runtime.MockResourceArgs, shape: tuple[str, str, str] | None
) -> str:
    if shape is not None and shape[2]:
        explicit = args.inputs.get(shape[2])
        if isinstance(explicit, str) and explicit:
            return explicit
    return args.name


def _local_terraform_outputs(path: str | None) -> dict[str, Any]:
    state_path = Path(path or "terraform.tfstate")
    if not state_path.is_file():
        return OFFLINE_TERRAFORM_OUTPUTS
    state = json.loads(state_path.read_text(encoding="utf-8"))
    return {name: output.get("value") for name, output in state.get("outputs", {}).items()}
