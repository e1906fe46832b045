"""The training pipeline assembled with the SageMaker Python SDK v3, to check the pure builder.

``pipelines.training`` writes the definition as plain data because the SDK
costs about six seconds to import and asks for a default bucket. This module
builds the same pipeline from SDK objects (parameters, processing steps,
property files, ``JsonGet`` conditions, retry policies, cache config, the fail
step) and lets the SDK serialise it; the tests compare the two. The training
and register steps keep the builder's arguments inside an SDK step, because
``ModelTrainer`` and ``ModelStep`` upload their own driver code and need a
``sagemaker.serve`` model.
"""

from __future__ import annotations

import json
from typing import Any

from pipelines import steps as dict_steps
from pipelines.training import (
    EVALUATION_REPORT,
    FEATURES_REPORT,
    PR_AUC_PATH,
    RECALL_PATH,
    VALIDATION_REPORT,
    TrainingPipelineSpec,
    build_steps,
    parameters,
)

SDK_BUCKET = "sagemaker-us-east-1-123456789012"


def sdk_definition(spec: TrainingPipelineSpec) -> str:
    """The definition as ``Pipeline.definition()`` writes it (run inside moto's ``mock_aws``)."""
    from sagemaker.core.workflow.conditions import ConditionGreaterThanOrEqualTo
    from sagemaker.core.workflow.functions import Join, JsonGet
    from sagemaker.core.workflow.parameters import ParameterFloat, ParameterString
    from sagemaker.core.workflow.pipeline_context import PipelineSession
    from sagemaker.mlops.workflow import ConditionStep, FailStep, Pipeline

    session = PipelineSession(default_bucket=SDK_BUCKET)
    params: dict[str, Any] = {}
    for item in parameters(spec):
        kind = ParameterFloat if item["Type"] == "Float" else ParameterString
        params[item["Name"]] = kind(item["Name"], default_value=item["DefaultValue"])
    reference = {step["Name"]: step for step in build_steps(spec)}
    validate = _processing(reference["Validate"], spec, params, session, VALIDATION_REPORT)
    features = _processing(
        reference["Features"],
        spec,
        params,
        session,
        FEATURES_REPORT,
        upstream={"validated": validate},
    )
    train = _prebuilt(reference["Train"], "Training", "DescribeTrainingJobResponse")
    evaluate = _processing(
        reference["Evaluate"],
        spec,
        params,
        session,
        EVALUATION_REPORT,
        upstream={"model": train, "test": features},
    )
    pr_auc = JsonGet(
        step_name=evaluate.name, property_file=EVALUATION_REPORT.name, json_path=PR_AUC_PATH
    )
    recall = JsonGet(
        step_name=evaluate.name, property_file=EVALUATION_REPORT.name, json_path=RECALL_PATH
    )
    gate = reference["CheckGates"]["Arguments"]
    register = _prebuilt(gate["IfSteps"][0], "RegisterModel", "DescribeModelPackageOutput")
    failed = gate["ElseSteps"][0]
    fail = FailStep(
        name=failed["Name"],
        description=failed["Description"],
        error_message=Join(
            on=" ",
            values=[
                _sdk_value(v, params, pr_auc, recall)
                for v in failed["Arguments"]["ErrorMessage"]["Std:Join"]["Values"]
            ],
        ),
    )
    conditions = [
        ConditionGreaterThanOrEqualTo(left=pr_auc, right=spec.gates.min_pr_auc),
        ConditionGreaterThanOrEqualTo(left=recall, right=spec.gates.min_recall_at_precision),
        ConditionGreaterThanOrEqualTo(left=pr_auc, right=params["ChampionFloorPrAuc"]),
        ConditionGreaterThanOrEqualTo(left=recall, right=params["ChampionFloorRecallAtPrecision"]),
    ]
    condition = ConditionStep(
        name="CheckGates",
        description=reference["CheckGates"]["Description"],
        conditions=conditions,
        if_steps=[register],
        else_steps=[fail],
    )
    pipeline = Pipeline(
        name=spec.pipeline_name,
        parameters=list(params.values()),
        steps=[validate, features, train, evaluate, condition],
        sagemaker_session=session,
    )
    return str(pipeline.definition())


def _sdk_value(value: Any, params: dict[str, Any], pr_auc: Any, recall: Any) -> Any:
    """The SDK object for one part of the fail message."""
    if isinstance(value, dict) and "Get" in value:
        return params[value["Get"].removeprefix("Parameters.")]
    if isinstance(value, dict) and "Std:JsonGet" in value:
        return pr_auc if value["Std:JsonGet"]["Path"] == PR_AUC_PATH else recall
    return value


