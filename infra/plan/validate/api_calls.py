"""The AWS API calls ``pulumi up`` would make for a plan: operation and parameters, per resource.

The Terraform AWS provider that pulumi-aws bridges creates each resource with
one or more API calls; this module builds those calls' parameters from the
planned inputs (shape-directed, ``api_shapes.py``) so botocore's service
models can judge them. Terraform-only attributes (``forceDestroy``) have no
API member and are left out; everything else goes in, so an attribute the
API does not know is reported rather than silently dropped.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import botocore.session
from botocore.model import OperationModel

from infra.plan.metric_queries import api_metric_queries
from infra.plan.validate.api_shapes import normalized, to_params

ACCOUNT_ID = "123456789012"  # the offline plan's account (infra/plan/mocks.py)
OFFLINE_TOKEN = "00000000-0000-4000-8000-000000000000"  # noqa: S105 - an idempotency token
# Members the Terraform provider generates when the program leaves them out.
PROVIDER_GENERATED = {"AddPermission": {"StatementId": "terraform"}}


@dataclass(frozen=True)
class ApiCall:
    """One API call of one planned resource."""

    service: str
    operation: str
    params: dict[str, Any]
    resource: dict[str, Any] = field(repr=False)


@dataclass(frozen=True)
class Mapping:
    """How a resource type's inputs become one call: renames (normalized key -> member), drops."""

    service: str
    operation: str
    renames: dict[str, str] = field(default_factory=dict)
    drop: frozenset[str] = frozenset()


@cache
def operation_model(service: str, operation: str) -> OperationModel:
    session = botocore.session.get_session()
    return session.get_service_model(service).operation_model(operation)


def build(mapping: Mapping, inputs: dict[str, Any], resource: dict[str, Any]) -> ApiCall:
    """The call, with what the provider fills in itself (idempotency tokens, generated ids)."""
    shape = operation_model(mapping.service, mapping.operation).input_shape
    kept = {k: v for k, v in inputs.items() if normalized(k) not in mapping.drop}
    params = to_params(kept, shape, mapping.renames)
    for name, member in shape.members.items():
        if name not in params and member.metadata.get("idempotencyToken"):
            params[name] = OFFLINE_TOKEN
    for name, value in PROVIDER_GENERATED.get(mapping.operation, {}).items():
        params.setdefault(name, f"{value}-{resource['name']}"[:100])
    return ApiCall(mapping.service, mapping.operation, params, resource)


def _drop(*names: str) -> frozenset[str]:
    return frozenset(normalized(name) for name in names)


# Types whose inputs map onto one call's members (after renames).
SIMPLE: dict[str, Mapping] = {
    "aws:sagemaker/endpointConfiguration:EndpointConfiguration": Mapping(
        "sagemaker",
        "CreateEndpointConfig",
        {"name": "EndpointConfigName", "kmskeyarn": "KmsKeyId"},
    ),
    "aws:sagemaker/model:Model": Mapping("sagemaker", "CreateModel", {"name": "ModelName"}),
    "aws:sagemaker/featureGroup:FeatureGroup": Mapping("sagemaker", "CreateFeatureGroup"),
    "aws:sagemaker/modelPackageGroup:ModelPackageGroup": Mapping(
        "sagemaker", "CreateModelPackageGroup"
    ),
    "aws:sagemaker/pipeline:Pipeline": Mapping("sagemaker", "CreatePipeline"),
    "aws:cloudwatch/eventRule:EventRule": Mapping("events", "PutRule"),
    "aws:cloudwatch/dashboard:Dashboard": Mapping("cloudwatch", "PutDashboard"),
    # The provider's ``pipeline_parameters`` block is the API's ``PipelineParameterList``.
    "aws:scheduler/schedule:Schedule": Mapping(
        "scheduler", "CreateSchedule", {"pipelineparameters": "PipelineParameterList"}
    ),
    "aws:lambda/permission:Permission": Mapping(
        "lambda", "AddPermission", {"function": "FunctionName"}
    ),
    "aws:iam/role:Role": Mapping(
        "iam",
        "CreateRole",
        {"name": "RoleName", "assumerolepolicy": "AssumeRolePolicyDocument"},
        _drop("forceDetachPolicies"),
    ),
    "aws:iam/rolePolicy:RolePolicy": Mapping(
        "iam",
        "PutRolePolicy",
        {"role": "RoleName", "name": "PolicyName", "policy": "PolicyDocument"},
    ),
    "aws:kms/alias:Alias": Mapping("kms", "CreateAlias", {"name": "AliasName"}),
    "aws:appautoscaling/target:Target": Mapping(
        "application-autoscaling", "RegisterScalableTarget"
    ),
    "aws:appautoscaling/policy:Policy": Mapping(
        "application-autoscaling", "PutScalingPolicy", {"name": "PolicyName"}
    ),
    "aws:eks/podIdentityAssociation:PodIdentityAssociation": Mapping(
        "eks", "CreatePodIdentityAssociation"
    ),
}

Builder = Callable[[dict[str, Any], dict[str, Any]], Iterator[ApiCall]]


