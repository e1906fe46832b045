"""The pipeline definition: step order, retries, cache, gates, parameters, determinism."""

from __future__ import annotations

import json
import re

from pipelines.definitions.training import (
    JOB_STEPS,
    STEP_ORDER,
    UNCACHED_STEPS,
    Gates,
    build_definition,
    definition_json,
    flatten_steps,
)
from pipelines.definitions.training_jobs import JOB_STEP_BUILDERS, job_settings
from tests.factories import make_spec

REQUIRED_RETRIES = {
    "SageMaker.JOB_INTERNAL_ERROR",
    "SageMaker.CAPACITY_ERROR",
    "SageMaker.RESOURCE_LIMIT",
    "Step.THROTTLING",
    "Step.SERVICE_FAULT",
}


def by_name(spec) -> dict:
    return {s["Name"]: s for s in flatten_steps(build_definition(spec))}


def test_each_job_step_builder_builds_the_step_it_is_named_for(spec) -> None:
    settings = job_settings(spec)
    built = [build(spec, settings) for build in JOB_STEP_BUILDERS]
    assert [b.__name__ for b in JOB_STEP_BUILDERS] == [
        f"{step['Name'].lower()}_step" for step in built
    ]
    assert [step["Name"] for step in built] == list(STEP_ORDER[: len(built)])


def test_steps_version_validate_features_train_evaluate_compare_then_the_gates(spec) -> None:
    steps = flatten_steps(build_definition(spec))
    assert [s["Name"] for s in steps] == list(STEP_ORDER)
    assert [s["Type"] for s in steps] == [
        "Processing",
        "Processing",
        "Processing",
        "Training",
        "Processing",
        "Processing",
        "Condition",
        "Condition",
        "RegisterModel",
        "Fail",
    ]


def test_dataset_step_versions_the_input_parameter_on_every_run(spec) -> None:
    dataset = by_name(spec)["Dataset"]
    app = dataset["Arguments"]["AppSpecification"]
    assert app["ContainerEntrypoint"][-1] == "pipelines.jobs.dataset"
    args = app["ContainerArguments"]
    assert args[args.index("--input-uri") + 1] == {"Get": "Parameters.InputDataUri"}
    assert args[args.index("--datasets-uri") + 1] == (
        "s3://mlops-dev-data-123456789012-us-east-1/datasets/"
    )
    assert dataset["CacheConfig"] == {"Enabled": False}
    assert dataset["PropertyFiles"] == [
        {"PropertyFileName": "DatasetVersion", "OutputName": "dataset", "FilePath": "dataset.json"}
    ]


def test_validate_reads_the_data_through_the_versions_manifest(spec) -> None:
    data = by_name(spec)["Validate"]["Arguments"]["ProcessingInputs"][0]
    assert data["InputName"] == "data"
    assert data["S3Input"]["S3DataType"] == "ManifestFile"
    assert data["S3Input"]["S3Uri"] == {
        "Std:JsonGet": {
            "PropertyFile": {"Get": "Steps.Dataset.PropertyFiles.DatasetVersion"},
            "Path": "manifest_uri",
        }
    }
    assert "Parameters.InputDataUri" not in json.dumps(by_name(spec)["Validate"])


def test_each_step_reads_the_previous_steps_output(spec) -> None:
    steps = {s["Name"]: s for s in flatten_steps(build_definition(spec))}
    features_in = steps["Features"]["Arguments"]["ProcessingInputs"][0]["S3Input"]["S3Uri"]
    assert features_in == {
        "Get": "Steps.Validate.ProcessingOutputConfig.Outputs['validated'].S3Output.S3Uri"
    }
    train_in = steps["Train"]["Arguments"]["InputDataConfig"][0]
    assert train_in["ChannelName"] == "train"
    assert "Steps.Features" in json.dumps(train_in)
    model_in = steps["Evaluate"]["Arguments"]["ProcessingInputs"][0]["S3Input"]["S3Uri"]
    assert model_in == {"Get": "Steps.Train.ModelArtifacts.S3ModelArtifacts"}


def test_every_job_step_retries_transient_failures_and_caches(spec) -> None:
    steps = {s["Name"]: s for s in flatten_steps(build_definition(spec))}
    for name in (*JOB_STEPS, *UNCACHED_STEPS):
        retried = {t for policy in steps[name]["RetryPolicies"] for t in policy["ExceptionType"]}
        assert retried == REQUIRED_RETRIES, name
        assert all(policy["MaxAttempts"] == 5 for policy in steps[name]["RetryPolicies"])
    for name in JOB_STEPS:
        assert steps[name]["CacheConfig"] == {"Enabled": True, "ExpireAfter": "P30D"}


