"""The model server on Kubernetes: the model SageMaker serves, behind ingress-nginx, with a canary.

For teams that serve from their own EKS cluster beside (or instead of)
SageMaker. Each pod serves the pinned model package (``serving.modelPackageArn``):
an init container fetches the package's artifact with the pod's EKS Pod
Identity role, which may read that object and nothing else, and the server
(the package's own image, by digest, on port 8080 with ``GET /ping`` and
``POST /invocations``) serves it (``kubernetes_pod.py``). The canary is a
second Deployment serving ``canaryModelPackageArn`` (or another image), and
an ingress-nginx canary Ingress sends it ``canaryWeight`` percent of requests.
A NetworkPolicy lets only the ingress controller in, and lets the pods reach
only DNS, the Pod Identity agent and HTTPS (for S3), never instance metadata.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

import pulumi

from infra.components.context import StackContext
from infra.components.kubernetes_identity import PodIdentity, create_pod_identity
from infra.components.kubernetes_pod import (
    MODEL_PACKAGE_ANNOTATION,
    PORT,
    SERVER,
    pod_spec,
)
from infra.components.served_model import ServedModel, describe_served_model
from infra.components.storage import StackStorage
from infra.config import Kubernetes

APP = SERVER
SERVICE_PORT = 80
INGRESS_CONTROLLER_NAMESPACE = "ingress-nginx"
CPU_TARGET_PERCENT = 70
CANARY_ANNOTATION = "nginx.ingress.kubernetes.io/canary"
CANARY_WEIGHT_ANNOTATION = "nginx.ingress.kubernetes.io/canary-weight"
# The EKS Pod Identity agent's addresses on every node (IPv4, IPv6), port 80:
# https://docs.aws.amazon.com/eks/latest/userguide/pod-id-agent-setup.html
POD_IDENTITY_AGENT = ("169.254.170.23/32", "fd00:ec2::23/128")
LINK_LOCAL = "169.254.0.0/16"  # instance metadata lives here: never reachable over HTTPS
# pulumi_kubernetes is loaded when a stack enables Kubernetes, and hidden from mypy:
# following its generated types takes mypy tens of gigabytes of memory.
KUBERNETES_SDK = "pulumi_kubernetes"
K8sResource = Any  # a pulumi_kubernetes resource, typed loosely for the reason above


@dataclass(frozen=True)
class KubernetesServingArgs:
    """The settings, the stack's storage (the artifacts), the served and canary models."""

    settings: Kubernetes
    storage: StackStorage
    model: ServedModel
    canary_model: ServedModel | None = None


