"""What the training pipeline's definition depends on: the spec, report files, metric paths."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ml.gates import Gates
from pipelines.definitions.blocks import PropertyFile

__all__ = ["Gates", "TrainingPipelineSpec", "gates_of"]

PROCESSING = "/opt/ml/processing"

DATASET_REPORT = PropertyFile("DatasetVersion", "dataset", "dataset.json")
VALIDATION_REPORT = PropertyFile("ValidationReport", "report", "validation.json")
FEATURES_REPORT = PropertyFile("FeaturesReport", "report", "features.json")
EVALUATION_REPORT = PropertyFile("EvaluationReport", "evaluation", "evaluation.json")
CHAMPION_REPORT = PropertyFile("ChampionReport", "champion", "champion.json")

# Where the registry's metadata reads the challenger's metrics in evaluation.json.
PR_AUC_PATH = "binary_classification_metrics.pr_auc.value"
RECALL_PATH = "binary_classification_metrics.recall_at_precision_90.value"
PRECISION_AT_THRESHOLD_PATH = "binary_classification_metrics.precision.value"
RECALL_AT_THRESHOLD_PATH = "binary_classification_metrics.recall.value"
# Where CheckGates reads the gated values and the decision in champion.json.
GATE_VALUES = "gate_values"
DECISION_REASON_PATH = "decision.reason"
CHALLENGER_IS_NEW_PATH = "challenger.is_new"
# Evaluate measures; the Champion step applies the gates, CheckGates decides on them.
MEASURE_ONLY_GATES = "none"


def gates_of(config: Any) -> Gates:
    """The gates of a stack's ``pipeline.gates`` config section (its typed model)."""
    return Gates(
        min_pr_auc=config.min_pr_auc,
        min_precision=config.min_precision,
        min_recall=config.min_recall,
        min_test_positives=config.min_test_positives,
        margin_pr_auc=config.margins.pr_auc,
        margin_recall=config.margins.recall,
        margin_precision=config.margins.precision,
    )


@dataclass(frozen=True)
class TrainingPipelineSpec:
    """Everything the definition depends on; all plain values, resolved before building."""

    pipeline_name: str
    region: str
    role_arn: str
    data_bucket: str
    artifacts_bucket: str
    kms_key_arn: str
    # The project image by digest (``<account>.dkr.ecr.<region>.amazonaws.com/<repo>@sha256:...``):
    # every job step and the registered model run it; it changes whenever the code does.
    image_uri: str
    model_package_group: str
    feature_group_name: str | None
    processing_instance_type: str
    training_instance_type: str
    approval_status: str
    cache_expiry: str
    max_retry_attempts: int
    gates: Gates
    subnet_ids: tuple[str, ...] = ()
    security_group_ids: tuple[str, ...] = ()
    # Dataset copies no registered package names expire after this (storage.rawExpirationDays).
    retain_unregistered_days: int = 365

    @property
    def raw_uri(self) -> str:
        """The prefix the Dataset step versions by default (``InputDataUri``)."""
        return f"s3://{self.data_bucket}/raw/"

    @property
    def datasets_uri(self) -> str:
        """Where dataset versions (manifest and record) are written, one folder each."""
        return f"s3://{self.data_bucket}/datasets/"


def output_uri(name: str) -> str:
    """The property path of a processing output's S3 URI."""
    return f"ProcessingOutputConfig.Outputs['{name}'].S3Output.S3Uri"
