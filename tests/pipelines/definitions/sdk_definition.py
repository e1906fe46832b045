"""The training pipeline assembled with the SageMaker Python SDK v3, to check the pure builder.

``pipelines.definitions.training`` writes the definition as plain data because the SDK
costs about six seconds to import and asks for a default bucket. This module
builds the same pipeline from SDK objects (parameters, processing steps,
property files, a ``ManifestFile`` input whose URI is a ``JsonGet``,
``JsonGet`` conditions, a condition step nested in another's branch, retry
policies, cache config on and off, the fail step) and lets the SDK serialise
it; the tests compare the two. The training
and register steps keep the builder's arguments inside an SDK step, because
``ModelTrainer`` and ``ModelStep`` upload their own driver code and need a
``sagemaker.serve`` model.
"""

from __future__ import annotations

from typing import Any

from pipelines.definitions import blocks as dict_steps
from pipelines.definitions.training import build_steps, flatten_steps, parameters
from pipelines.definitions.training_spec import (
    CHAMPION_REPORT,
    DATASET_REPORT,
    EVALUATION_REPORT,
    FEATURES_REPORT,
    VALIDATION_REPORT,
    TrainingPipelineSpec,
)

SDK_BUCKET = "sagemaker-us-east-1-123456789012"


def sdk_definition(spec: TrainingPipelineSpec) -> str:
    """The definition as ``Pipeline.definition()`` writes it (run inside moto's ``mock_aws``)."""
    from sagemaker.core.workflow.pipeline_context import PipelineSession
    from sagemaker.mlops.workflow import Pipeline

    session = PipelineSession(default_bucket=SDK_BUCKET)
    params = _sdk_parameters(spec)
    reference = {step["Name"]: step for step in flatten_steps({"Steps": build_steps(spec)})}
    steps = _job_steps(reference, spec, params, session)
    check_new = _gate_steps(reference, params)
    pipeline = Pipeline(
        name=spec.pipeline_name,
        parameters=list(params.values()),
        steps=[*steps, check_new],
        sagemaker_session=session,
    )
    return str(pipeline.definition())


def _sdk_parameters(spec: TrainingPipelineSpec) -> dict[str, Any]:
    """The SDK's parameter objects for the builder's parameters, by name."""
    from sagemaker.core.workflow.parameters import ParameterFloat, ParameterString

    params: dict[str, Any] = {}
    for item in parameters(spec):
        if item["Type"] == "Float":
            params[item["Name"]] = ParameterFloat(item["Name"], default_value=item["DefaultValue"])
        else:
            params[item["Name"]] = ParameterString(
                item["Name"], default_value=item["DefaultValue"], enum_values=item.get("EnumValues")
            )
    return params


def _job_steps(
    reference: dict[str, Any], spec: TrainingPipelineSpec, params: dict[str, Any], session: Any
) -> list[Any]:
    """The job steps, Dataset to Champion, wired as the builder wires them."""
    from sagemaker.core.workflow.functions import JsonGet

    dataset = _processing(reference["Dataset"], spec, params, session, DATASET_REPORT)
    manifest = JsonGet(
        step_name=dataset.name, property_file=DATASET_REPORT.name, json_path="manifest_uri"
    )
    validate = _processing(
        reference["Validate"], spec, params, session, VALIDATION_REPORT, {"data": manifest}
    )
    features = _processing(
        reference["Features"],
        spec,
        params,
        session,
        FEATURES_REPORT,
        upstream={"validated": _output(validate, "validated")},
    )
    train = _prebuilt(reference["Train"], "Training", "DescribeTrainingJobResponse")
    scored = {
        "model": train.properties.ModelArtifacts.S3ModelArtifacts,
        "test": _output(features, "test"),
    }
    evaluate = _processing(
        reference["Evaluate"], spec, params, session, EVALUATION_REPORT, upstream=scored
    )
    champion = _processing(
        reference["Champion"], spec, params, session, CHAMPION_REPORT, upstream=scored
    )
    return [dataset, validate, features, train, evaluate, champion]


