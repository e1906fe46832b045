"""Offline answers for the Pulumi engine: what AWS would return, without AWS.

Each resource gets a deterministic id and the computed attributes other
resources read (``arn``, ``id``, names), so references resolve to values that
point back at the resource that made them.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import pulumi

from infra.image_context import context_sha256, repository_url
from infra.plan.offline_registry import CLOUD_CONTROL_INVOKE, cloud_control_answer
from infra.plan.terraform_state import STAND_IN_OUTPUTS, read_local_outputs, stand_in_note

if TYPE_CHECKING:
    from infra.config import StackConfig

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
    "aws:dynamodb/table:Table": ("dynamodb", "table/{name}", "name"),
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
REMOTE_STATE_INVOKES = {
    "terraform:state:getS3Reference": "s3",
    "terraform:state:getRemoteReference": "remote",
}
DOCKER_IMAGE = "docker-build:index:Image"
# What the ECR token invoke answers offline (a real token is base64 of "AWS:<password>").
OFFLINE_ECR_USER = "AWS"
OFFLINE_ECR_PASSWORD = "offline-token"  # noqa: S105 - not a credential: the mock's answer


class OfflineMocks(pulumi.runtime.Mocks):
    """Answers resource registrations and the invokes the program uses."""

    def __init__(
        self,
        config: StackConfig,
        model_packages: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> None:
        self.config = config
        self.region = config.region
        # Descriptions of model packages the caller knows (DescribeModelPackage answers).
        self.model_packages = dict(model_packages or {})
        # What the plan answered with stand-ins because it cannot be known offline.
        self.notes: list[str] = []

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
        if args.typ == "aws:ecr/repository:Repository":
            state["registryId"] = ACCOUNT_ID
            state["repositoryUrl"] = repository_url(ACCOUNT_ID, self.region, name)
        if args.typ == DOCKER_IMAGE:
            state.update(_built_image(state))
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
        if invoke == "aws:ecr/getAuthorizationToken:getAuthorizationToken":
            token = base64.b64encode(f"{OFFLINE_ECR_USER}:{OFFLINE_ECR_PASSWORD}".encode())
            registry = inputs.get("registryId") or ACCOUNT_ID
            return {
                "authorizationToken": token.decode(),
                "expiresAt": "2030-01-01T00:00:00Z",
                "id": self.region,
                "password": OFFLINE_ECR_PASSWORD,
                "proxyEndpoint": f"https://{registry}.dkr.ecr.{self.region}.amazonaws.com",
                "registryId": registry,
                "userName": OFFLINE_ECR_USER,
            }, []
        if invoke == "terraform:state:getLocalReference":
            return {"outputs": read_local_outputs(inputs.get("path"))}, []
        if invoke in REMOTE_STATE_INVOKES:
            self.notes.append(stand_in_note(REMOTE_STATE_INVOKES[invoke], inputs))
            return {"outputs": STAND_IN_OUTPUTS}, []
        if invoke == CLOUD_CONTROL_INVOKE:
            answer, note = cloud_control_answer(
                inputs, self.model_packages, self.config, ACCOUNT_ID
            )
            if note is not None:
                self.notes.append(note)
            return answer, []
        raise NotImplementedError(
            f"the offline plan has no answer for invoke {invoke}; add one in infra/plan/mocks.py"
        )

    def _arn(self, service: str, path: str) -> str:
        region = "" if service in GLOBAL_SERVICES else self.region
        account = "" if service == "s3" else ACCOUNT_ID
        return f"arn:{PARTITION}:{service}:{region}:{account}:{path}"


def _physical_name(
    args: pulumi.runtime.MockResourceArgs, shape: tuple[str, str, str] | None
) -> str:
    if shape is not None and shape[2]:
        explicit = args.inputs.get(shape[2])
        if isinstance(explicit, str) and explicit:
            return explicit
    return args.name


def _built_image(state: dict[str, Any]) -> dict[str, Any]:
    """What a build and push returns: a digest, here the build context's hash (deterministic)."""
    digest = f"sha256:{context_sha256()}"
    tags = [tag for tag in state.get("tags") or [] if isinstance(tag, str)]
    ref = f"{tags[0]}@{digest}" if tags else ""
    return {"digest": digest, "ref": ref, "contextHash": digest.removeprefix("sha256:")}
