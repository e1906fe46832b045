"""The project's own policies, checked on the offline plan.

checkov knows generic best practice; these encode what DESIGN promises of this
platform in particular: TLS-only buckets, no ``*`` actions, the stack's own
key on everything that holds data, the three tags, protection in prod and
confused-deputy conditions on trust policies. Each policy is a function from
the plan to results (passed and failed), so a skip can name one resource.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
from collections.abc import Callable, Iterator
from functools import cache
from typing import TYPE_CHECKING, Any

from infra.plan.checkov import CheckResult, Status
from infra.plan.iam_documents import as_list, documents_in, parse_document, statements, walk_dicts
from infra.plan.tfplan import resource_addresses

if TYPE_CHECKING:
    from infra.plan.engine import Plan

SOURCE = "policy"
REQUIRED_TAGS = ("project", "environment", "component")
BUCKET = "aws:s3/bucket:Bucket"
# Data-holding types -> paths (dotted, camelCase; ``[]`` walks a list) of their KMS key inputs.
KEY_PATHS: dict[str, tuple[str, ...]] = {
    "aws:sns/topic:Topic": ("kmsMasterKeyId",),
    "aws:sqs/queue:Queue": ("kmsMasterKeyId",),
    "aws:cloudwatch/logGroup:LogGroup": ("kmsKeyId",),
    "aws:sagemaker/featureGroup:FeatureGroup": (
        "offlineStoreConfig.s3StorageConfig.kmsKeyId",
        "onlineStoreConfig.securityConfig.kmsKeyId",
    ),
    "aws:ecr/repository:Repository": ("encryptionConfigurations[].kmsKey",),
    "aws:dynamodb/table:Table": ("serverSideEncryption.kmsKeyArn",),
    "aws:kinesis/stream:Stream": ("kmsKeyId",),
    "aws:secretsmanager/secret:Secret": ("kmsKeyId",),
}
ENDPOINT_CONFIG = "aws:sagemaker/endpointConfiguration:EndpointConfiguration"
PIPELINE = "aws:sagemaker/pipeline:Pipeline"
# Pipeline job blocks that hold data: outputs (KmsKeyId) and storage volumes (VolumeKmsKeyId).
PIPELINE_KEYS = {
    "OutputDataConfig": "KmsKeyId",
    "ProcessingOutputConfig": "KmsKeyId",
    "ResourceConfig": "VolumeKmsKeyId",
    "ClusterConfig": "VolumeKmsKeyId",
}
# Resources whose loss loses data: protected in prod.
PROTECTED_TYPES = frozenset(
    {
        BUCKET,
        "aws:kms/key:Key",
        "aws:sagemaker/featureGroup:FeatureGroup",
        "aws:sagemaker/modelPackageGroup:ModelPackageGroup",
        "aws:dynamodb/table:Table",
        "aws:ecr/repository:Repository",
    }
)
# AWS managed policies that grant whole services (``service:*``).
BROAD_MANAGED_POLICIES = ("FullAccess", "AdministratorAccess", "PowerUserAccess")
CONFUSED_DEPUTY_KEYS = ("aws:sourceaccount", "aws:sourcearn", "aws:sourceowner")


class _Policy:
    """Collects the results of one policy."""

    def __init__(self, check_id: str, name: str, plan: Plan) -> None:
        self.check_id, self.name = check_id, name
        self._addresses = resource_addresses(plan)
        self.results: list[CheckResult] = []

    def record(self, resource: dict[str, Any], failure: str | None) -> None:
        status: Status = "failed" if failure else "passed"
        address = self._addresses.get(resource["urn"], f"{resource['type']}::{resource['name']}")
        result = CheckResult(SOURCE, self.check_id, self.name, address, resource["type"], status)
        self.results.append(dataclasses.replace(result, detail=failure or ""))


def tls_only_buckets(plan: Plan) -> list[CheckResult]:
    """Every bucket's policy denies requests that do not use TLS."""
    policy = _Policy("MLOPS_TLS_ONLY_BUCKETS", "Bucket policy denies requests without TLS", plan)
    documents: dict[str, list[dict[str, Any]]] = {}
    for resource in plan.of_type("aws:s3/bucketPolicy:BucketPolicy"):
        documents.setdefault(resource["inputs"].get("bucket", ""), []).append(
            parse_document(resource["inputs"].get("policy")) or {}
        )
    for bucket in plan.of_type(BUCKET):
        outputs = bucket.get("outputs") or {}
        names = {outputs.get("id", ""), outputs.get("bucket", "")}
        inline = parse_document(bucket["inputs"].get("policy"))
        candidates = [d for n in names for d in documents.get(n, [])] + ([inline] if inline else [])
        ok = any(_denies_plain_http(doc, outputs.get("arn", "")) for doc in candidates)
        policy.record(
            bucket,
            None if ok else "no Deny on aws:SecureTransport=false for the bucket and its objects",
        )
    return policy.results


