"""The stack config: one typed model of a stack's ``mlops`` namespace, its defaults and files.

``model`` holds StackConfig and its sections (``serving``, ``alerts``, ``training`` and
``delivery`` hold the larger ones, ``base`` the shared building blocks),
``defaults`` each environment's typed, safe defaults, ``stack_file`` reading
and editing a stack file (``safe_yaml`` its YAML, with limits), ``overrides``
the ``--set`` assignments, ``loading`` the one way from a stack to a
StackConfig, ``errors`` validation errors as one line, ``schema`` the
stack-file JSON schema and ``reference`` the README table (``python -m
infra.config.reference --write`` regenerates both). What AWS would refuse only
at deploy time is refused here, each rule citing AWS's page: ``schedules``
(EventBridge Scheduler), ``aws_values`` (regions, tags, ARNs, names, hosts) and
``stack_rules`` (rules across sections). Code imports the names from here.
"""

from infra.config.alerts import Budget
from infra.config.base import (
    ARN_HINT,
    AWS_REGION_PATTERN,
    ENVIRONMENTS,
    INSTANCE_HINT,
    NAMESPACE,
    REGION_HINT,
    SCHEDULE_HINT,
    SCHEDULE_PATTERN,
    ConfigError,
    ConfigValueError,
    Environment,
    Percent,
    ResourceId,
    Section,
)
from infra.config.delivery import Delivery, GitHubDispatch
from infra.config.feedback import Feedback
from infra.config.loading import (
    LoadedStack,
    load_from_runtime,
    load_stack,
    read_stack,
    require_secrets,
)
from infra.config.model import (
    FeatureStore,
    Monitoring,
    Network,
    ObjectLock,
    Quality,
    StackConfig,
    Storage,
    TerraformState,
    check_key_path,
    format_validation_error,
    parse_stack_config,
)
from infra.config.serving import (
    ARN_PATTERN,
    Autoscaling,
    DataCapture,
    Kubernetes,
    KubernetesResources,
    RollbackAlarms,
    Rollout,
    Serverless,
    Serving,
)
from infra.config.training import Gates, Pipeline

__all__ = [
    "ARN_HINT",
    "ARN_PATTERN",
    "AWS_REGION_PATTERN",
    "ENVIRONMENTS",
    "INSTANCE_HINT",
    "NAMESPACE",
    "REGION_HINT",
    "SCHEDULE_HINT",
    "SCHEDULE_PATTERN",
    "Autoscaling",
    "Budget",
    "ConfigError",
    "ConfigValueError",
    "DataCapture",
    "Delivery",
    "Environment",
    "FeatureStore",
    "Feedback",
    "Gates",
    "GitHubDispatch",
    "Kubernetes",
    "KubernetesResources",
    "LoadedStack",
    "Monitoring",
    "Network",
    "ObjectLock",
    "Percent",
    "Pipeline",
    "Quality",
    "ResourceId",
    "RollbackAlarms",
    "Rollout",
    "Section",
    "Serverless",
    "Serving",
    "StackConfig",
    "Storage",
    "TerraformState",
    "check_key_path",
    "format_validation_error",
    "load_from_runtime",
    "load_stack",
    "parse_stack_config",
    "read_stack",
    "require_secrets",
]