def _gate_steps(reference: dict[str, Any], params: dict[str, Any]) -> Any:
    """CheckNewModel, holding CheckGates, holding RegisterModel or the Fail step."""
    from sagemaker.core.workflow.conditions import (
        ConditionEquals,
        ConditionGreaterThanOrEqualTo,
        ConditionLessThanOrEqualTo,
    )
    from sagemaker.core.workflow.functions import Join
    from sagemaker.mlops.workflow import ConditionStep, FailStep

    value = _sdk_value(params)
    gate = reference["CheckGates"]
    register = _prebuilt(
        gate["Arguments"]["IfSteps"][0], "RegisterModel", "DescribeModelPackageOutput"
    )
    failed = gate["Arguments"]["ElseSteps"][0]
    fail = FailStep(
        name=failed["Name"],
        description=failed["Description"],
        error_message=Join(
            on=" ",
            values=[value(v) for v in failed["Arguments"]["ErrorMessage"]["Std:Join"]["Values"]],
        ),
    )
    condition = ConditionStep(
        name=gate["Name"],
        description=gate["Description"],
        conditions=[
            {
                "GreaterThanOrEqualTo": ConditionGreaterThanOrEqualTo,
                "LessThanOrEqualTo": ConditionLessThanOrEqualTo,
            }[c["Type"]](left=value(c["LeftValue"]), right=value(c["RightValue"]))
            for c in gate["Arguments"]["Conditions"]
        ],
        if_steps=[register],
        else_steps=[fail],
    )
    new_model = reference["CheckNewModel"]
    return ConditionStep(
        name=new_model["Name"],
        description=new_model["Description"],
        conditions=[
            ConditionEquals(left=value(c["LeftValue"]), right=value(c["RightValue"]))
            for c in new_model["Arguments"]["Conditions"]
        ],
        if_steps=[condition],
        else_steps=[],
    )


def _sdk_value(params: dict[str, Any]) -> Any:
    """A converter from one value of the builder's conditions and messages to its SDK object."""
    from sagemaker.core.workflow.functions import JsonGet

    reports = {
        "Dataset": DATASET_REPORT,
        "Evaluate": EVALUATION_REPORT,
        "Champion": CHAMPION_REPORT,
        "Features": FEATURES_REPORT,
    }

    def value(item: Any) -> Any:
        if isinstance(item, dict) and "Std:JsonGet" in item:
            found = item["Std:JsonGet"]
            step = found["PropertyFile"]["Get"].split(".")[1]
            return JsonGet(
                step_name=step, property_file=reports[step].name, json_path=found["Path"]
            )
        if isinstance(item, dict) and "Get" in item:
            return params[item["Get"].removeprefix("Parameters.")]
        return item

    return value


def _output(step: Any, name: str) -> Any:
    return step.properties.ProcessingOutputConfig.Outputs[name].S3Output.S3Uri


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

    def argument(item: Any) -> Any:
        if isinstance(item, dict) and "Get" in item:
            return params[item["Get"].removeprefix("Parameters.")]
        return item

    step_args = processor.run(
        inputs=_processing_inputs(arguments, upstream or {}),
        outputs=_processing_outputs(arguments),
        arguments=[argument(item) for item in app["ContainerArguments"]],
    )
    cache = reference["CacheConfig"]
    return ProcessingStep(
        name=reference["Name"],
        step_args=step_args,
        description=reference["Description"],
        property_files=[
            PropertyFile(name=report.name, output_name=report.output_name, path=report.path)
        ],
        cache_config=CacheConfig(
            enable_caching=cache["Enabled"], expire_after=cache.get("ExpireAfter")
        ),
        retry_policies=_retry_policies(spec),
    )


def _processing_inputs(arguments: dict[str, Any], upstream: dict[str, Any]) -> list[Any]:
    """The step's inputs, an upstream step's property in place of a literal URI where given."""
    from sagemaker.core.shapes import ProcessingInput, ProcessingS3Input

    return [
        ProcessingInput(
            input_name=item["InputName"],
            s3_input=ProcessingS3Input(
                s3_uri=upstream.get(item["InputName"], item["S3Input"]["S3Uri"]),
                local_path=item["S3Input"]["LocalPath"],
                s3_data_type=item["S3Input"]["S3DataType"],
                s3_input_mode="File",
                s3_data_distribution_type="FullyReplicated",
                s3_compression_type="None",
            ),
        )
        for item in arguments.get("ProcessingInputs", [])
    ]


def _processing_outputs(arguments: dict[str, Any]) -> list[Any]:
    """The step's outputs, a URI joined with the execution id where the builder joins one."""
    from sagemaker.core.shapes import ProcessingOutput, ProcessingS3Output
    from sagemaker.core.workflow.execution_variables import ExecutionVariables
    from sagemaker.core.workflow.functions import Join

    def destination(uri: Any) -> Any:
        if not isinstance(uri, dict):
            return uri
        values = [
            ExecutionVariables.PIPELINE_EXECUTION_ID if isinstance(v, dict) else v
            for v in uri["Std:Join"]["Values"]
        ]
        return Join(on="/", values=values)

    return [
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