def _denies_plain_http(document: dict[str, Any], bucket_arn: str) -> bool:
    for statement in statements(document):
        condition = statement.get("Condition", {}).get("Bool", {})
        principal = statement.get("Principal")
        resources = set(as_list(statement.get("Resource")))
        if (
            statement.get("Effect") == "Deny"
            and str(condition.get("aws:SecureTransport", "")).lower() == "false"
            and principal in ("*", {"AWS": "*"})
            and {"*", "s3:*"} & set(as_list(statement.get("Action")))
            and ({bucket_arn, f"{bucket_arn}/*"} <= resources or "*" in resources)
        ):
            return True
    return False


def no_wildcard_actions(plan: Plan) -> list[CheckResult]:
    """No Allow grants ``*`` or ``service:*`` (or NotAction); managed policies included."""
    policy = _Policy(
        "MLOPS_NO_WILDCARD_ACTIONS", "No '*' or 'service:*' actions in any policy", plan
    )
    for resource in plan.resources:
        if not resource["custom"]:
            continue
        documents = list(documents_in(resource["inputs"]))
        managed = _managed_policy_arns(resource)
        if not documents and not managed:
            continue
        problems = [problem for doc in documents for problem in _wildcards(doc)]
        problems += [f"attaches {arn}" for arn in managed if arn.endswith(BROAD_MANAGED_POLICIES)]
        policy.record(resource, "; ".join(problems) or None)
    return policy.results


def _wildcards(document: dict[str, Any]) -> Iterator[str]:
    for statement in statements(document):
        if statement.get("Effect") != "Allow":
            continue
        if "NotAction" in statement:
            yield f"statement {statement.get('Sid', '?')} allows NotAction"
        for action in as_list(statement.get("Action")):
            if action == "*" or str(action).endswith(":*"):
                yield f"statement {statement.get('Sid', '?')} allows {action}"


def _managed_policy_arns(resource: dict[str, Any]) -> list[str]:
    inputs = resource["inputs"]
    arns = as_list(inputs.get("managedPolicyArns")) + as_list(inputs.get("policyArn"))
    return [arn for arn in arns if isinstance(arn, str)]


