"""The model-server pod: an init container fetches the served model, then the server serves it.

Both containers run the same image by digest. The init container
(``pipelines.jobs.fetch_model``) downloads the package's ``model.tar.gz`` with
the pod's EKS Pod Identity role, checks its recorded sha256 and unpacks it
into an emptyDir at ``/opt/ml/model``, where SageMaker puts the model too; the
server (``ml.serve``, SageMaker's container contract) reads it from there,
read-only. Both run as a non-root user with a read-only root filesystem, no
privilege escalation, no capabilities and the runtime's seccomp profile.
"""

from __future__ import annotations

from typing import Any

import pulumi

from infra.components.served_model import ServedModel
from infra.config import Kubernetes

SERVER = "model-server"
FETCHER = "fetch-model"
PORT = 8080
RUN_AS = 10001
MODEL_DIR = "/opt/ml/model"
TMP_DIR = "/tmp"  # noqa: S108 - an emptyDir of the pod, not the node's /tmp
MODEL_VOLUME = "model"
TMP_VOLUME = "tmp"
MODEL_VOLUME_LIMIT = "1Gi"
TMP_VOLUME_LIMIT = "64Mi"
FETCH_COMMAND = ["python3", "-m", "pipelines.jobs.fetch_model"]
MODEL_PACKAGE_ANNOTATION = "mlops/model-package"


def security_context() -> dict[str, Any]:
    return {
        "runAsNonRoot": True,
        "runAsUser": RUN_AS,
        "runAsGroup": RUN_AS,
        "readOnlyRootFilesystem": True,
        "allowPrivilegeEscalation": False,
        "privileged": False,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def _resources(settings: Kubernetes) -> dict[str, Any]:
    resources = settings.resources
    return {
        "requests": {"cpu": resources.cpu_request, "memory": resources.memory_request},
        "limits": {"cpu": resources.cpu_limit, "memory": resources.memory_limit},
    }


def fetch_arguments(model: ServedModel) -> pulumi.Output[list[str]]:
    """``--model-data-url`` (and ``--sha256`` when the registry recorded one), ``--model-dir``."""
    return pulumi.Output.all(model.model_data_url, model.sha256).apply(
        lambda values: [
            "--model-data-url",
            values[0],
            *(["--sha256", values[1]] if values[1] else []),
            "--model-dir",
            MODEL_DIR,
        ]
    )


def fetch_container(
    settings: Kubernetes, image: pulumi.Input[str], model: ServedModel, region: str
) -> dict[str, Any]:
    """Downloads and unpacks the model into the shared volume; the server starts after it."""
    return {
        "name": FETCHER,
        "image": image,
        "imagePullPolicy": "Always",
        "command": FETCH_COMMAND,
        "args": fetch_arguments(model),
        "env": [
            {"name": "AWS_REGION", "value": region},
            {"name": "AWS_DEFAULT_REGION", "value": region},
            {"name": "AWS_STS_REGIONAL_ENDPOINTS", "value": "regional"},
        ],
        "resources": _resources(settings),
        "securityContext": security_context(),
        "volumeMounts": [
            {"name": MODEL_VOLUME, "mountPath": MODEL_DIR},
            {"name": TMP_VOLUME, "mountPath": TMP_DIR},
        ],
    }


def server_container(settings: Kubernetes, image: pulumi.Input[str]) -> dict[str, Any]:
    """The image's own entrypoint (``ml.serve``) with ``serve`` as SageMaker passes it."""
    probe = {"httpGet": {"path": "/ping", "port": "http"}, "timeoutSeconds": 2}
    return {
        "name": SERVER,
        "image": image,
        "imagePullPolicy": "Always",
        "args": [
            "serve",
            "--host",
            "0.0.0.0",  # noqa: S104 - the pod's own network namespace
            "--port",
            str(PORT),
            "--model-dir",
            MODEL_DIR,
        ],
        # No thread settings: the server runs a worker per CPU of the pod's CPU limit
        # (a cgroup quota) and gives each its share as OpenMP threads.
        "ports": [{"name": "http", "containerPort": PORT, "protocol": "TCP"}],
        "startupProbe": {**probe, "periodSeconds": 5, "failureThreshold": 24},
        "readinessProbe": {**probe, "periodSeconds": 5, "failureThreshold": 3},
        "livenessProbe": {**probe, "periodSeconds": 10, "failureThreshold": 3},
        "resources": _resources(settings),
        "securityContext": security_context(),
        "volumeMounts": [
            {"name": MODEL_VOLUME, "mountPath": MODEL_DIR, "readOnly": True},
            {"name": TMP_VOLUME, "mountPath": TMP_DIR},
        ],
    }


def pod_spec(
    settings: Kubernetes,
    image: pulumi.Input[str],
    model: ServedModel,
    service_account: pulumi.Input[str],
    region: str,
) -> dict[str, Any]:
    """The pod template's spec: the init container, the server, their two emptyDir volumes."""
    return {
        "serviceAccountName": service_account,
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": RUN_AS,
            "runAsGroup": RUN_AS,
            "fsGroup": RUN_AS,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "initContainers": [fetch_container(settings, image, model, region)],
        "containers": [server_container(settings, image)],
        "volumes": [
            {"name": TMP_VOLUME, "emptyDir": {"sizeLimit": TMP_VOLUME_LIMIT}},
            {"name": MODEL_VOLUME, "emptyDir": {"sizeLimit": MODEL_VOLUME_LIMIT}},
        ],
    }
