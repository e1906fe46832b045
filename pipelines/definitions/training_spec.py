"""What the training pipeline's definition depends on: the spec, report files, metric paths."""

from __future__ import annotations

from dataclasses import dataclass

from pipelines.definitions.blocks import PropertyFile

PROCESSING = "/opt/ml/processing"

DATASET_REPORT = PropertyFile("DatasetVersion", "dataset", "dataset.json")
VALIDATION_REPORT = PropertyFile("ValidationReport", "report", "validation.json")
FEATURES_REPORT = PropertyFile("FeaturesReport", "report", "features.json")
EVALUATION_REPORT = PropertyFile("EvaluationReport", "evaluation", "evaluation.json")
CHAMPION_REPORT = PropertyFile("ChampionReport", "champion", "champion.json")

# Where the gates read the challenger's metrics in evaluation.json (SageMaker model-metrics shape).
PR_AUC_PATH = "binary_classification_metrics.pr_auc.value"
RECALL_PATH = "binary_classification_metrics.recall_at_precision_90.value"
# Where CheckGates reads the champion comparison in champion.json (pipelines.jobs.champion).
CHAMPION_FLOOR_PATHS = {
    "pr_auc": "floors.pr_auc",
    "recall_at_precision_90": "floors.recall_at_precision_90",
}
CHAMPION_METRIC_PATHS = {
    "pr_auc": "champion.pr_auc",
    "recall_at_precision_90": "champion.recall_at_precision_90",
}
CHALLENGER_IS_NEW_PATH = "challenger.is_new"
MEASURE_ONLY_GATES = "min_pr_auc=0,min_recall_at_precision=0,max_regression=1"


@dataclass(frozen=True)
class Gates:
    """Metric floors a challenger must reach (``mlops:pipeline.gates``)."""

    min_pr_auc: float
    min_recall_at_precision: float
    max_regression: float


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
