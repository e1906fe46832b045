"""The offline plan as Terraform plan JSON, so checkov and other scanners read it.

pulumi-aws bridges the Terraform AWS provider, so each Pulumi type is one
Terraform type and each input one Terraform attribute. What differs is shape:
Pulumi takes one object where Terraform has a block (a list of objects), names
list blocks in the plural (``rules`` for ``rule``) and renames a few
attributes. Cross-resource references are rebuilt from recorded outputs, which
is what checkov's graph checks (bucket -> public access block, ...) follow.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from infra.plan.engine import Plan

FORMAT_VERSION = "1.2"
TERRAFORM_VERSION = "1.9.8"
REGISTRY = "registry.terraform.io/hashicorp"

# Types whose Terraform name is not "<package>_<module>_<resource>".
TYPE_OVERRIDES: dict[str, str] = {
    "aws:s3/bucketObjectv2:BucketObjectv2": "aws_s3_object",
    "aws:rds/instance:Instance": "aws_db_instance",
    "aws:cloudtrail/trail:Trail": "aws_cloudtrail",
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider": "aws_iam_openid_connect_provider",
    "aws:ec2/tag:Tag": "aws_ec2_tag",
    "aws:ec2/fleet:Fleet": "aws_ec2_fleet",
    "aws:ec2/capacityReservation:CapacityReservation": "aws_ec2_capacity_reservation",
    "aws:ec2/managedPrefixList:ManagedPrefixList": "aws_ec2_managed_prefix_list",
    "aws:lb/loadBalancer:LoadBalancer": "aws_lb",
}
# Pulumi modules whose Terraform prefix differs ("" drops the module: aws_security_group).
MODULE_PREFIXES: dict[str, str] = {"ec2": "", "index": "", "cfg": "config", "lambda": "lambda"}

# Attributes Pulumi renamed, per Terraform type (camelCase Pulumi key -> Terraform name).
ATTRIBUTE_RENAMES: dict[str, dict[str, str]] = {
    "aws_cloudwatch_metric_alarm": {"name": "alarm_name"},
    "aws_cloudwatch_composite_alarm": {"name": "alarm_name"},
    "aws_lambda_function": {"name": "function_name"},
    "aws_lambda_permission": {"function": "function_name"},
    "aws_sns_topic_subscription": {"topic": "topic_arn"},
    "aws_s3_bucket_notification": {
        "lambdaFunctions": "lambda_function",
        "topics": "topic",
        "queues": "queue",
    },
}
# List blocks Pulumi names in the plural whose Terraform block name is singular.
PLURAL_BLOCKS: dict[str, str] = {
    "rules": "rule",
    "transitions": "transition",
    "noncurrentVersionTransitions": "noncurrent_version_transition",
    "lifecycleRules": "lifecycle_rule",
    "corsRules": "cors_rule",
    "grants": "grant",
    "featureDefinitions": "feature_definition",
    "metricQueries": "metric_query",
    "containers": "container",
    "statements": "statement",
    "stepAdjustments": "step_adjustment",
    "encryptionConfigurations": "encryption_configuration",
}
# Attributes whose value is a map of user data: keys stay as written, no block wrapping.
MAP_ATTRIBUTES = frozenset(
    {
        "tags",
        "tags_all",
        "variables",
        "environment",
        "dimensions",
        "parameters",
        "labels",
        "annotations",
        "customer_metadata_properties",
        "request_parameters",
        "response_parameters",
        "request_templates",
    }
)
# Blocks that share a name with a map attribute elsewhere (a Lambda's environment block).
BLOCK_EXCEPTIONS: dict[str, frozenset[str]] = {
    "aws_lambda_function": frozenset({"environment"}),
}
# JSON documents stay strings, as Terraform holds them (jsonencode output).
JSON_ATTRIBUTES = frozenset(
    {
        "policy",
        "assume_role_policy",
        "pipeline_definition",
        "event_pattern",
        "access_policies",
        "container_definitions",
        "definition",
        "dashboard_body",
        "policy_document",
        "input",
    }
)
# Output attributes that identify a resource and that other resources take as input.
IDENTITY_ATTRIBUTES = ("id", "arn", "name", "bucket", "keyId")
# Not Terraform AWS resources: Kubernetes has its own manifests scan; the image build has
# no Terraform type (ml/Dockerfile is scanned by checkov's dockerfile framework and hadolint).
SKIPPED_PACKAGES = frozenset({"pulumi", "kubernetes", "docker-build"})

_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])([A-Z])")
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9_-]")


def snake_case(key: str) -> str:
    """``kmsMasterKeyId`` -> ``kms_master_key_id`` (already-snake keys pass through)."""
    return _CAMEL_BOUNDARY.sub(r"_\1", key).lower()


def terraform_type(pulumi_type: str) -> str | None:
    """The Terraform type of a Pulumi type token, or None when it is not exported."""
    if pulumi_type in TYPE_OVERRIDES:
        return TYPE_OVERRIDES[pulumi_type]
    package, _, rest = pulumi_type.partition(":")
    if package in SKIPPED_PACKAGES or not rest:
        return None
    module_path, _, resource = rest.partition(":")
    module = module_path.split("/", 1)[0]
    prefix = MODULE_PREFIXES.get(module, module.lower())
    parts = [package, prefix, snake_case(resource)]
    return "_".join(part for part in parts if part)


def terraform_values(tf_type: str, inputs: dict[str, Any]) -> dict[str, Any]:
    """Pulumi inputs as Terraform attribute values (snake_case keys, blocks as lists)."""
    return {_attribute(tf_type, key): _value(tf_type, key, value) for key, value in inputs.items()}


def _attribute(tf_type: str, key: str) -> str:
    renamed = ATTRIBUTE_RENAMES.get(tf_type, {}).get(key) or PLURAL_BLOCKS.get(key)
    return renamed or snake_case(key)


def _value(tf_type: str, key: str, value: Any) -> Any:
    name = _attribute(tf_type, key)
    is_map = name in MAP_ATTRIBUTES and name not in BLOCK_EXCEPTIONS.get(tf_type, frozenset())
    if name in JSON_ATTRIBUTES and isinstance(value, dict | list):
        return json.dumps(value)
    if isinstance(value, dict) and is_map:
        return {k: v if isinstance(v, dict | list) else _scalar(v) for k, v in value.items()}
    if isinstance(value, dict) and _is_asset(value):
        # A file Pulumi uploads: Terraform holds its path.
        return value.get("path") or value.get("uri") or value.get("text")
    if isinstance(value, dict):
        return [terraform_values(tf_type, value)]
    if isinstance(value, list):
        return [
            terraform_values(tf_type, item) if isinstance(item, dict) else _scalar(item)
            for item in value
        ]
    return _scalar(value)


def _is_asset(value: dict[str, Any]) -> bool:
    """The engine records assets and archives as ``{"asset": "FileAsset", "path": ...}``."""
    return str(value.get("asset", "")).endswith(("Asset", "Archive"))


def _scalar(value: Any) -> Any:
    """Whole numbers as ints: the engine hands every number over as a float."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def resource_addresses(plan: Plan) -> dict[str, str]:
    """URN -> Terraform address (``aws_s3_bucket.mlops-prod-data``) of every exported resource."""
    return {urn: address for urn, (address, _, _) in _addresses(plan).items()}


