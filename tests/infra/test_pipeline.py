"""Training pipeline: definition from the stack's resources, schedule, scoped roles."""

from __future__ import annotations

import json

import pytest

from tests.infra.conftest import policy

PIPELINE = "aws:sagemaker/pipeline:Pipeline"
SCHEDULE = "aws:scheduler/schedule:Schedule"


def definition(plan) -> dict:
    return json.loads(plan.one(PIPELINE)["inputs"]["pipelineDefinition"])


def test_pipeline_is_named_and_runs_as_the_pipeline_role(plan_for) -> None:
    plan = plan_for("prod")
    pipeline = plan.one(PIPELINE)["inputs"]
    assert pipeline["pipelineName"] == "mlops-prod-training"
    assert pipeline["roleArn"] == "arn:aws:iam::123456789012:role/mlops-prod-pipeline"


def test_definition_uses_the_stacks_buckets_key_group_and_execution_role(plan_for) -> None:
    plan = plan_for("prod")
    text = plan.one(PIPELINE)["inputs"]["pipelineDefinition"]
    document = json.loads(text)
    validate = document["Steps"][0]["Arguments"]
    assert validate["RoleArn"] == "arn:aws:iam::123456789012:role/mlops-prod-execution"
    key_arn = plan.one("aws:kms/key:Key")["outputs"]["arn"]
    assert validate["ProcessingOutputConfig"]["KmsKeyId"] == key_arn
    from pipelines.definitions.training import flatten_steps

    register = next(s for s in flatten_steps(document) if s["Name"] == "Register")["Arguments"]
    assert register["ModelPackageGroupName"] == "mlops-prod-fraud-models"
    assert "mlops-prod-artifacts-123456789012-us-east-1" in text


@pytest.mark.parametrize(
    ("stack", "status"),
    [
        ("dev", "Approved"),
        ("staging", "PendingManualApproval"),
        ("prod", "PendingManualApproval"),
    ],
)
def test_approval_status_parameter_comes_from_the_stack(plan_for, stack: str, status: str) -> None:
    parameters = {p["Name"]: p for p in definition(plan_for(stack))["Parameters"]}
    assert parameters["ModelApprovalStatus"]["DefaultValue"] == status


def test_schedule_is_disabled_in_dev_and_hourly_in_prod(plan_for) -> None:
    dev, prod = plan_for("dev").one(SCHEDULE)["inputs"], plan_for("prod").one(SCHEDULE)["inputs"]
    assert dev["state"] == "DISABLED"
    assert prod["state"] == "ENABLED"
    assert prod["scheduleExpression"] == "rate(1 hour)"
    assert prod["name"] == "mlops-prod-training-schedule"
    assert prod["target"]["arn"] == plan_for("prod").one(PIPELINE)["outputs"]["arn"]


def test_schedule_can_be_switched_on_in_dev_by_config(plan_for) -> None:
    schedule = plan_for("dev", "pipeline.scheduleEnabled=true").one(SCHEDULE)["inputs"]
    assert schedule["state"] == "ENABLED"


def test_scheduler_role_may_only_start_this_pipeline_for_this_schedule(plan_for) -> None:
    plan = plan_for("prod")
    role = plan.one("aws:iam/role:Role", "mlops-prod-training-scheduler")
    trust = policy(role, "assumeRolePolicy")["Statement"][0]
    assert trust["Principal"] == {"Service": "scheduler.amazonaws.com"}
    assert trust["Condition"]["StringEquals"]["aws:SourceAccount"] == "123456789012"
    assert trust["Condition"]["ArnEquals"]["aws:SourceArn"].endswith(
        ":schedule/default/mlops-prod-training-schedule"
    )
    start = policy(plan.one("aws:iam/rolePolicy:RolePolicy", "mlops-prod-training-scheduler-start"))
    key_arn = plan.one("aws:kms/key:Key")["outputs"]["arn"]
    assert start["Statement"] == [
        {
            "Sid": "StartThisPipelineOnly",
            "Effect": "Allow",
            "Action": "sagemaker:StartPipelineExecution",
            "Resource": plan.one(PIPELINE)["outputs"]["arn"],
        },
        {
            "Sid": "ReadTheScheduleEncryptedWithTheStackKey",
            "Effect": "Allow",
            "Action": "kms:Decrypt",
            "Resource": key_arn,
        },
    ]
    assert plan.one(SCHEDULE)["inputs"]["kmsKeyArn"] == key_arn