class KubernetesServing(pulumi.ComponentResource):
    """Namespace, Deployments, Services, Ingresses, HPA, PodDisruptionBudget, NetworkPolicy,
    and the pods' AWS identity."""

    identity: PodIdentity

    def __init__(
        self,
        name: str,
        context: StackContext,
        args: KubernetesServingArgs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("mlops:kubernetes:KubernetesServing", name, None, opts)
        settings = args.settings
        self._k8s: Any = importlib.import_module(KUBERNETES_SDK)
        k8s = self._k8s
        self._context = context
        self._settings = settings
        self._child = pulumi.ResourceOptions(parent=self)
        self.namespace = k8s.core.v1.Namespace(
            context.name("k8s-namespace"),
            metadata={
                "name": settings.namespace,
                "labels": {
                    **self._labels(),
                    "pod-security.kubernetes.io/enforce": "restricted",
                    "pod-security.kubernetes.io/enforce-version": "latest",
                },
            },
            opts=self._child,
        )
        self.service_account = k8s.core.v1.ServiceAccount(
            context.name("k8s-service-account"),
            metadata=self._metadata(APP),
            automount_service_account_token=False,
            opts=self._child,
        )
        models = [args.model, *([args.canary_model] if args.canary_model else [])]
        self.identity = create_pod_identity(context, args.storage, models, APP, parent=self)
        stable_image: pulumi.Input[str] = settings.image or args.model.image
        self.stable = self._deployment("stable", stable_image, args.model, replicas=None)
        self.stable_service = self._service("stable")
        self.ingress = self._ingress("stable", self.stable_service, annotations={})
        self.autoscaler = self._autoscaler()
        self.disruption_budget = self._disruption_budget()
        self.network_policy = self._network_policy()
        self.canary: K8sResource | None = None
        self.canary_ingress: K8sResource | None = None
        if settings.has_canary:
            canary_model = args.canary_model or args.model
            canary_image = settings.canary_image or (
                canary_model.image if args.canary_model else stable_image
            )
            self.canary = self._deployment("canary", canary_image, canary_model, replicas=1)
            canary_service = self._service("canary")
            self.canary_ingress = self._ingress(
                "canary",
                canary_service,
                annotations={
                    CANARY_ANNOTATION: "true",
                    CANARY_WEIGHT_ANNOTATION: str(settings.canary_weight),
                },
            )
        self.register_outputs(
            {
                "namespace": self.namespace.metadata["name"],
                "modelServerRoleArn": self.identity.role.arn,
            }
        )

    def _labels(self, track: str | None = None) -> dict[str, str]:
        labels = {
            "app.kubernetes.io/name": APP,
            "app.kubernetes.io/part-of": "mlops",
            "app.kubernetes.io/managed-by": "pulumi",
            "mlops/environment": self._context.config.environment.value,
        }
        if track is not None:
            labels["mlops/track"] = track
        return labels

    def _metadata(self, name: str, track: str | None = None, **extra: Any) -> dict[str, Any]:
        return {
            "name": name,
            "namespace": self.namespace.metadata["name"],
            "labels": self._labels(track),
            **extra,
        }

    @staticmethod
    def _selector(track: str) -> dict[str, str]:
        return {"app.kubernetes.io/name": APP, "mlops/track": track}

    def _deployment(
        self, track: str, image: pulumi.Input[str], model: ServedModel, replicas: int | None
    ) -> K8sResource:
        """``replicas`` None leaves the count to the HorizontalPodAutoscaler.

        The pods wait for the Pod Identity association: without it the init container
        has no credentials and the rollout would stall.
        """
        name = APP if track == "stable" else f"{APP}-{track}"
        spec: dict[str, Any] = {
            "selector": {"matchLabels": self._selector(track)},
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1},
            },
            "template": {
                "metadata": {
                    "labels": self._labels(track),
                    "annotations": {MODEL_PACKAGE_ANNOTATION: model.package_arn},
                },
                "spec": pod_spec(
                    self._settings,
                    image,
                    model,
                    self.service_account.metadata["name"],
                    self._context.region,
                ),
            },
        }
        if replicas is not None:
            spec["replicas"] = replicas
        return self._k8s.apps.v1.Deployment(
            self._context.name("k8s", track),
            metadata=self._metadata(name, track),
            spec=spec,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.identity.association]),
        )

    def _service(self, track: str) -> K8sResource:
        name = APP if track == "stable" else f"{APP}-{track}"
        return self._k8s.core.v1.Service(
            self._context.name("k8s", track, "service"),
            metadata=self._metadata(name, track),
            spec={
                "type": "ClusterIP",
                "selector": self._selector(track),
                "ports": [
                    {"name": "http", "port": SERVICE_PORT, "targetPort": "http", "protocol": "TCP"}
                ],
            },
            opts=self._child,
        )

    def _ingress(
        self, track: str, service: K8sResource, annotations: dict[str, str]
    ) -> K8sResource:
        settings = self._settings
        name = APP if track == "stable" else f"{APP}-{track}"
        return self._k8s.networking.v1.Ingress(
            self._context.name("k8s", track, "ingress"),
            metadata=self._metadata(name, track, annotations=annotations),
            spec={
                "ingressClassName": settings.ingress_class,
                "tls": [{"hosts": [settings.ingress_host], "secretName": settings.tls_secret_name}],
                "rules": [
                    {
                        "host": settings.ingress_host,
                        "http": {
                            "paths": [
                                {
                                    "path": "/",
                                    "pathType": "Prefix",
                                    "backend": {
                                        "service": {
                                            "name": service.metadata["name"],
                                            "port": {"name": "http"},
                                        }
                                    },
                                }
                            ]
                        },
                    }
                ],
            },
            opts=self._child,
        )

    def _autoscaler(self) -> K8sResource:
        settings = self._settings
        return self._k8s.autoscaling.v2.HorizontalPodAutoscaler(
            self._context.name("k8s", "stable", "autoscaler"),
            metadata=self._metadata(APP, "stable"),
            spec={
                "scaleTargetRef": {
                    "apiVersion": "apps/v1",
                    "kind": "Deployment",
                    "name": self.stable.metadata["name"],
                },
                "minReplicas": settings.replicas,
                "maxReplicas": settings.max_replicas,
                "metrics": [
                    {
                        "type": "Resource",
                        "resource": {
                            "name": "cpu",
                            "target": {
                                "type": "Utilization",
                                "averageUtilization": CPU_TARGET_PERCENT,
                            },
                        },
                    }
                ],
                "behavior": {"scaleDown": {"stabilizationWindowSeconds": 300}},
            },
            opts=self._child,
        )

    def _disruption_budget(self) -> K8sResource:
        """At most one stable pod evicted at a time, so a drain never empties the service."""
        return self._k8s.policy.v1.PodDisruptionBudget(
            self._context.name("k8s", "stable", "disruption-budget"),
            metadata=self._metadata(APP, "stable"),
            spec={"maxUnavailable": 1, "selector": {"matchLabels": self._selector("stable")}},
            opts=self._child,
        )

    def _network_policy(self) -> K8sResource:
        """Only the ingress controller reaches the pods; the pods reach DNS, the Pod Identity
        agent and HTTPS endpoints (S3), and nothing link-local over HTTPS (instance metadata)."""
        return self._k8s.networking.v1.NetworkPolicy(
            self._context.name("k8s", "network-policy"),
            metadata=self._metadata(APP),
            spec={
                "podSelector": {"matchLabels": {"app.kubernetes.io/name": APP}},
                "policyTypes": ["Ingress", "Egress"],
                "ingress": [
                    {
                        "from": [_namespace_peer(INGRESS_CONTROLLER_NAMESPACE)],
                        "ports": [{"port": PORT, "protocol": "TCP"}],
                    }
                ],
                "egress": egress_rules(),
            },
            opts=self._child,
        )