def _addresses(plan: Plan) -> dict[str, tuple[str, str, str]]:
    """URN -> (address, Terraform type, name) for every exported resource."""
    addresses: dict[str, tuple[str, str, str]] = {}
    seen: Counter[str] = Counter()
    for resource in plan.resources:
        tf_type = terraform_type(resource["type"]) if resource["custom"] else None
        if tf_type is None:
            continue
        name = _UNSAFE_NAME.sub("_", resource["name"])
        if not re.match(r"[A-Za-z_]", name):
            name = f"r_{name}"
        seen[f"{tf_type}.{name}"] += 1
        if seen[f"{tf_type}.{name}"] > 1:
            name = f"{name}_{seen[f'{tf_type}.{name}']}"
        addresses[resource["urn"]] = (f"{tf_type}.{name}", tf_type, name)
    return addresses


class _ReferenceIndex:
    """Which resource produced a value: identity outputs -> (urn, Terraform attribute)."""

    def __init__(self, plan: Plan, addresses: dict[str, tuple[str, str, str]]) -> None:
        self._by_value: dict[str, list[tuple[str, str]]] = {}
        self._addresses = addresses
        for resource in plan.resources:
            if resource["urn"] not in addresses:
                continue
            outputs = resource.get("outputs") or {}
            for attribute in IDENTITY_ATTRIBUTES:
                value = outputs.get(attribute)
                if isinstance(value, str) and value:
                    candidates = self._by_value.setdefault(value, [])
                    if all(urn != resource["urn"] for urn, _ in candidates):
                        candidates.append((resource["urn"], snake_case(attribute)))

    def lookup(self, value: Any, source: dict[str, Any]) -> list[str] | None:
        """``["<address>.<attr>", "<address>"]`` when ``value`` is another resource's output."""
        if not isinstance(value, str):
            return None
        candidates = [c for c in self._by_value.get(value, []) if c[0] != source["urn"]]
        preferred = [c for c in candidates if c[0] in set(source.get("dependencies") or [])]
        chosen = preferred or (candidates if len(candidates) == 1 else [])
        if not chosen:
            return None
        urn, attribute = chosen[0]
        address = self._addresses[urn][0]
        return [f"{address}.{attribute}", address]


