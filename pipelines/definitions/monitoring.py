"""The monitoring pipeline's definition: drift and model quality of the serving endpoint.

Like the training pipeline, a pure function of resolved values (no SDK, no AWS
call), built at synth. Two independent processing steps run in the project
image: ``Drift`` (``pipelines.jobs.drift``) and, when enabled, ``Quality``
(``pipelines.jobs.quality``). Each reads its own window of capture, so
quality can look back over the days labels take to arrive while drift looks
at the last hour. Caching is off: the arguments are the same every run (the
window is taken from the job's clock), so a cache hit would replay an old
window. Reports land under ``drift/<endpoint>/<execution id>/`` and
``quality/<endpoint>/<execution id>/`` of the monitoring bucket.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from ml.step_options import DRIFT_FILE as DRIFT_REPORT
from pipelines.definitions.blocks import (
    JobSettings,
    Json,
    execution_id,
    join,
    processing_output,
    processing_step,
)
from pipelines.definitions.training_spec import PROCESSING

DEFINITION_VERSION = "2020-12-01"
DRIFT_MODULE = "pipelines.jobs.drift"
QUALITY_MODULE = "pipelines.jobs.quality"
CAPTURE_PREFIX = "data-capture/"
LABELS_PREFIX = "labels/"
DRIFT_PREFIX = "drift/"
QUALITY_PREFIX = "quality/"
REPORT_DIR = f"{PROCESSING}/output/report"


@dataclass(frozen=True)
class QualitySpec:
    """The quality step's window and the fewest labelled rows worth publishing."""

    window_hours: int
    min_labelled_rows: int
    min_segment_positives: int


@dataclass(frozen=True)
class MonitoringPipelineSpec:
    """Everything the definition depends on; plain values resolved before building."""

    pipeline_name: str
    region: str
    role_arn: str
    image_uri: str
    kms_key_arn: str
    monitoring_bucket: str
    stack: str
    endpoint_name: str
    variant_name: str
    model_package_arn: str
    instance_type: str
    max_retry_attempts: int
    drift_window_hours: int
    psi_warn: float
    psi_alarm: float
    quality: QualitySpec | None = None
    subnet_ids: tuple[str, ...] = ()
    security_group_ids: tuple[str, ...] = ()

    @property
    def capture_prefix(self) -> str:
        """Where the endpoint writes this variant's capture (``data-capture/...``)."""
        return f"{CAPTURE_PREFIX}{self.endpoint_name}/{self.variant_name}/"

    @property
    def labels_prefix(self) -> str:
        return f"{LABELS_PREFIX}{self.endpoint_name}/"


def _report_output(spec: MonitoringPipelineSpec, prefix: str) -> Json:
    destination = join(
        f"s3://{spec.monitoring_bucket}/{prefix}{spec.endpoint_name}", execution_id()
    )
    return processing_output("report", REPORT_DIR, destination)


def drift_arguments(spec: MonitoringPipelineSpec) -> list[str]:
    """The drift step's container arguments; ``--stack`` and ``--endpoint`` are its dimensions."""
    return [
        "--stack",
        spec.stack,
        "--endpoint",
        spec.endpoint_name,
        "--bucket",
        spec.monitoring_bucket,
        "--capture-prefix",
        spec.capture_prefix,
        "--model-package-arn",
        spec.model_package_arn,
        "--window-hours",
        str(spec.drift_window_hours),
        "--psi-warn",
        str(spec.psi_warn),
        "--psi-alarm",
        str(spec.psi_alarm),
        "--out",
        f"{REPORT_DIR}/{DRIFT_REPORT}",
    ]


def quality_arguments(spec: MonitoringPipelineSpec, quality: QualitySpec) -> list[str]:
    """The quality step's container arguments (``--endpoint``/``--variant`` are the dimensions)."""
    return [
        "--endpoint",
        spec.endpoint_name,
        "--variant",
        spec.variant_name,
        "--bucket",
        spec.monitoring_bucket,
        "--capture-prefix",
        spec.capture_prefix,
        "--labels-prefix",
        spec.labels_prefix,
        "--model-package-arn",
        spec.model_package_arn,
        "--window-hours",
        str(quality.window_hours),
        "--min-labelled-rows",
        str(quality.min_labelled_rows),
        "--min-positives",
        str(quality.min_segment_positives),
        "--out",
        f"{REPORT_DIR}/quality.json",
    ]


def build_steps(spec: MonitoringPipelineSpec) -> list[Json]:
    """The drift step, and the quality step when quality is monitored; independent steps."""
    settings = JobSettings(
        role_arn=spec.role_arn,
        image_uri=spec.image_uri,
        kms_key_arn=spec.kms_key_arn,
        max_attempts=spec.max_retry_attempts,
        cache_expiry="P1D",  # replaced below: these steps never use the cache
        subnet_ids=spec.subnet_ids,
        security_group_ids=spec.security_group_ids,
    )
    environment = {"AWS_DEFAULT_REGION": spec.region}
    steps = [
        processing_step(
            "Drift",
            settings,
            module=DRIFT_MODULE,
            description="Drift of the last capture window against the serving model's baseline.",
            arguments=drift_arguments(spec),
            inputs=[],
            outputs=[_report_output(spec, DRIFT_PREFIX)],
            instance_type=spec.instance_type,
            environment=environment,
        )
    ]
    if spec.quality is not None:
        steps.append(
            processing_step(
                "Quality",
                settings,
                module=QUALITY_MODULE,
                description="Precision, recall and PR AUC of labelled predictions; recall per "
                "merchant category.",
                arguments=quality_arguments(spec, spec.quality),
                inputs=[],
                outputs=[_report_output(spec, QUALITY_PREFIX)],
                instance_type=spec.instance_type,
                environment=environment,
            )
        )
    for step in steps:
        step["CacheConfig"] = {"Enabled": False}
    return steps


def build_definition(spec: MonitoringPipelineSpec) -> Json:
    """The whole definition as a dict, in the SDK's layout."""
    return {
        "Version": DEFINITION_VERSION,
        "Metadata": {},
        "Parameters": [],
        "PipelineExperimentConfig": {
            "ExperimentName": {"Get": "Execution.PipelineName"},
            "TrialName": {"Get": "Execution.PipelineExecutionId"},
        },
        "MlflowConfig": None,
        "Steps": build_steps(spec),
    }


def definition_json(spec: MonitoringPipelineSpec) -> str:
    """The definition as compact JSON with sorted keys: the bytes SageMaker stores."""
    return json.dumps(build_definition(spec), sort_keys=True, separators=(",", ":"))


def step_arguments(definition: Json, step: str) -> dict[str, str]:
    """A step's ``--flag value`` container arguments as a mapping (for checks and tests)."""
    for candidate in definition["Steps"]:
        if candidate["Name"] == step:
            args = candidate["Arguments"]["AppSpecification"]["ContainerArguments"]
            return {args[i].removeprefix("--"): args[i + 1] for i in range(0, len(args), 2)}
    raise KeyError(f"no step {step!r} in the definition")
