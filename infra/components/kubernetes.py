"""The same inference server on Kubernetes: stable and canary Deployments behind ingress-nginx.

For teams that serve from their own cluster instead of SageMaker. The image
is the project image SageMaker runs (by digest, unless ``kubernetes.image``
names another) (port 8080, ``GET /ping``, ``POST /invocations``),
started with ``serve --host 0.0.0.0``. Pods run as a non-root user with a
read-only root filesystem, no privilege escalation, no capabilities, the
runtime's seccomp profile and no service account token; a NetworkPolicy lets
only the ingress controller in and nothing out, like SageMaker's network
isolation. The canary is a second Deployment and Service that an
ingress-nginx canary Ingress sends ``canaryWeight`` percent of requests to.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

import pulumi

from infra.components.context import StackContext
from infra.components.image import ProjectImage
from infra.config import Kubernetes

APP = "model-server"
PORT = 8080
SERVICE_PORT = 80
RUN_AS = 10001
INGRESS_CONTROLLER_NAMESPACE = "ingress-nginx"
CPU_TARGET_PERCENT = 70
CANARY_ANNOTATION = "nginx.ingress.kubernetes.io/canary"
CANARY_WEIGHT_ANNOTATION = "nginx.ingress.kubernetes.io/canary-weight"
# pulumi_kubernetes is loaded when a stack enables Kubernetes, and hidden from mypy:
# following its generated types takes mypy tens of gigabytes of memory.
KUBERNETES_SDK = "pulumi_kubernetes"
K8sResource = Any  # a pulumi_kubernetes resource, typed loosely for the reason above


@dataclass(frozen=True)
class KubernetesServingArgs:
    """The Kubernetes settings, and the image served unless ``kubernetes.image`` names another."""

    settings: Kubernetes
    default_image: pulumi.Input[str]


class KubernetesServing(pulumi.ComponentResource):
    """Namespace, Deployments, Services, Ingresses, HPA, PodDisruptionBudget, NetworkPolicy."""

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
        image: pulumi.Input[str] = settings.image or args.default_image
        self.stable = self._deployment("stable", image, replicas=None)
        self.stable_service = self._service("stable")
        self.ingress = self._ingress("stable", self.stable_service, annotations={})
        self.autoscaler = self._autoscaler()
        self.disruption_budget = self._disruption_budget()
        self.network_policy = self._network_policy()
        self.canary: K8sResource | None = None
        self.canary_ingress: K8sResource | None = None
        if settings.canary_image is not None:
            self.canary = self._deployment("canary", settings.canary_image, replicas=1)
            canary_service = self._service("canary")
            self.canary_ingress = self._ingress(
                "canary",
                canary_service,
                annotations={
                    CANARY_ANNOTATION: "true",
                    CANARY_WEIGHT_ANNOTATION: str(settings.canary_weight),
                },
            )
        self.register_outputs({"namespace": self.namespace.metadata["name"]})

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

    def _container(self, image: pulumi.Input[str]) -> dict[str, Any]:
        resources = self._settings.resources
        probe = {"httpGet": {"path": "/ping", "port": "http"}, "timeoutSeconds": 2}
        return {
            "name": APP,
            "image": image,
            "imagePullPolicy": "Always",
            "args": ["serve", "--host", "0.0.0.0", "--port", str(PORT)],  # noqa: S104 - in-pod bind
            # No thread settings: the server runs a worker per CPU of the pod's CPU limit
            # (a cgroup quota) and gives each its share as OpenMP threads.
            "ports": [{"name": "http", "containerPort": PORT, "protocol": "TCP"}],
            "startupProbe": {**probe, "periodSeconds": 5, "failureThreshold": 24},
            "readinessProbe": {**probe, "periodSeconds": 5, "failureThreshold": 3},
            "livenessProbe": {**probe, "periodSeconds": 10, "failureThreshold": 3},
            "resources": {
                "requests": {"cpu": resources.cpu_request, "memory": resources.memory_request},
                "limits": {"cpu": resources.cpu_limit, "memory": resources.memory_limit},
            },
            "securityContext": {
                "runAsNonRoot": True,
                "runAsUser": RUN_AS,
                "runAsGroup": RUN_AS,
                "readOnlyRootFilesystem": True,
                "allowPrivilegeEscalation": False,
                "privileged": False,
                "capabilities": {"drop": ["ALL"]},
                "seccompProfile": {"type": "RuntimeDefault"},
            },
            "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],  # noqa: S108 - emptyDir
        }

    def _deployment(
        self, track: str, image: pulumi.Input[str], replicas: int | None
    ) -> K8sResource:
        """``replicas`` None leaves the count to the HorizontalPodAutoscaler."""
        name = APP if track == "stable" else f"{APP}-{track}"
        spec: dict[str, Any] = {
            "selector": {"matchLabels": self._selector(track)},
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1},
            },
            "template": {
                "metadata": {"labels": self._labels(track)},
                "spec": {
                    "serviceAccountName": self.service_account.metadata["name"],
                    "automountServiceAccountToken": False,
                    "enableServiceLinks": False,
                    "securityContext": {
                        "runAsNonRoot": True,
                        "runAsUser": RUN_AS,
                        "runAsGroup": RUN_AS,
                        "fsGroup": RUN_AS,
                        "seccompProfile": {"type": "RuntimeDefault"},
                    },
                    "containers": [self._container(image)],
                    "volumes": [{"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}}],
                },
            },
        }
        if replicas is not None:
            spec["replicas"] = replicas
        return self._k8s.apps.v1.Deployment(
            self._context.name("k8s", track),
            metadata=self._metadata(name, track),
            spec=spec,
            opts=self._child,
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
        """Only the ingress controller reaches the pods; the pods reach nothing."""
        return self._k8s.networking.v1.NetworkPolicy(
            self._context.name("k8s", "network-policy"),
            metadata=self._metadata(APP),
            spec={
                "podSelector": {"matchLabels": {"app.kubernetes.io/name": APP}},
                "policyTypes": ["Ingress", "Egress"],
                "ingress": [
                    {
                        "from": [
                            {
                                "namespaceSelector": {
                                    "matchLabels": {
                                        "kubernetes.io/metadata.name": INGRESS_CONTROLLER_NAMESPACE,
                                    }
                                }
                            }
                        ],
                        "ports": [{"port": PORT, "protocol": "TCP"}],
                    }
                ],
                "egress": [],
            },
            opts=self._child,
        )


def build_kubernetes_serving(
    context: StackContext, image: ProjectImage
) -> KubernetesServing | None:
    """The Kubernetes target when ``kubernetes.enabled`` (the project image unless
    ``kubernetes.image`` names another); None otherwise."""
    settings = context.config.kubernetes
    if not settings.enabled:
        return None
    return KubernetesServing(
        context.name("kubernetes"), context, KubernetesServingArgs(settings, image.image_uri)
    )
