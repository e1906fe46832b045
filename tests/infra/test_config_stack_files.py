"""Stack files state only what differs from their environment's defaults, and match the schema."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft7Validator

from infra.config.loading import keys_set_to_defaults, resolve
from infra.config.reference import write
from infra.config.schema import SCHEMA_FILE, render_schema, schema_file_text
from infra.config.stack_file import read_stack_file, stack_file

STACKS = ("dev", "staging", "prod")
MODELINE = "# yaml-language-server: $schema=./stack.schema.json"


def assert_states_only_differences(stack: str, path: Path) -> None:
    repeated = keys_set_to_defaults(stack, read_stack_file(path))
    assert not repeated, (
        f"{path} sets {', '.join(repeated)} to the value it has anyway; remove them "
        "(defaults live in infra/config/defaults.py)"
    )


@pytest.mark.parametrize("stack", STACKS)
def test_a_stack_file_sets_no_key_to_its_default(stack: str) -> None:
    assert_states_only_differences(stack, stack_file(stack))


def test_a_stack_file_that_repeats_its_defaults_fails_the_check(tmp_path: Path) -> None:
    fixture = tmp_path / "Pulumi.prod.yaml"
    fixture.write_text(
        "config:\n"
        "  aws:region: us-east-1\n"
        "  mlops:environment: prod\n"
        "  mlops:protect: true\n"
        "  mlops:serving:\n"
        "    instanceCount: 4\n"
        "    rollout:\n"
        "      canaryPercent: 10\n"
        "  mlops:storage:\n"
        "    objectLock: {enabled: true, mode: COMPLIANCE}\n",
        encoding="utf-8",
    )
    with pytest.raises(AssertionError, match=r"sets environment, protect, serving\.rollout"):
        assert_states_only_differences("prod", fixture)
    assert keys_set_to_defaults("prod", read_stack_file(fixture)) == [
        "environment",
        "protect",
        "serving.rollout.canaryPercent",
        "storage.objectLock.enabled",
    ]


def test_values_that_differ_are_not_reported() -> None:
    flat = {
        "aws:region": "eu-west-1",
        "mlops:region": "us-east-1",  # differs from the provider's region it would take
        "mlops:serving": {"instanceCount": 3, "serverless": {"maxConcurrency": 5}},
        "mlops:tags": {"team": "fraud"},
    }
    assert keys_set_to_defaults("staging", flat) == []


def test_a_region_equal_to_the_providers_is_reported() -> None:
    flat = {"aws:region": "eu-west-1", "mlops:region": "eu-west-1"}
    assert keys_set_to_defaults("dev", flat) == ["region"]


def test_a_stack_of_another_name_must_state_its_environment() -> None:
    flat = {"mlops:environment": "dev", "mlops:storage": {"forceDestroy": True}}
    assert keys_set_to_defaults("sandbox", flat) == ["storage.forceDestroy"]


@pytest.mark.parametrize("stack", STACKS)
def test_a_stack_file_names_the_schema_for_editors(stack: str) -> None:
    first = stack_file(stack).read_text(encoding="utf-8").splitlines()[0]
    assert first == MODELINE
    assert (stack_file(stack).parent / "stack.schema.json").is_file()


def test_the_published_schema_matches_the_model() -> None:
    assert schema_file_text() == render_schema(), (
        f"{SCHEMA_FILE} is stale: run .venv/bin/python -m infra.config.reference --write"
    )


@pytest.fixture(scope="module")
def validator() -> Draft7Validator:
    schema = json.loads(render_schema())
    Draft7Validator.check_schema(schema)
    return Draft7Validator(schema)


def errors(validator: Draft7Validator, document: Any) -> list[str]:
    return [error.message for error in validator.iter_errors(document)]


@pytest.mark.parametrize("stack", STACKS)
def test_every_stack_file_is_valid_under_the_schema(validator, stack: str) -> None:
    document = yaml.safe_load(stack_file(stack).read_text(encoding="utf-8"))
    assert errors(validator, document) == []


@pytest.mark.parametrize("stack", STACKS)
def test_a_stack_file_stating_every_value_is_valid_under_the_schema(validator, stack) -> None:
    values = resolve(stack, {}).model_dump(mode="json", by_alias=True, exclude_none=True)
    config = {f"mlops:{key}": value for key, value in values.items()}
    assert errors(validator, {"config": {"aws:region": "us-east-1", **config}}) == []


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"mlops:servng": {}}, "'mlops:servng' is not valid"),
        ({"mlops:serving": {"instanceCount": "two"}}, "'two' is not of type 'integer'"),
        ({"mlops:serving": {"rollout": {"stratgy": "canary"}}}, "'stratgy' was unexpected"),
        ({"mlops:pipeline": {"approvalStatus": "Yes"}}, "'Yes' is not one of"),
        ({"aws:region": "mars"}, "does not match"),
        ({"mlops:githubToken": "plain text"}, "is not of type 'object'"),
    ],
)
def test_the_schema_refuses_what_the_model_refuses(validator, config, message) -> None:
    found = errors(validator, {"config": config})
    assert any(message in line for line in found), found


def test_the_schema_leaves_other_namespaces_and_secrets_alone(validator) -> None:
    config = {"aws:profile": "ops", "mlops:githubToken": {"secure": "v1:abc"}}
    assert errors(validator, {"encryptionsalt": "v1:xyz", "config": config}) == []


def test_the_write_command_renders_the_readme_block_and_the_schema(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text(
        "# x\n<!-- config-reference:begin -->\nstale table\n<!-- config-reference:end -->\n",
        encoding="utf-8",
    )
    schema = tmp_path / "stack.schema.json"
    write(readme, schema)
    assert schema.read_text(encoding="utf-8") == render_schema()
    assert "| `serving.instanceCount` |" in readme.read_text(encoding="utf-8")
    assert "stale table" not in readme.read_text(encoding="utf-8")
