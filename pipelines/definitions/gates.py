"""The end of the training pipeline: the gates, then register or fail with the reason.

``CheckNewModel`` comes first: when every job step was served from the cache
(unchanged data) the challenger is a model the group already holds, and the
run ends there, successfully, registering nothing. Otherwise ``CheckGates``
compares the values the Champion step measured in this very run
(``champion.json``'s ``gate_values``) with ``mlops:pipeline.gates``: enough
frauds in the test split, a threshold that did not fall back, at least one
row flagged, precision, recall and PR AUC at their floors, and the low end of
each difference against the champion above minus its margin. The Champion
step applies the same gates itself (``ml.gates``), so ``GateFailed`` reports
its one-line reason. A condition step nested in another's branch is what the
SDK's step compiler flattens (``_flatten_compound_step``), so the service
accepts it.
"""

from __future__ import annotations

from collections.abc import Callable

from ml.gates import Gates
from pipelines.definitions.blocks import Json, join, json_get, parameter, step_property
from pipelines.definitions.training_spec import (
    CHALLENGER_IS_NEW_PATH,
    CHAMPION_REPORT,
    DATASET_REPORT,
    DECISION_REASON_PATH,
    EVALUATION_REPORT,
    FEATURES_REPORT,
    GATE_VALUES,
    PR_AUC_PATH,
    PRECISION_AT_THRESHOLD_PATH,
    RECALL_AT_THRESHOLD_PATH,
    RECALL_PATH,
    TrainingPipelineSpec,
    output_uri,
)

# Nothing to set: the server starts a worker per CPU and shares the CPUs out as
# OpenMP threads itself (ml/serve_workers.py); the endpoint may set the workers.
SERVING_ENVIRONMENT: dict[str, str] = {}

# Each gated value of champion.json, how it compares, and its limit in the stack's gates;
# ml.gates.evidence_checks, floor_checks and champion_checks apply the same rules.
GATED: tuple[tuple[str, str, Callable[[Gates], float]], ...] = (
    ("test_positives", "GreaterThanOrEqualTo", lambda g: g.min_test_positives),
    ("threshold_fallback", "LessThanOrEqualTo", lambda g: g.allow_fallback),
    ("flagged", "GreaterThanOrEqualTo", lambda g: g.min_flagged),
    ("precision", "GreaterThanOrEqualTo", lambda g: g.min_precision),
    ("recall", "GreaterThanOrEqualTo", lambda g: g.min_recall),
    ("pr_auc", "GreaterThanOrEqualTo", lambda g: g.min_pr_auc),
    ("pr_auc_difference_low", "GreaterThanOrEqualTo", lambda g: -g.margin_pr_auc),
    ("recall_difference_low", "GreaterThanOrEqualTo", lambda g: -g.margin_recall),
    ("precision_difference_low", "GreaterThanOrEqualTo", lambda g: -g.margin_precision),
)


def champion_value(path: str) -> Json:
    return json_get("Champion", CHAMPION_REPORT.name, path)


def gate_conditions(spec: TrainingPipelineSpec) -> list[Json]:
    """All must hold: evidence, floors at the operating point, non-inferiority."""
    return [
        {
            "Type": kind,
            "LeftValue": champion_value(f"{GATE_VALUES}.{name}"),
            "RightValue": float(limit(spec.gates)),
        }
        for name, kind, limit in GATED
    ]


def gate_steps(spec: TrainingPipelineSpec) -> list[Json]:
    """A new model goes to the gates (register, or fail with the reason); a known one stops."""
    register = register_step(spec)
    failed = {
        "Name": "GateFailed",
        "Type": "Fail",
        "Description": "The challenger missed a gate: evidence, a floor or non-inferiority.",
        "Arguments": {
            "ErrorMessage": join(
                "challenger not registered:",
                champion_value(DECISION_REASON_PATH),
                "- champion",
                champion_value("champion.package_arn"),
                "- report: champion_vs_challenger.md in the Champion step's output",
                on=" ",
            )
        },
    }
    condition = {
        "Name": "CheckGates",
        "Type": "Condition",
        "Description": "The gates of mlops:pipeline.gates on the Champion step's measurements.",
        "Arguments": {
            "Conditions": gate_conditions(spec),
            "IfSteps": [register],
            "ElseSteps": [failed],
        },
    }
    new_model = {
        "Name": "CheckNewModel",
        "Type": "Condition",
        "Description": "Gate a new challenger; a model the group already holds stops here.",
        "Arguments": {
            "Conditions": [
                {
                    "Type": "Equals",
                    "LeftValue": champion_value(CHALLENGER_IS_NEW_PATH),
                    "RightValue": 1,
                }
            ],
            "IfSteps": [condition],
            "ElseSteps": [],
        },
    }
    return [new_model]


def register_step(spec: TrainingPipelineSpec) -> Json:
    """Register the challenger with its metrics, data hash and the image (code) that made it."""
    evaluation_uri = join(
        step_property("Evaluate", output_uri("evaluation")), EVALUATION_REPORT.path
    )
    return {
        "Name": "Register",
        "Type": "RegisterModel",
        "Description": "Register the challenger in the stack's model package group.",
        "Arguments": {
            "ModelPackageGroupName": spec.model_package_group,
            "ModelPackageDescription": "Fraud model trained by the training pipeline",
            "ModelApprovalStatus": parameter("ModelApprovalStatus"),
            "InferenceSpecification": {
                "Containers": [
                    {
                        # The project image serves by itself (ml.serve, SageMaker's
                        # bring-your-own-container contract): no framework entry to name.
                        "Image": spec.image_uri,
                        "ModelDataUrl": step_property("Train", "ModelArtifacts.S3ModelArtifacts"),
                        "Environment": SERVING_ENVIRONMENT,
                    }
                ],
                "SupportedContentTypes": ["application/json", "text/csv"],
                "SupportedResponseMIMETypes": ["application/json"],
            },
            "ModelMetrics": {
                "ModelQuality": {
                    "Statistics": {
                        "ContentType": "application/json",
                        "S3Uri": evaluation_uri,
                    }
                }
            },
            "CustomerMetadataProperties": {
                "DataSha256": json_get("Features", FEATURES_REPORT.name, "data_sha256"),
                "DatasetVersion": json_get("Dataset", DATASET_REPORT.name, "version"),
                "DatasetManifestUri": json_get("Dataset", DATASET_REPORT.name, "manifest_uri"),
                "ModelSha256": champion_value("challenger.model_sha256"),
                "ImageUri": spec.image_uri,
                "PrAuc": json_get("Evaluate", EVALUATION_REPORT.name, PR_AUC_PATH),
                "RecallAtPrecision90": json_get("Evaluate", EVALUATION_REPORT.name, RECALL_PATH),
                "Precision": json_get(
                    "Evaluate", EVALUATION_REPORT.name, PRECISION_AT_THRESHOLD_PATH
                ),
                "Recall": json_get("Evaluate", EVALUATION_REPORT.name, RECALL_AT_THRESHOLD_PATH),
                "DecisionThreshold": json_get(
                    "Evaluate", EVALUATION_REPORT.name, "evaluation.decision_threshold"
                ),
            },
        },
    }