def _expressions(
    values: dict[str, Any], source: dict[str, Any], index: _ReferenceIndex
) -> dict[str, Any]:
    expressions: dict[str, Any] = {}
    for name, value in values.items():
        references = _references_of(value, source, index)
        if references:
            expressions[name] = {"references": references}
        elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            expressions[name] = [_expressions(v, source, index) for v in value]
        else:
            expressions[name] = {"constant_value": value}
    return expressions


def _references_of(value: Any, source: dict[str, Any], index: _ReferenceIndex) -> list[str]:
    items = value if isinstance(value, list) else [value]
    found: list[str] = []
    for item in items:
        for reference in index.lookup(item, source) or []:
            if reference not in found:
                found.append(reference)
    return found


def to_terraform_plan(plan: Plan) -> dict[str, Any]:
    """Terraform plan JSON (format 1.2) of every exported resource, created from nothing."""
    addresses = _addresses(plan)
    index = _ReferenceIndex(plan, addresses)
    planned: list[dict[str, Any]] = []
    changes: list[dict[str, Any]] = []
    configuration: list[dict[str, Any]] = []
    for resource in plan.resources:
        if resource["urn"] not in addresses:
            continue
        address, tf_type, name = addresses[resource["urn"]]
        provider = f"{REGISTRY}/{tf_type.split('_', 1)[0]}"
        values = terraform_values(tf_type, resource["inputs"])
        common = {"address": address, "mode": "managed", "type": tf_type, "name": name}
        planned.append(
            {
                **common,
                "provider_name": provider,
                "schema_version": 0,
                "values": values,
                "sensitive_values": {},
            }
        )
        changes.append(
            {
                **common,
                "provider_name": provider,
                "change": {
                    "actions": ["create"],
                    "before": None,
                    "after": values,
                    "after_unknown": {},
                    "before_sensitive": False,
                    "after_sensitive": {},
                },
            }
        )
        configuration.append(
            {
                **common,
                "provider_config_key": tf_type.split("_", 1)[0],
                "schema_version": 0,
                "expressions": _expressions(values, resource, index),
            }
        )
    providers = sorted({entry["type"].split("_", 1)[0] for entry in planned} | {"aws"})
    return {
        "format_version": FORMAT_VERSION,
        "terraform_version": TERRAFORM_VERSION,
        "planned_values": {"root_module": {"resources": planned}},
        "resource_changes": changes,
        "configuration": {
            "provider_config": {
                provider: {
                    "name": provider,
                    "full_name": f"{REGISTRY}/{provider}",
                    **(
                        {"expressions": {"region": {"constant_value": plan.config.region}}}
                        if provider == "aws"
                        else {}
                    ),
                }
                for provider in providers
            },
            "root_module": {"resources": configuration},
        },
    }