def stack_key_encryption(plan: Plan) -> list[CheckResult]:
    """Everything that holds data is encrypted with a key this stack owns."""
    policy = _Policy(
        "MLOPS_STACK_KEY_ENCRYPTION", "Data is encrypted with the stack's KMS key", plan
    )
    keys = _stack_key_identifiers(plan)
    encryption = {
        resource["inputs"].get("bucket"): resource["inputs"]
        for resource in plan.of_type(
            "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
        )
    }
    for bucket in plan.of_type(BUCKET):
        outputs = bucket.get("outputs") or {}
        config = encryption.get(outputs.get("id")) or encryption.get(outputs.get("bucket")) or {}
        defaults = [
            rule.get("applyServerSideEncryptionByDefault", {}) for rule in config.get("rules", [])
        ]
        ok = any(
            d.get("sseAlgorithm") in ("aws:kms", "aws:kms:dsse") and d.get("kmsMasterKeyId") in keys
            for d in defaults
        )
        policy.record(
            bucket, None if ok else "default encryption is not SSE-KMS with the stack key"
        )
    for type_token, paths in KEY_PATHS.items():
        for resource in plan.of_type(type_token):
            inputs = resource["inputs"]
            missing = [p for p in paths if _applies(inputs, p) and not _values_at(inputs, p, keys)]
            policy.record(
                resource,
                f"not encrypted with the stack key: {', '.join(missing)}" if missing else None,
            )
    for resource in plan.of_type(ENDPOINT_CONFIG):
        policy.record(resource, _endpoint_config_problem(resource["inputs"], keys))
    for resource in plan.of_type(PIPELINE):
        policy.record(resource, _pipeline_problem(resource["inputs"], keys))
    return policy.results


def _endpoint_config_problem(inputs: dict[str, Any], keys: set[str]) -> str | None:
    variants = inputs.get("productionVariants", []) + inputs.get("shadowProductionVariants", [])
    serverless = all("serverlessConfig" in variant for variant in variants) if variants else False
    if not serverless and inputs.get("kmsKeyArn") not in keys:
        return "kmsKeyArn (the instances' storage volumes) is not the stack key"
    capture = inputs.get("dataCaptureConfig")
    if capture is not None and capture.get("kmsKeyId") not in keys:
        return "dataCaptureConfig.kmsKeyId (captured requests) is not the stack key"
    return None


def _pipeline_problem(inputs: dict[str, Any], keys: set[str]) -> str | None:
    definition = parse_document(inputs.get("pipelineDefinition"))
    if definition is None:
        return "pipelineDefinition is not an inline JSON document the scan can read"
    unencrypted = sorted(
        {
            f"{block}.{key}"
            for node in walk_dicts(definition)
            for block, key in PIPELINE_KEYS.items()
            if isinstance(node.get(block), dict) and node[block].get(key) not in keys
        }
    )
    return f"without the stack key: {', '.join(unencrypted)}" if unencrypted else None


def required_tags(plan: Plan) -> list[CheckResult]:
    """Every taggable resource carries project, environment (this stack's) and component."""
    policy = _Policy("MLOPS_REQUIRED_TAGS", "project, environment and component tags", plan)
    expected = {"project": plan.project, "environment": plan.config.environment.value}
    for resource in plan.resources:
        if not resource["custom"] or not taggable(resource["type"]):
            continue
        tags = resource["inputs"].get("tags") or {}
        missing = [tag for tag in REQUIRED_TAGS if not tags.get(tag)]
        wrong = [f"{k}={tags[k]!r}" for k, v in expected.items() if tags.get(k) and tags[k] != v]
        problems = ([f"missing {', '.join(missing)}"] if missing else []) + wrong
        policy.record(resource, "; ".join(problems) or None)
    return policy.results


@cache
def taggable(type_token: str) -> bool:
    """Whether the pulumi_aws resource class of ``type_token`` accepts ``tags``."""
    package, _, rest = type_token.partition(":")
    if package != "aws" or not rest:
        return False
    module_path, _, class_name = rest.partition(":")
    module_name = module_path.split("/", 1)[0]
    module_name = {"lambda": "lambda_", "index": ""}.get(module_name, module_name)
    try:
        module = importlib.import_module(
            f"pulumi_aws.{module_name}" if module_name else "pulumi_aws"
        )
    except ImportError:
        return False
    args_class = getattr(module, f"{class_name}Args", None)
    if args_class is None:
        return False
    return "tags" in inspect.signature(args_class.__init__).parameters