def _endpoint(inputs: dict[str, Any], resource: dict[str, Any]) -> Iterator[ApiCall]:
    """CreateEndpoint, and UpdateEndpoint: the call that carries a rollout's deployment config."""
    yield build(Mapping("sagemaker", "CreateEndpoint", {"name": "EndpointName"}), inputs, resource)
    keys = ("name", "endpointConfigName", "deploymentConfig")
    update: dict[str, Any] = {k: inputs[k] for k in keys if k in inputs}
    yield build(Mapping("sagemaker", "UpdateEndpoint", {"name": "EndpointName"}), update, resource)


# The provider's names of a target's parts where they differ from PutTargets'.
TARGET_RENAMES = {
    "inputpaths": "InputPathsMap",
    "httptarget": "HttpParameters",
    "sqstarget": "SqsParameters",
    "sagemakerpipelinetarget": "SageMakerPipelineParameters",
}


def _event_target(inputs: dict[str, Any], resource: dict[str, Any]) -> Iterator[ApiCall]:
    target = {k: v for k, v in inputs.items() if k not in ("rule", "targetId", "eventBusName")}
    target["Id"] = inputs.get("targetId") or resource["name"][:64]
    call = {"Rule": inputs["rule"], "Targets": [target]}
    yield build(Mapping("events", "PutTargets", TARGET_RENAMES), call, resource)


def _function(inputs: dict[str, Any], resource: dict[str, Any]) -> Iterator[ApiCall]:
    """CreateFunction with the code as a zip; PutFunctionConcurrency when it reserves any."""
    function = {
        k: v for k, v in inputs.items() if k not in ("code", "reservedConcurrentExecutions")
    }
    function["Code"] = {"ZipFile": b"PK\x05\x06" + bytes(18)}  # the asset, as an (empty) zip
    yield build(Mapping("lambda", "CreateFunction", {"name": "FunctionName"}), function, resource)
    reserved = inputs.get("reservedConcurrentExecutions")
    if reserved is not None and reserved >= 0:
        call = {"FunctionName": inputs["name"], "ReservedConcurrentExecutions": reserved}
        yield build(Mapping("lambda", "PutFunctionConcurrency"), call, resource)


# Queue inputs that are CreateQueue attributes (values are strings in the API).
QUEUE_ATTRIBUTES = {
    "kmsMasterKeyId": "KmsMasterKeyId",
    "kmsDataKeyReusePeriodSeconds": "KmsDataKeyReusePeriodSeconds",
    "messageRetentionSeconds": "MessageRetentionPeriod",
    "visibilityTimeoutSeconds": "VisibilityTimeout",
    "delaySeconds": "DelaySeconds",
    "maxMessageSize": "MaximumMessageSize",
    "receiveWaitTimeSeconds": "ReceiveMessageWaitTimeSeconds",
    "sqsManagedSseEnabled": "SqsManagedSseEnabled",
    "redrivePolicy": "RedrivePolicy",
}


