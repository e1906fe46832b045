"""The monitoring pipeline's definition: drift and model quality of the serving endpoint.

Like the training pipeline, a pure function of resolved values (no SDK, no AWS
call), built at synth. Independent processing steps run in the project
image: ``Drift`` (``pipelines.jobs.drift``) and, when enabled, ``Quality``
(``pipelines.jobs.quality``) and ``Feedback`` (``pipelines.jobs.feedback``,
which lands labelled traffic in the data bucket's ``raw/feedback/``). Each
reads its own window of capture: drift the last hour (and the same hour of
earlier days, for the model's scores), quality the cohort that ended the label
delay ago, whose labels have arrived, feedback the labels that arrived since
its last run. Caching is off: the arguments are the same every run (the window
is taken from the job's clock), so a cache hit would replay an old window.
Reports land under ``drift/<endpoint>/<execution id>/``,
``quality/<endpoint>/<execution id>/`` and ``feedback/<endpoint>/<execution id>/``
of the monitoring bucket.
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
FEEDBACK_MODULE = "pipelines.jobs.feedback"
CAPTURE_PREFIX = "data-capture/"
LABELS_PREFIX = "labels/"
DRIFT_PREFIX = "drift/"
QUALITY_PREFIX = "quality/"
FEEDBACK_PREFIX = "feedback/"
RAW_FEEDBACK = "raw/feedback/"  # where the feedback step lands labelled rows for training
# Where ops.release copies a promoted package's model and evaluation in the target stack.
PROMOTED_PREFIX = "promoted/"
ARTIFACT_PREFIXES = ("pipeline-runs/", PROMOTED_PREFIX)
REPORT_DIR = f"{PROCESSING}/output/report"


@dataclass(frozen=True)
class QualitySpec:
    """The quality step's cohort (length, label delay) and what a window needs to be reported."""

    window_hours: int
    min_labelled_rows: int
    min_segment_positives: int
    label_delay_hours: int = 0
    min_positives: int = 30
    min_label_coverage: float = 0.9


@dataclass(frozen=True)
class DriftSpec:
    """The drift step's fewest rows, and the same-hour comparison of the model's scores."""

    min_rows: int = 300
    score_reference_days: int = 0
    flag_rate_tolerance: float = 1.5


@dataclass(frozen=True)
class FeedbackSpec:
    """Where feedback lands rows, how old a labelled prediction may be, how far a run catches up."""

    data_bucket: str
    lookback_hours: int
    catch_up_hours: int


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
    drift: DriftSpec = DriftSpec()
    feedback: FeedbackSpec | None = None
    subnet_ids: tuple[str, ...] = ()
    security_group_ids: tuple[str, ...] = ()

    @property
    def capture_prefix(self) -> str:
        """Where the endpoint writes this variant's capture (``data-capture/...``)."""
        return f"{CAPTURE_PREFIX}{self.endpoint_name}/{self.variant_name}/"

    @property
    def labels_prefix(self) -> str:
        return f"{LABELS_PREFIX}{self.endpoint_name}/"

    @property
    def feedback_prefix(self) -> str:
        """The feedback step's ledger and reports (``feedback/<endpoint>/``)."""
        return f"{FEEDBACK_PREFIX}{self.endpoint_name}/"


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
        "--min-rows",
        str(spec.drift.min_rows),
        "--score-reference-days",
        str(spec.drift.score_reference_days),
        "--flag-rate-tolerance",
        str(spec.drift.flag_rate_tolerance),
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
        "--label-delay-hours",
        str(quality.label_delay_hours),
        "--min-labelled-rows",
        str(quality.min_labelled_rows),
        "--min-label-coverage",
        str(quality.min_label_coverage),
        "--min-positives",
        str(quality.min_positives),
        "--min-segment-positives",
        str(quality.min_segment_positives),
        "--out",
        f"{REPORT_DIR}/quality.json",
    ]


def feedback_arguments(spec: MonitoringPipelineSpec, feedback: FeedbackSpec) -> list[str]:
    """The feedback step's container arguments (``--endpoint`` is its heartbeat's dimension)."""
    return [
        "--endpoint",
        spec.endpoint_name,
        "--bucket",
        spec.monitoring_bucket,
        "--capture-prefix",
        spec.capture_prefix,
        "--labels-prefix",
        spec.labels_prefix,
        "--ledger-prefix",
        spec.feedback_prefix,
        "--data-bucket",
        feedback.data_bucket,
        "--lookback-hours",
        str(feedback.lookback_hours),
        "--catch-up-hours",
        str(feedback.catch_up_hours),
        "--out",
        f"{REPORT_DIR}/feedback.json",
    ]


def build_steps(spec: MonitoringPipelineSpec) -> list[Json]:
    """The drift step, and the quality and feedback steps when enabled; independent steps."""
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
                description="Recall, precision and PR AUC of the predictions old enough to be "
                "labelled, against the serving model's evaluation; recall per merchant category.",
                arguments=quality_arguments(spec, spec.quality),
                inputs=[],
                outputs=[_report_output(spec, QUALITY_PREFIX)],
                instance_type=spec.instance_type,
                environment=environment,
            )
        )
    if spec.feedback is not None:
        steps.append(
            processing_step(
                "Feedback",
                settings,
                module=FEEDBACK_MODULE,
                description="Captured requests joined with the labels that arrived, landed once "
                "in raw/feedback/.",
                arguments=feedback_arguments(spec, spec.feedback),
                inputs=[],
                outputs=[_report_output(spec, FEEDBACK_PREFIX)],
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