def test_pipeline_role_runs_only_pipeline_named_jobs(plan_for) -> None:
    document = policy(
        plan_for("prod").one(
            "aws:iam/rolePolicy:RolePolicy", "mlops-prod-pipeline-run-pipeline-jobs"
        )
    )
    assert document["Statement"][0]["Resource"] == [
        "arn:aws:sagemaker:us-east-1:123456789012:processing-job/pipelines-*",
        "arn:aws:sagemaker:us-east-1:123456789012:training-job/pipelines-*",
    ]


def test_the_same_stack_synthesises_the_same_definition(plan_for) -> None:
    from infra.plan.engine import synthesize

    again = synthesize("staging").one(PIPELINE)["inputs"]["pipelineDefinition"]
    assert again == plan_for("staging").one(PIPELINE)["inputs"]["pipelineDefinition"]


def test_the_local_runner_walks_the_definition_the_stack_deploys(plan_for) -> None:
    from ops.local.pipeline_runner import local_spec
    from pipelines.definitions.training import definition_json

    plan = plan_for("dev")
    deployed = plan.one(PIPELINE)["inputs"]["pipelineDefinition"]
    local = definition_json(local_spec(plan.config))
    key_arn = plan.one("aws:kms/key:Key")["outputs"]["arn"]
    local_key = "arn:aws:kms:us-east-1:123456789012:alias/mlops-dev-data"
    assert local.replace(local_key, key_arn) == deployed


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_the_deployed_definition_never_sends_records_around_the_feature_store(
    plan_for, stack: str
) -> None:
    from pipelines.jobs.features import OFFLINE_RECORDS_ENV

    assert OFFLINE_RECORDS_ENV not in plan_for(stack).one(PIPELINE)["inputs"]["pipelineDefinition"]


def test_the_schedule_starts_runs_that_say_they_were_scheduled(plan_for) -> None:
    for stack in ("dev", "staging", "prod"):
        target = plan_for(stack).one(SCHEDULE)["inputs"]["target"]
        assert target["sagemakerPipelineParameters"] == {
            "pipelineParameters": [{"name": "RunKind", "value": "scheduled"}]
        }
        definition = json.loads(plan_for(stack).one(PIPELINE)["inputs"]["pipelineDefinition"])
        declared = {p["Name"]: p for p in definition["Parameters"]}["RunKind"]
        assert "scheduled" in declared["EnumValues"]


def test_the_schedule_target_is_one_scheduler_accepts(plan_for) -> None:
    """The planned target's parameters in CreateSchedule's shape, against botocore's model."""
    import botocore.session
    from botocore.validate import ParamValidator

    schedule = plan_for("prod").one(SCHEDULE)["inputs"]
    pairs = schedule["target"]["sagemakerPipelineParameters"]["pipelineParameters"]
    model = botocore.session.get_session().get_service_model("scheduler")
    shape = model.operation_model("CreateSchedule").input_shape
    params = {
        "Name": schedule["name"],
        "ScheduleExpression": schedule["scheduleExpression"],
        "FlexibleTimeWindow": {"Mode": "OFF"},
        "Target": {
            "Arn": "arn:aws:sagemaker:us-east-1:123456789012:pipeline/mlops-prod-training",
            "RoleArn": "arn:aws:iam::123456789012:role/mlops-prod-training-scheduler",
            "SageMakerPipelineParameters": {
                "PipelineParameterList": [{"Name": p["name"], "Value": p["value"]} for p in pairs]
            },
        },
    }
    report = ParamValidator().validate(params, shape)
    assert not report.has_errors(), report.generate_report()


def test_unregistered_dataset_copies_live_as_long_as_raw_data(plan_for) -> None:
    plan = plan_for("staging")
    definition = json.loads(plan.one(PIPELINE)["inputs"]["pipelineDefinition"])
    dataset = next(s for s in definition["Steps"] if s["Name"] == "Dataset")
    arguments = dataset["Arguments"]["AppSpecification"]["ContainerArguments"]
    days = arguments[arguments.index("--retain-unregistered-days") + 1]
    assert days == str(plan.config.storage.raw_expiration_days)
    group = arguments[arguments.index("--model-package-group") + 1]
    assert group == "mlops-staging-fraud-models"