def _attribute(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _queue(inputs: dict[str, Any], resource: dict[str, Any]) -> Iterator[ApiCall]:
    attributes = {
        QUEUE_ATTRIBUTES.get(k, k): _attribute(v)
        for k, v in inputs.items()
        if k not in ("name", "tags")
    }
    call = {"QueueName": inputs["name"], "Attributes": attributes, "tags": inputs.get("tags", {})}
    yield build(Mapping("sqs", "CreateQueue"), call, resource)


def _topic(inputs: dict[str, Any], resource: dict[str, Any]) -> Iterator[ApiCall]:
    attributes = {
        k[:1].upper() + k[1:]: _attribute(v) for k, v in inputs.items() if k not in ("name", "tags")
    }
    call = {"Name": inputs["name"], "Attributes": attributes, "Tags": inputs.get("tags", {})}
    yield build(Mapping("sns", "CreateTopic"), call, resource)


def _lifecycle(inputs: dict[str, Any], resource: dict[str, Any]) -> Iterator[ApiCall]:
    call = {
        "Bucket": inputs["bucket"],
        "LifecycleConfiguration": {"Rules": inputs.get("rules", [])},
    }
    yield build(Mapping("s3", "PutBucketLifecycleConfiguration"), call, resource)


def _log_group(inputs: dict[str, Any], resource: dict[str, Any]) -> Iterator[ApiCall]:
    create = {k: v for k, v in inputs.items() if k != "retentionInDays"}
    yield build(Mapping("logs", "CreateLogGroup", {"name": "logGroupName"}), create, resource)
    if "retentionInDays" in inputs:
        retention = {"logGroupName": inputs["name"], "retentionInDays": inputs["retentionInDays"]}
        yield build(Mapping("logs", "PutRetentionPolicy"), retention, resource)


def _key(inputs: dict[str, Any], resource: dict[str, Any]) -> Iterator[ApiCall]:
    create = {
        k: v
        for k, v in inputs.items()
        if k not in ("enableKeyRotation", "rotationPeriodInDays", "deletionWindowInDays")
    }
    yield build(Mapping("kms", "CreateKey", {"customermasterkeyspec": "KeySpec"}), create, resource)
    if inputs.get("enableKeyRotation"):
        rotation = {"KeyId": resource["outputs"].get("keyId", resource["name"])}
        if "rotationPeriodInDays" in inputs:
            rotation["RotationPeriodInDays"] = inputs["rotationPeriodInDays"]
        yield build(Mapping("kms", "EnableKeyRotation"), rotation, resource)


def _budget(inputs: dict[str, Any], resource: dict[str, Any]) -> Iterator[ApiCall]:
    """CreateBudget: the limit, the tag filter and each notification with its SNS subscriber."""
    budget = {
        "BudgetName": inputs["name"],
        "BudgetLimit": {"Amount": inputs["limitAmount"], "Unit": inputs["limitUnit"]},
        "TimeUnit": inputs["timeUnit"],
        "BudgetType": inputs["budgetType"],
        **({"Metrics": [inputs["metrics"]]} if isinstance(inputs.get("metrics"), str) else {}),
        **(
            {"FilterExpression": inputs["filterExpression"]} if "filterExpression" in inputs else {}
        ),
    }
    notifications = [
        {
            "Notification": {k: v for k, v in item.items() if not k.startswith("subscriber")},
            "Subscribers": [
                *(
                    {"SubscriptionType": "SNS", "Address": a}
                    for a in item.get("subscriberSnsTopicArns", [])
                ),
                *(
                    {"SubscriptionType": "EMAIL", "Address": a}
                    for a in item.get("subscriberEmailAddresses", [])
                ),
            ],
        }
        for item in inputs.get("notifications", [])
    ]
    call = {
        "AccountId": ACCOUNT_ID,
        "Budget": budget,
        "NotificationsWithSubscribers": notifications,
    }
    renames = {"ands": "And", "ors": "Or", "not": "Not"}
    yield build(Mapping("budgets", "CreateBudget", renames), call, resource)


def _repository(inputs: dict[str, Any], resource: dict[str, Any]) -> Iterator[ApiCall]:
    """CreateRepository takes one encryption configuration; the provider's list holds one."""
    create = {
        k: v for k, v in inputs.items() if k not in ("forceDelete", "encryptionConfigurations")
    }
    for encryption in inputs.get("encryptionConfigurations", [])[:1]:
        create["encryptionConfiguration"] = encryption
    yield build(Mapping("ecr", "CreateRepository", {"name": "repositoryName"}), create, resource)


def _bucket(inputs: dict[str, Any], resource: dict[str, Any]) -> Iterator[ApiCall]:
    call = {
        "Bucket": inputs["bucket"],
        "ObjectLockEnabledForBucket": bool(inputs.get("objectLockEnabled")),
    }
    yield build(Mapping("s3", "CreateBucket"), call, resource)


def _database(inputs: dict[str, Any], resource: dict[str, Any]) -> Iterator[ApiCall]:
    database = {k: v for k, v in inputs.items() if k not in ("tags", "catalogId")}
    call = {"DatabaseInput": database, "Tags": inputs.get("tags", {})}
    yield build(Mapping("glue", "CreateDatabase"), call, resource)


def _metric_alarm(inputs: dict[str, Any], resource: dict[str, Any]) -> Iterator[ApiCall]:
    """PutMetricAlarm; a metric-math alarm's queries in the API's own shape (``Metrics``)."""
    queries = inputs.pop("metricQueries", None)
    call = build(Mapping("cloudwatch", "PutMetricAlarm", {"name": "AlarmName"}), inputs, resource)
    if queries:
        call.params["Metrics"] = api_metric_queries(queries)
    yield call


CUSTOM: dict[str, Builder] = {
    "aws:cloudwatch/metricAlarm:MetricAlarm": _metric_alarm,
    "aws:s3/bucket:Bucket": _bucket,
    "aws:ecr/repository:Repository": _repository,
    "aws:glue/catalogDatabase:CatalogDatabase": _database,
    "aws:sagemaker/endpoint:Endpoint": _endpoint,
    "aws:cloudwatch/eventTarget:EventTarget": _event_target,
    "aws:lambda/function:Function": _function,
    "aws:sqs/queue:Queue": _queue,
    "aws:sns/topic:Topic": _topic,
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": _lifecycle,
    "aws:cloudwatch/logGroup:LogGroup": _log_group,
    "aws:kms/key:Key": _key,
    "aws:budgets/budget:Budget": _budget,
}


def api_calls(resources: list[dict[str, Any]]) -> list[ApiCall]:
    """Every call the plan's resources of a mapped type would make, in plan order."""
    calls: list[ApiCall] = []
    for resource in resources:
        inputs = json.loads(json.dumps(resource["inputs"]))  # a copy the builders may shape
        if resource["type"] in SIMPLE:
            calls.append(build(SIMPLE[resource["type"]], inputs, resource))
        elif resource["type"] in CUSTOM:
            calls.extend(CUSTOM[resource["type"]](inputs, resource))
    return calls


def api_types() -> set[str]:
    return set(SIMPLE) | set(CUSTOM)
