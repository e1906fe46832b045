"""The end of the training pipeline: the metric gates, then register or fail with the reason.

``CheckNewModel`` comes first: when every job step was served from the cache
(unchanged data) the challenger is a model the group already holds, and the
run ends there, successfully, registering nothing. Otherwise ``CheckGates``
compares the challenger (``Evaluate``) with the fixed floors of
``mlops:pipeline.gates`` and with the champion floors that the Champion step
computed in this very run, so no start parameter can leave them at 0. A
condition step nested in another's branch is what the SDK's step compiler
flattens (``_flatten_compound_step``), so the service accepts it.
"""

from __future__ import annotations

from pipelines.definitions.blocks import Json, join, json_get, parameter, step_property
from pipelines.definitions.training_spec import (
    CHALLENGER_IS_NEW_PATH,
    CHAMPION_FLOOR_PATHS,
    CHAMPION_METRIC_PATHS,
    CHAMPION_REPORT,
    DATASET_REPORT,
    EVALUATION_REPORT,
    FEATURES_REPORT,
    PR_AUC_PATH,
    RECALL_PATH,
    TrainingPipelineSpec,
    output_uri,
)

# Nothing to set: the server starts a worker per CPU and shares the CPUs out as
# OpenMP threads itself (ml/serve_workers.py); the endpoint may set the workers.
SERVING_ENVIRONMENT: dict[str, str] = {}


def champion_value(path: str) -> Json:
    return json_get("Champion", CHAMPION_REPORT.name, path)


def gate_conditions(spec: TrainingPipelineSpec) -> list[Json]:
    """All must hold: both metric floors and no regression against the champion."""
    pr_auc = json_get("Evaluate", EVALUATION_REPORT.name, PR_AUC_PATH)
    recall = json_get("Evaluate", EVALUATION_REPORT.name, RECALL_PATH)
    return [
        {"Type": "GreaterThanOrEqualTo", "LeftValue": pr_auc, "RightValue": spec.gates.min_pr_auc},
        {
            "Type": "GreaterThanOrEqualTo",
            "LeftValue": recall,
            "RightValue": spec.gates.min_recall_at_precision,
        },
        {
            "Type": "GreaterThanOrEqualTo",
            "LeftValue": pr_auc,
            "RightValue": champion_value(CHAMPION_FLOOR_PATHS["pr_auc"]),
        },
        {
            "Type": "GreaterThanOrEqualTo",
            "LeftValue": recall,
            "RightValue": champion_value(CHAMPION_FLOOR_PATHS["recall_at_precision_90"]),
        },
    ]


def gate_steps(spec: TrainingPipelineSpec) -> list[Json]:
    """A new model goes to the gates (register, or fail with the reason); a known one stops."""
    pr_auc = json_get("Evaluate", EVALUATION_REPORT.name, PR_AUC_PATH)
    recall = json_get("Evaluate", EVALUATION_REPORT.name, RECALL_PATH)
    register = register_step(spec)
    failed = {
        "Name": "GateFailed",
        "Type": "Fail",
        "Description": "The challenger missed a metric gate or regressed against the champion.",
        "Arguments": {
            "ErrorMessage": join(
                "challenger not registered: pr_auc",
                pr_auc,
                f"(floor {spec.gates.min_pr_auc}, champion",
                champion_value(CHAMPION_METRIC_PATHS["pr_auc"]),
                "less",
                f"{spec.gates.max_regression}: champion floor",
                champion_value(CHAMPION_FLOOR_PATHS["pr_auc"]),
                "), recall_at_precision_90",
                recall,
                f"(floor {spec.gates.min_recall_at_precision}, champion",
                champion_value(CHAMPION_METRIC_PATHS["recall_at_precision_90"]),
                "less",
                f"{spec.gates.max_regression}: champion floor",
                champion_value(CHAMPION_FLOOR_PATHS["recall_at_precision_90"]),
                "); champion",
                champion_value("champion.package_arn"),
                on=" ",
            )
        },
    }
    condition = {
        "Name": "CheckGates",
        "Type": "Condition",
        "Description": "Metric gates from mlops:pipeline.gates and the champion comparison.",
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
            },
        },
    }
