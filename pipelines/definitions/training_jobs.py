"""The training pipeline's job steps, one builder each, in execution order.

Dataset versions the input prefix and Validate reads that version's manifest;
Features, Train and Evaluate follow the data; Champion scores the current
champion on the same split. The gate and register steps after them are in
``gates.py``. Outputs of an execution land under
``s3://<artifacts>/pipeline-runs/<execution id>/<step>/<output>``.
"""

from __future__ import annotations

from collections.abc import Callable

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
from pipelines.definitions.training_spec import (
    CHAMPION_REPORT,
    DATASET_REPORT,
    EVALUATION_REPORT,
    FEATURES_REPORT,
    MEASURE_ONLY_GATES,
    PROCESSING,
    VALIDATION_REPORT,
    TrainingPipelineSpec,
    output_uri,
)

JobStepBuilder = Callable[[TrainingPipelineSpec, JobSettings], Json]


def job_settings(spec: TrainingPipelineSpec) -> JobSettings:
    """What every job step of the stack shares: role, image, key, retries, cache, network."""
    return JobSettings(
        role_arn=spec.role_arn,
        image_uri=spec.image_uri,
        kms_key_arn=spec.kms_key_arn,
        max_attempts=spec.max_retry_attempts,
        cache_expiry=spec.cache_expiry,
        subnet_ids=spec.subnet_ids,
        security_group_ids=spec.security_group_ids,
    )


def run_uri(spec: TrainingPipelineSpec, step: str, output: str) -> Json:
    """``s3://<artifacts>/pipeline-runs/<execution id>/<step>/<output>``."""
    return join(f"s3://{spec.artifacts_bucket}/pipeline-runs", execution_id(), step, output)


def _region(spec: TrainingPipelineSpec) -> dict[str, str]:
    """The environment of the steps that call AWS themselves."""
    return {"AWS_DEFAULT_REGION": spec.region}


def _processing_type() -> Json:
    return parameter("ProcessingInstanceType")


def _model_and_test() -> list[Json]:
    """The trained model and the test split: what Evaluate and Champion score."""
    return [
        processing_input(
            "model",
            step_property("Train", "ModelArtifacts.S3ModelArtifacts"),
            f"{PROCESSING}/input/model",
        ),
        processing_input(
            "test", step_property("Features", output_uri("test")), f"{PROCESSING}/input/test"
        ),
    ]


def dataset_step(spec: TrainingPipelineSpec, settings: JobSettings) -> Json:
    """Version the input prefix; never cached, so new files always make a new version.

    It alone reads ``RunKind`` (into the version's run record), and it keeps the versions
    the group's packages name (``--model-package-group``).
    """
    return processing_step(
        "Dataset",
        settings,
        module="pipelines.jobs.dataset",
        description="Version the input prefix: a manifest of retained copies, by sha256.",
        arguments=[
            "--input-uri",
            parameter("InputDataUri"),
            "--datasets-uri",
            spec.datasets_uri,
            "--model-package-group",
            spec.model_package_group,
            "--retain-unregistered-days",
            str(spec.retain_unregistered_days),
            "--run-kind",
            parameter("RunKind"),
            "--out",
            f"{PROCESSING}/output/dataset",
        ],
        inputs=[],
        outputs=[
            processing_output(
                "dataset", f"{PROCESSING}/output/dataset", run_uri(spec, "dataset", "dataset")
            )
        ],
        instance_type=_processing_type(),
        environment=_region(spec),
        property_files=(DATASET_REPORT,),
        cached=False,
    )


def validate_step(spec: TrainingPipelineSpec, settings: JobSettings) -> Json:
    """Validate the files of the dataset version; bad ones go to the data bucket's quarantine."""
    return processing_step(
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
        instance_type=_processing_type(),
        property_files=(VALIDATION_REPORT,),
    )


def features_step(spec: TrainingPipelineSpec, settings: JobSettings) -> Json:
    """Ingest into the stack's feature group (when it has one) and split train and test."""
    arguments = [
        "--input",
        f"{PROCESSING}/input/validated",
        "--output",
        f"{PROCESSING}/output",
    ]
    if spec.feature_group_name is not None:
        arguments += ["--feature-group", spec.feature_group_name]
    return processing_step(
        "Features",
        settings,
        module="pipelines.jobs.features",
        description="Ingest the validated records into the Feature Store; split train and test.",
        arguments=arguments,
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
        instance_type=_processing_type(),
        environment=_region(spec),
        property_files=(FEATURES_REPORT,),
    )


def train_step(spec: TrainingPipelineSpec, settings: JobSettings) -> Json:
    """Fit the model; its ``model.tar.gz`` lands under the execution's ``train/`` prefix."""
    return training_step(
        "Train",
        settings,
        module="ml.train",
        description="Fit the fraud model on the training split.",
        channels={"train": step_property("Features", output_uri("train"))},
        output_uri=join(f"s3://{spec.artifacts_bucket}/pipeline-runs", execution_id(), "train"),
        instance_type=parameter("TrainingInstanceType"),
        hyperparameters={"model-dir": "/opt/ml/model", "train": "/opt/ml/input/data/train"},
    )


def evaluate_step(spec: TrainingPipelineSpec, settings: JobSettings) -> Json:
    """Measure the model on the test split; CheckGates decides, so a miss says why."""
    return processing_step(
        "Evaluate",
        settings,
        module="ml.evaluate",
        description="Score the held-out split; write evaluation.json in model-metrics format.",
        arguments=[
            "--model-dir",
            f"{PROCESSING}/input/model",
            "--test",
            f"{PROCESSING}/input/test",
            "--out",
            f"{PROCESSING}/output/evaluation",
            "--gates",
            MEASURE_ONLY_GATES,
            # The Champion step draws the report's plot; these would go unread.
            "--plots",
            "false",
        ],
        inputs=_model_and_test(),
        outputs=[
            processing_output(
                "evaluation",
                f"{PROCESSING}/output/evaluation",
                run_uri(spec, "evaluate", "evaluation"),
            )
        ],
        instance_type=_processing_type(),
        property_files=(EVALUATION_REPORT,),
    )


def champion_step(spec: TrainingPipelineSpec, settings: JobSettings) -> Json:
    """Score the registry's champion on the same split; never cached (the champion changes)."""
    return processing_step(
        "Champion",
        settings,
        module="pipelines.jobs.champion",
        description="Score champion and challenger on the same split, compare, apply the gates.",
        arguments=[
            "--group",
            spec.model_package_group,
            "--gates",
            spec.gates.argument(),
            "--model-dir",
            f"{PROCESSING}/input/model",
            "--test",
            f"{PROCESSING}/input/test",
            "--out",
            f"{PROCESSING}/output/champion",
        ],
        inputs=_model_and_test(),
        outputs=[
            processing_output(
                "champion", f"{PROCESSING}/output/champion", run_uri(spec, "champion", "champion")
            )
        ],
        instance_type=_processing_type(),
        environment=_region(spec),
        property_files=(CHAMPION_REPORT,),
        cached=False,
    )


JOB_STEP_BUILDERS: tuple[JobStepBuilder, ...] = (
    dataset_step,
    validate_step,
    features_step,
    train_step,
    evaluate_step,
    champion_step,
)