def protected_in_prod(plan: Plan) -> list[CheckResult]:
    """In prod, resources that hold data are protected (and retained) against deletion."""
    policy = _Policy(
        "MLOPS_PROTECTED_IN_PROD", "Data-holding resources are protected in prod", plan
    )
    if not plan.config.is_prod:
        return []
    for resource in plan.resources:
        if resource["type"] in PROTECTED_TYPES:
            policy.record(resource, None if resource["protect"] else "protect is off")
    return policy.results


def confused_deputy(plan: Plan) -> list[CheckResult]:
    """Trust policies: services only on behalf of this account, federation only for a subject."""
    policy = _Policy(
        "MLOPS_CONFUSED_DEPUTY", "Trust policies carry confused-deputy conditions", plan
    )
    for role in plan.of_type("aws:iam/role:Role"):
        document = parse_document(role["inputs"].get("assumeRolePolicy")) or {}
        problems = [p for statement in statements(document) if (p := _trust_problem(statement))]
        policy.record(role, "; ".join(problems) or None)
    return policy.results


def _trust_problem(statement: dict[str, Any]) -> str | None:
    if statement.get("Effect") != "Allow":
        return None
    principal = statement.get("Principal")
    kinds = set(principal) if isinstance(principal, dict) else {"AWS"}
    keys = {
        key.lower() for operator in (statement.get("Condition") or {}).values() for key in operator
    }
    sid = statement.get("Sid", "?")
    if principal == "*" or (isinstance(principal, dict) and "*" in as_list(principal.get("AWS"))):
        return f"statement {sid} trusts every principal"
    if "Service" in kinds and not keys & set(CONFUSED_DEPUTY_KEYS):
        return f"statement {sid} trusts a service without aws:SourceAccount or aws:SourceArn"
    if "Federated" in kinds and not any(key.endswith(":sub") for key in keys):
        return f"statement {sid} trusts a federated identity without a subject condition"
    return None


POLICIES: tuple[Callable[[Plan], list[CheckResult]], ...] = (
    tls_only_buckets,
    no_wildcard_actions,
    stack_key_encryption,
    required_tags,
    protected_in_prod,
    confused_deputy,
)


def evaluate_policies(plan: Plan) -> list[CheckResult]:
    """Every project policy on ``plan``."""
    return [result for policy in POLICIES for result in policy(plan)]


def _stack_key_identifiers(plan: Plan) -> set[str]:
    """ARNs, ids and alias names/ARNs of the KMS keys this stack creates."""
    identifiers: set[str] = set()
    for key in plan.of_type("aws:kms/key:Key"):
        outputs = key.get("outputs") or {}
        identifiers |= {v for k in ("arn", "id", "keyId") if isinstance(v := outputs.get(k), str)}
    for alias in plan.of_type("aws:kms/alias:Alias"):
        if alias["inputs"].get("targetKeyId") in identifiers:
            outputs = alias.get("outputs") or {}
            identifiers |= {v for k in ("arn", "name") if isinstance(v := outputs.get(k), str)}
    return identifiers


def _applies(inputs: dict[str, Any], path: str) -> bool:
    """A nested key path applies when its block is present and not switched off (``enable*``)."""
    head = path.split(".", 1)[0].removesuffix("[]")
    if "." not in path:
        return True
    block = inputs.get(head)
    if not isinstance(block, dict):
        return block is not None
    return all(value is not False for key, value in block.items() if key.startswith("enable"))


def _values_at(inputs: dict[str, Any], path: str, allowed: set[str]) -> bool:
    """Whether every value at ``path`` (at least one) is in ``allowed``."""
    current: list[Any] = [inputs]
    for part in path.split("."):
        many = part.endswith("[]")
        key = part.removesuffix("[]")
        current = [c.get(key) for c in current if isinstance(c, dict)]
        if many:
            current = [item for c in current for item in as_list(c)]
    return bool(current) and all(value in allowed for value in current)