def _retry_policies(spec: TrainingPipelineSpec) -> list[Any]:
    from sagemaker.mlops.workflow.retry import (
        SageMakerJobExceptionTypeEnum,
        SageMakerJobStepRetryPolicy,
        StepExceptionTypeEnum,
        StepRetryPolicy,
    )

    common = {
        "interval_seconds": dict_steps.RETRY_INTERVAL_SECONDS,
        "backoff_rate": dict_steps.RETRY_BACKOFF_RATE,
        "max_attempts": spec.max_retry_attempts,
    }
    return [
        SageMakerJobStepRetryPolicy(
            exception_types=[
                SageMakerJobExceptionTypeEnum.INTERNAL_ERROR,
                SageMakerJobExceptionTypeEnum.CAPACITY_ERROR,
                SageMakerJobExceptionTypeEnum.RESOURCE_LIMIT,
            ],
            **common,
        ),
        StepRetryPolicy(
            exception_types=[StepExceptionTypeEnum.THROTTLING, StepExceptionTypeEnum.SERVICE_FAULT],
            **common,
        ),
    ]


def _processing(
    reference: dict[str, Any],
    spec: TrainingPipelineSpec,
    params: dict[str, Any],
    session: Any,
    report: dict_steps.PropertyFile,
    upstream: dict[str, Any] | None = None,
) -> Any:
    """A ``ProcessingStep`` from ``Processor.run``, configured as the builder configures it."""
    from sagemaker.core.processing import Processor
    from sagemaker.core.shapes import (
        ProcessingInput,
        ProcessingOutput,
        ProcessingS3Input,
        ProcessingS3Output,
    )
    from sagemaker.core.workflow.execution_variables import ExecutionVariables
    from sagemaker.core.workflow.functions import Join
    from sagemaker.core.workflow.properties import PropertyFile
    from sagemaker.mlops.workflow import CacheConfig, ProcessingStep

    arguments = reference["Arguments"]
    app = arguments["AppSpecification"]
    processor = Processor(
        role=arguments["RoleArn"],
        image_uri=app["ImageUri"],
        instance_count=1,
        instance_type=params["ProcessingInstanceType"],
        entrypoint=app["ContainerEntrypoint"],
        volume_kms_key=spec.kms_key_arn,
        output_kms_key=spec.kms_key_arn,
        max_runtime_in_seconds=arguments["StoppingCondition"]["MaxRuntimeInSeconds"],
        sagemaker_session=session,
        env=arguments["Environment"],
    )

    def source(name: str, uri: Any) -> Any:
        step = (upstream or {}).get(name)
        if step is None:
            return params["InputDataUri"] if isinstance(uri, dict) else uri
        if "ModelArtifacts" in json.dumps(uri):
            return step.properties.ModelArtifacts.S3ModelArtifacts
        output = uri["Get"].split("'")[1]
        return step.properties.ProcessingOutputConfig.Outputs[output].S3Output.S3Uri

    def destination(uri: Any) -> Any:
        if not isinstance(uri, dict):
            return uri
        values = [
            ExecutionVariables.PIPELINE_EXECUTION_ID if isinstance(v, dict) else v
            for v in uri["Std:Join"]["Values"]
        ]
        return Join(on="/", values=values)

    inputs = [
        ProcessingInput(
            input_name=item["InputName"],
            s3_input=ProcessingS3Input(
                s3_uri=source(item["InputName"], item["S3Input"]["S3Uri"]),
                local_path=item["S3Input"]["LocalPath"],
                s3_data_type="S3Prefix",
                s3_input_mode="File",
                s3_data_distribution_type="FullyReplicated",
                s3_compression_type="None",
            ),
        )
        for item in arguments["ProcessingInputs"]
    ]
    outputs = [
        ProcessingOutput(
            output_name=item["OutputName"],
            s3_output=ProcessingS3Output(
                s3_uri=destination(item["S3Output"]["S3Uri"]),
                local_path=item["S3Output"]["LocalPath"],
                s3_upload_mode="EndOfJob",
            ),
        )
        for item in arguments["ProcessingOutputConfig"]["Outputs"]
    ]
    step_args = processor.run(inputs=inputs, outputs=outputs, arguments=app["ContainerArguments"])
    return ProcessingStep(
        name=reference["Name"],
        step_args=step_args,
        description=reference["Description"],
        property_files=[
            PropertyFile(name=report.name, output_name=report.output_name, path=report.path)
        ],
        cache_config=CacheConfig(enable_caching=True, expire_after=spec.cache_expiry),
        retry_policies=_retry_policies(spec),
    )


def _prebuilt(reference: dict[str, Any], step_type: str, shape: str) -> Any:
    """An SDK step carrying the builder's arguments, retry policies and cache config."""
    from sagemaker.core.workflow.properties import Properties
    from sagemaker.mlops.workflow.steps import Step, StepTypeEnum

    class PrebuiltStep(Step):
        def __init__(self) -> None:
            super().__init__(
                name=reference["Name"],
                step_type=StepTypeEnum(step_type),
                description=reference["Description"],
            )
            self._properties = Properties(step_name=reference["Name"], step=self, shape_name=shape)

        @property
        def arguments(self) -> dict[str, Any]:
            return dict(reference["Arguments"])

        @property
        def properties(self) -> Any:
            return self._properties

        def to_request(self) -> dict[str, Any]:
            request = dict(super().to_request())
            for key in ("RetryPolicies", "CacheConfig"):
                if key in reference:
                    request[key] = reference[key]
            return request

    return PrebuiltStep()