def test_champion_step_runs_every_time_on_the_challenger_and_the_test_split(spec) -> None:
    champion = by_name(spec)["Champion"]
    assert champion["CacheConfig"] == {"Enabled": False}
    sources = [i["S3Input"]["S3Uri"] for i in champion["Arguments"]["ProcessingInputs"]]
    assert sources == [
        {"Get": "Steps.Train.ModelArtifacts.S3ModelArtifacts"},
        {"Get": "Steps.Features.ProcessingOutputConfig.Outputs['test'].S3Output.S3Uri"},
    ]
    args = champion["Arguments"]["AppSpecification"]["ContainerArguments"]
    assert args[args.index("--group") + 1] == "mlops-dev-fraud-models"
    assert Gates.parse(args[args.index("--gates") + 1]) == spec.gates


def test_evaluate_only_measures_and_draws_no_plot(spec) -> None:
    args = by_name(spec)["Evaluate"]["Arguments"]["AppSpecification"]["ContainerArguments"]
    assert args[args.index("--gates") + 1] == "none"
    assert args[args.index("--plots") + 1] == "false"


def test_retry_attempts_and_cache_expiry_follow_the_config() -> None:
    definition = build_definition(make_spec(max_retry_attempts=2, cache_expiry="PT12H"))
    train = next(s for s in definition["Steps"] if s["Name"] == "Train")
    assert train["RetryPolicies"][0]["MaxAttempts"] == 2
    assert train["CacheConfig"]["ExpireAfter"] == "PT12H"


def test_evaluation_is_a_property_file_the_gate_reads(spec) -> None:
    steps = {s["Name"]: s for s in flatten_steps(build_definition(spec))}
    assert steps["Evaluate"]["PropertyFiles"] == [
        {
            "PropertyFileName": "EvaluationReport",
            "OutputName": "evaluation",
            "FilePath": "evaluation.json",
        }
    ]
    conditions = steps["CheckGates"]["Arguments"]["Conditions"]
    champion = {"Get": "Steps.Champion.PropertyFiles.ChampionReport"}
    assert all(c["LeftValue"]["Std:JsonGet"]["PropertyFile"] == champion for c in conditions)
    gated = {
        c["LeftValue"]["Std:JsonGet"]["Path"].removeprefix("gate_values."): (
            c["Type"],
            c["RightValue"],
        )
        for c in conditions
    }
    at_least = "GreaterThanOrEqualTo"
    assert gated == {
        "test_positives": (at_least, 30.0),
        "threshold_fallback": ("LessThanOrEqualTo", 0.0),
        "flagged": (at_least, 1.0),
        "precision": (at_least, 0.3),
        "recall": (at_least, 0.05),
        "pr_auc": (at_least, 0.3),
        "pr_auc_difference_low": (at_least, -0.05),
        "recall_difference_low": (at_least, -0.1),
        "precision_difference_low": (at_least, -0.15),
    }


def test_only_a_model_the_group_does_not_hold_goes_to_the_gates(spec) -> None:
    new_model = build_definition(spec)["Steps"][-1]
    assert new_model["Name"] == "CheckNewModel"
    (condition,) = new_model["Arguments"]["Conditions"]
    assert condition["Type"] == "Equals" and condition["RightValue"] == 1
    assert condition["LeftValue"]["Std:JsonGet"]["Path"] == "challenger.is_new"
    assert [s["Name"] for s in new_model["Arguments"]["IfSteps"]] == ["CheckGates"]
    assert new_model["Arguments"]["ElseSteps"] == []


def test_gate_registers_or_fails_with_the_reason(spec) -> None:
    gate = by_name(spec)["CheckGates"]["Arguments"]
    assert [s["Name"] for s in gate["IfSteps"]] == ["Register"]
    assert [s["Name"] for s in gate["ElseSteps"]] == ["GateFailed"]
    message = json.dumps(gate["ElseSteps"][0]["Arguments"]["ErrorMessage"])
    assert "decision.reason" in message and "champion.package_arn" in message


def test_no_champion_floor_parameters_remain(spec) -> None:
    names = [p["Name"] for p in build_definition(spec)["Parameters"]]
    assert names == [
        "InputDataUri",
        "ProcessingInstanceType",
        "TrainingInstanceType",
        "ModelApprovalStatus",
        "RunKind",
    ]
    assert "Parameters.ChampionFloor" not in definition_json(spec)


def test_only_the_uncached_dataset_step_reads_the_run_kind(spec) -> None:
    # A cached step keyed on RunKind would retrain an alarm-started run on data a scheduled run
    # already trained on; the Dataset step runs every time anyway and records the kind.
    readers = [
        step["Name"]
        for step in flatten_steps(build_definition(spec))
        if "Parameters.RunKind" in json.dumps(step)
    ]
    assert readers == ["Dataset"]
    assert by_name(spec)["Dataset"]["CacheConfig"] == {"Enabled": False}


def test_register_records_metrics_data_hash_and_image(spec) -> None:
    register = by_name(spec)["Register"]["Arguments"]
    assert register["ModelPackageGroupName"] == "mlops-dev-fraud-models"
    assert register["ModelApprovalStatus"] == {"Get": "Parameters.ModelApprovalStatus"}
    statistics = register["ModelMetrics"]["ModelQuality"]["Statistics"]
    assert statistics["ContentType"] == "application/json"
    assert "evaluation.json" in json.dumps(statistics["S3Uri"])
    metadata = register["CustomerMetadataProperties"]
    assert metadata["ImageUri"] == spec.image_uri
    assert metadata["DataSha256"]["Std:JsonGet"]["Path"] == "data_sha256"


