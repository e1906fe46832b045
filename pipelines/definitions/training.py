"""The training pipeline's definition: version, validate, features, train, evaluate, gate, register.

Every execution starts by versioning the input prefix (``pipelines.jobs.dataset``,
never cached) and reads the data through that version's manifest, so the job
steps after it are served from SageMaker's cache exactly when the data is
unchanged; after Train, ``pipelines.jobs.champion`` (never cached) scores the
current champion on the same split, so every run, scheduled, alarm-started or
manual, is gated against it with no parameter to fill in.

``build_definition`` is pure: the same ``TrainingPipelineSpec`` gives byte-identical
JSON, with no timestamp, random id or AWS call, so ``pulumi up`` updates the
pipeline only when something in it changed. Outputs of each execution land
under ``pipeline-runs/<execution id>/`` in the artifacts bucket; bad input files
land in the data bucket's ``quarantine/`` prefix with their reasons.
"""

from __future__ import annotations

import json

from pipelines.definitions.blocks import (
    JobSettings,
    Json,
    execution_id,
    join,
    json_get,
    parameter,
    processing_input,
    processing_output,
    processing_step,
    step_property,
    training_step,
)
from pipelines.definitions.gates import gate_conditions, gate_steps, register_step
from pipelines.definitions.training_spec import (
    CHAMPION_REPORT,
    DATASET_REPORT,
    EVALUATION_REPORT,
    FEATURES_REPORT,
    MEASURE_ONLY_GATES,
    PR_AUC_PATH,
    PROCESSING,
    RECALL_PATH,
    VALIDATION_REPORT,
    Gates,
    TrainingPipelineSpec,
    output_uri,
)

__all__ = [
    "EVALUATION_REPORT",
    "FEATURES_REPORT",
    "PR_AUC_PATH",
    "RECALL_PATH",
    "VALIDATION_REPORT",
    "Gates",
    "TrainingPipelineSpec",
    "build_definition",
    "build_steps",
    "definition_json",
    "flatten_steps",
    "gate_conditions",
    "parameters",
    "register_step",
]

DEFINITION_VERSION = "2020-12-01"
STEP_ORDER = (
    "Dataset",
    "Validate",
    "Features",
    "Train",
    "Evaluate",
    "Champion",
    "CheckNewModel",
    "CheckGates",
    "Register",
    "GateFailed",
)
# Job steps SageMaker may serve from its cache; Dataset and Champion run on every execution.
JOB_STEPS = ("Validate", "Features", "Train", "Evaluate")
UNCACHED_STEPS = ("Dataset", "Champion")


def parameters(spec: TrainingPipelineSpec) -> list[Json]:
    """Pipeline parameters with the stack's defaults; a run may override any of them."""
    return [
        {"Name": "InputDataUri", "Type": "String", "DefaultValue": spec.raw_uri},
        {
            "Name": "ProcessingInstanceType",
            "Type": "String",
            "DefaultValue": spec.processing_instance_type,
        },
        {
            "Name": "TrainingInstanceType",
            "Type": "String",
            "DefaultValue": spec.training_instance_type,
        },
        {"Name": "ModelApprovalStatus", "Type": "String", "DefaultValue": spec.approval_status},
    ]


def run_uri(spec: TrainingPipelineSpec, step: str, output: str) -> Json:
    """``s3://<artifacts>/pipeline-runs/<execution id>/<step>/<output>``."""
    return join(f"s3://{spec.artifacts_bucket}/pipeline-runs", execution_id(), step, output)


