"""Every component takes one shape, as CDK constructs do, and grants and metrics have one form."""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import pkgutil
import typing

import pulumi
import pytest

import infra.components
from infra.naming import StackNames

ACCOUNT = "123456789012"


def component_classes() -> list[type[pulumi.ComponentResource]]:
    found = {}
    for info in pkgutil.iter_modules(infra.components.__path__):
        module = importlib.import_module(f"infra.components.{info.name}")
        for value in vars(module).values():
            if (
                inspect.isclass(value)
                and issubclass(value, pulumi.ComponentResource)
                and value.__module__ == module.__name__
            ):
                found[value.__name__] = value
    return [found[name] for name in sorted(found)]


COMPONENTS = component_classes()


def test_every_component_module_is_found() -> None:
    names = {cls.__name__ for cls in COMPONENTS}
    assert {"StackStorage", "ModelEndpoint", "DriftAlarms", "QualityAlarms"} <= names
    assert len(names) >= 18


@pytest.mark.parametrize("cls", COMPONENTS, ids=lambda cls: cls.__name__)
def test_a_component_takes_name_context_args_and_options(cls: type) -> None:
    signature = inspect.signature(cls.__init__)
    assert list(signature.parameters) == ["self", "name", "context", "args", "opts"]
    assert signature.parameters["opts"].default is None
    args = typing.get_type_hints(cls.__init__)["args"]
    assert args.__name__ == f"{cls.__name__}Args"
    assert dataclasses.is_dataclass(args) and args.__dataclass_params__.frozen


@pytest.mark.parametrize("cls", COMPONENTS, ids=lambda cls: cls.__name__)
def test_a_grant_takes_the_grantee_role_and_returns_one_policy(cls: type) -> None:
    import pulumi_aws as aws

    for name, method in inspect.getmembers(cls, inspect.isfunction):
        if not name.startswith("grant_"):
            continue
        hints = typing.get_type_hints(method)
        assert list(inspect.signature(method).parameters)[1] == "role", name
        assert hints["role"] is aws.iam.Role, name
        assert hints["return"] is aws.iam.RolePolicy, name


def test_the_tools_find_every_resource_by_the_name_the_plan_gives_it(plan_for) -> None:
    plan = plan_for("prod")
    names = StackNames(plan.config)
    buckets = {r["inputs"]["bucket"] for r in plan.of_type("aws:s3/bucket:Bucket")}
    assert {names.data_bucket(ACCOUNT), names.artifacts_bucket(ACCOUNT)} <= buckets
    assert plan.one("aws:kms/alias:Alias")["inputs"]["name"] == names.key_alias
    group = plan.one("aws:sagemaker/modelPackageGroup:ModelPackageGroup")["inputs"]
    assert group["modelPackageGroupName"] == names.model_group
    assert plan.one("aws:ecr/repository:Repository")["inputs"]["name"] == names.image_repository
    store = plan.one("aws:sagemaker/featureGroup:FeatureGroup")["inputs"]
    assert store["featureGroupName"] == names.feature_group
    pipeline = plan.one("aws:sagemaker/pipeline:Pipeline", names.training_pipeline)
    assert pipeline["inputs"]["pipelineName"] == names.training_pipeline
    role = plan.one("aws:iam/role:Role", names.execution_role)["inputs"]
    assert role["name"] == names.execution_role


def test_every_alarm_is_made_from_a_metric_of_the_component_that_emits_it() -> None:
    from pathlib import Path

    folder = Path(infra.components.__path__[0])
    making = sorted(
        p.name for p in folder.glob("*.py") if "cloudwatch.MetricAlarm(" in p.read_text()
    )
    assert making == ["metric.py"]