def _namespace_peer(namespace: str) -> dict[str, Any]:
    return {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": namespace}}}


def egress_rules() -> list[dict[str, Any]]:
    """DNS to kube-dns, the Pod Identity agent on port 80, HTTPS outside link-local addresses."""
    dns = {
        **_namespace_peer("kube-system"),
        "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
    }
    return [
        {
            "to": [dns],
            "ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}],
        },
        {
            "to": [{"ipBlock": {"cidr": cidr}} for cidr in POD_IDENTITY_AGENT],
            "ports": [{"port": 80, "protocol": "TCP"}],
        },
        {
            "to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": [LINK_LOCAL]}}],
            "ports": [{"port": 443, "protocol": "TCP"}],
        },
    ]


def build_kubernetes_serving(
    context: StackContext, storage: StackStorage
) -> KubernetesServing | None:
    """The Kubernetes target when ``kubernetes.enabled`` and a model package is pinned."""
    config = context.config
    settings = config.kubernetes
    if not settings.enabled or config.serving.model_package_arn is None:
        return None
    bucket = storage.artifacts.name
    pinned = config.serving.model_package_arn
    model = describe_served_model("serving.modelPackageArn", pinned, bucket)
    canary = (
        describe_served_model(
            "kubernetes.canaryModelPackageArn", settings.canary_model_package_arn, bucket
        )
        if settings.canary_model_package_arn
        else None
    )
    return KubernetesServing(
        context.name("kubernetes"),
        context,
        KubernetesServingArgs(settings, storage, model, canary),
    )