def build_steps(spec: TrainingPipelineSpec) -> list[Json]:
    """The steps in execution order (data dependencies order them in SageMaker too)."""
    settings = JobSettings(
        role_arn=spec.role_arn,
        image_uri=spec.image_uri,
        kms_key_arn=spec.kms_key_arn,
        max_attempts=spec.max_retry_attempts,
        cache_expiry=spec.cache_expiry,
        subnet_ids=spec.subnet_ids,
        security_group_ids=spec.security_group_ids,
    )
    processing_type = parameter("ProcessingInstanceType")
    region_env = {"AWS_DEFAULT_REGION": spec.region}
    dataset = processing_step(
        "Dataset",
        settings,
        module="pipelines.jobs.dataset",
        description="Version the input prefix: a manifest of its object keys and their sha256.",
        arguments=[
            "--input-uri",
            parameter("InputDataUri"),
            "--datasets-uri",
            spec.datasets_uri,
            "--out",
            f"{PROCESSING}/output/dataset",
        ],
        inputs=[],
        outputs=[
            processing_output(
                "dataset", f"{PROCESSING}/output/dataset", run_uri(spec, "dataset", "dataset")
            )
        ],
        instance_type=processing_type,
        environment=region_env,
        property_files=(DATASET_REPORT,),
        cached=False,
    )
    validate = processing_step(
        "Validate",
        settings,
        module="ml.validate",
        description="Check every input file; move bad ones to quarantine with a reason.",
        arguments=[
            "--input",
            f"{PROCESSING}/input/data",
            "--validated",
            f"{PROCESSING}/output/validated",
            "--quarantine",
            f"{PROCESSING}/output/quarantine",
            "--report",
            f"{PROCESSING}/output/report/validation.json",
        ],
        inputs=[
            processing_input(
                "data",
                json_get("Dataset", DATASET_REPORT.name, "manifest_uri"),
                f"{PROCESSING}/input/data",
                data_type="ManifestFile",
            )
        ],
        outputs=[
            processing_output(
                "validated",
                f"{PROCESSING}/output/validated",
                run_uri(spec, "validate", "validated"),
            ),
            processing_output(
                "quarantine",
                f"{PROCESSING}/output/quarantine",
                join(f"s3://{spec.data_bucket}/quarantine", execution_id()),
            ),
            processing_output(
                "report", f"{PROCESSING}/output/report", run_uri(spec, "validate", "report")
            ),
        ],
        instance_type=processing_type,
        property_files=(VALIDATION_REPORT,),
    )
    features_env = region_env
    features_args = [
        "--input",
        f"{PROCESSING}/input/validated",
        "--output",
        f"{PROCESSING}/output",
    ]
    if spec.feature_group_name is not None:
        features_args += ["--feature-group", spec.feature_group_name]
    features = processing_step(
        "Features",
        settings,
        module="pipelines.jobs.features",
        description="Ingest the validated records into the Feature Store; split train and test.",
        arguments=features_args,
        inputs=[
            processing_input(
                "validated",
                step_property("Validate", output_uri("validated")),
                f"{PROCESSING}/input/validated",
            )
        ],
        outputs=[
            processing_output(name, f"{PROCESSING}/output/{name}", run_uri(spec, "features", name))
            for name in ("train", "test", "report")
        ],
        instance_type=processing_type,
        environment=features_env,
        property_files=(FEATURES_REPORT,),
    )
    train = training_step(
        "Train",
        settings,
        module="ml.train",
        description="Fit the fraud model on the training split.",
        channels={"train": step_property("Features", output_uri("train"))},
        output_uri=join(f"s3://{spec.artifacts_bucket}/pipeline-runs", execution_id(), "train"),
        instance_type=parameter("TrainingInstanceType"),
        hyperparameters={"model-dir": "/opt/ml/model", "train": "/opt/ml/input/data/train"},
    )
    evaluate = processing_step(
        "Evaluate",
        settings,
        module="ml.evaluate",
        description="Score the held-out split; write evaluation.json in model-metrics format.",
        # Evaluate measures; CheckGates decides, so a miss ends in GateFailed with the reason.
        arguments=[
            "--model-dir",
            f"{PROCESSING}/input/model",
            "--test",
            f"{PROCESSING}/input/test",
            "--out",
            f"{PROCESSING}/output/evaluation",
            "--gates",
            MEASURE_ONLY_GATES,
        ],
        inputs=[
            processing_input(
                "model",
                step_property("Train", "ModelArtifacts.S3ModelArtifacts"),
                f"{PROCESSING}/input/model",
            ),
            processing_input(
                "test", step_property("Features", output_uri("test")), f"{PROCESSING}/input/test"
            ),
        ],
        outputs=[
            processing_output(
                "evaluation",
                f"{PROCESSING}/output/evaluation",
                run_uri(spec, "evaluate", "evaluation"),
            )
        ],
        instance_type=processing_type,
        property_files=(EVALUATION_REPORT,),
    )
    champion = processing_step(
        "Champion",
        settings,
        module="pipelines.jobs.champion",
        description="Score the champion and the challenger on the same split; set the floors.",
        arguments=[
            "--group",
            spec.model_package_group,
            "--max-regression",
            str(spec.gates.max_regression),
            "--model-dir",
            f"{PROCESSING}/input/model",
            "--test",
            f"{PROCESSING}/input/test",
            "--out",
            f"{PROCESSING}/output/champion",
        ],
        inputs=[
            processing_input(
                "model",
                step_property("Train", "ModelArtifacts.S3ModelArtifacts"),
                f"{PROCESSING}/input/model",
            ),
            processing_input(
                "test", step_property("Features", output_uri("test")), f"{PROCESSING}/input/test"
            ),
        ],
        outputs=[
            processing_output(
                "champion", f"{PROCESSING}/output/champion", run_uri(spec, "champion", "champion")
            )
        ],
        instance_type=processing_type,
        environment=region_env,
        property_files=(CHAMPION_REPORT,),
        cached=False,
    )
    return [dataset, validate, features, train, evaluate, champion, *gate_steps(spec)]


def build_definition(spec: TrainingPipelineSpec) -> Json:
    """The whole definition as a dict, in the SDK's layout."""
    return {
        "Version": DEFINITION_VERSION,
        "Metadata": {},
        "Parameters": parameters(spec),
        "PipelineExperimentConfig": {
            "ExperimentName": {"Get": "Execution.PipelineName"},
            "TrialName": {"Get": "Execution.PipelineExecutionId"},
        },
        "MlflowConfig": None,
        "Steps": build_steps(spec),
    }


def definition_json(spec: TrainingPipelineSpec) -> str:
    """The definition as compact JSON with sorted keys: the bytes SageMaker stores."""
    return json.dumps(build_definition(spec), sort_keys=True, separators=(",", ":"))


def flatten_steps(definition: Json) -> list[Json]:
    """Every step, the condition's branches included, in definition order."""
    found: list[Json] = []
    for step in definition["Steps"]:
        found.append(step)
        if step["Type"] == "Condition":
            found += flatten_steps({"Steps": step["Arguments"]["IfSteps"]})
            found += flatten_steps({"Steps": step["Arguments"]["ElseSteps"]})
    return found