def test_register_names_the_dataset_version_as_lineage(spec) -> None:
    metadata = by_name(spec)["Register"]["Arguments"]["CustomerMetadataProperties"]
    dataset = {"Get": "Steps.Dataset.PropertyFiles.DatasetVersion"}
    assert metadata["DatasetVersion"]["Std:JsonGet"] == {"PropertyFile": dataset, "Path": "version"}
    assert metadata["DatasetManifestUri"]["Std:JsonGet"] == {
        "PropertyFile": dataset,
        "Path": "manifest_uri",
    }
    assert metadata["ModelSha256"]["Std:JsonGet"]["Path"] == "challenger.model_sha256"


def test_parameters_carry_the_stack_defaults(spec) -> None:
    parameters = {p["Name"]: p for p in build_definition(spec)["Parameters"]}
    assert (
        parameters["InputDataUri"]["DefaultValue"]
        == "s3://mlops-dev-data-123456789012-us-east-1/raw/"
    )
    assert parameters["TrainingInstanceType"]["DefaultValue"] == "ml.m5.xlarge"
    assert parameters["ModelApprovalStatus"]["DefaultValue"] == "Approved"
    pending = build_definition(make_spec(approval_status="PendingManualApproval"))
    assert pending["Parameters"][3]["DefaultValue"] == "PendingManualApproval"


def test_bad_input_is_quarantined_in_the_data_bucket(spec) -> None:
    validate = by_name(spec)["Validate"]["Arguments"]
    quarantine = validate["ProcessingOutputConfig"]["Outputs"][1]
    assert quarantine["OutputName"] == "quarantine"
    assert (
        quarantine["S3Output"]["S3Uri"]["Std:Join"]["Values"][0]
        == "s3://mlops-dev-data-123456789012-us-east-1/quarantine"
    )


def test_same_spec_gives_byte_identical_json_without_timestamps(spec) -> None:
    first, second = definition_json(spec), definition_json(make_spec())
    assert first == second
    assert not re.search(r"20\d\d-\d\d-\d\dT\d\d", first)
    other_image = spec.image_uri.replace("a" * 64, "b" * 64)
    assert definition_json(make_spec(image_uri=other_image)) != first


def test_jobs_run_in_the_stack_vpc_when_one_is_given() -> None:
    definition = build_definition(
        make_spec(subnet_ids=("subnet-a", "subnet-b"), security_group_ids=("sg-a",))
    )
    _, validate, _, train = definition["Steps"][:4]
    assert validate["Arguments"]["NetworkConfig"]["VpcConfig"] == {
        "SecurityGroupIds": ["sg-a"],
        "Subnets": ["subnet-a", "subnet-b"],
    }
    assert train["Arguments"]["VpcConfig"]["Subnets"] == ["subnet-a", "subnet-b"]


def job_steps(definition: dict) -> list[dict]:
    return [s for s in flatten_steps(definition) if s["Type"] in ("Processing", "Training")]


def test_every_job_step_runs_its_module_with_python3_in_the_image(spec) -> None:
    modules = {}
    for step in job_steps(build_definition(spec)):
        arguments = step["Arguments"]
        app = arguments.get("AppSpecification") or arguments["AlgorithmSpecification"]
        image = app.get("ImageUri") or app.get("TrainingImage")
        assert image == spec.image_uri
        assert app["ContainerEntrypoint"][:2] == ["python3", "-m"]
        modules[step["Name"]] = app["ContainerEntrypoint"]
    assert modules == {
        "Dataset": ["python3", "-m", "pipelines.jobs.dataset"],
        "Champion": ["python3", "-m", "pipelines.jobs.champion"],
        "Validate": ["python3", "-m", "ml.validate"],
        "Features": ["python3", "-m", "pipelines.jobs.features"],
        "Train": ["python3", "-m", "ml.train"],
        "Evaluate": ["python3", "-m", "ml.evaluate"],
    }


def test_no_step_downloads_a_code_archive(spec) -> None:
    for step in job_steps(build_definition(spec)):
        arguments = step["Arguments"]
        names = [i["InputName"] for i in arguments.get("ProcessingInputs", [])]
        names += [c["ChannelName"] for c in arguments.get("InputDataConfig", [])]
        assert "code" not in names
    assert "sourcedir.tar.gz" not in definition_json(spec)


def test_registered_model_serves_from_the_project_image_itself(spec) -> None:
    register = by_name(spec)["Register"]["Arguments"]
    (container,) = register["InferenceSpecification"]["Containers"]
    assert container["Image"] == spec.image_uri
    assert not {k for k in container["Environment"] if k.startswith("SAGEMAKER_")}
