"""Terraform state offline: a local state is read as ``pulumi up`` reads it; remote ones are not.

A local backend's state is a file on this machine, so the offline plan reads
it, and a path where no readable state is, is an error, as it would be at
deploy time. S3 and Terraform Cloud states cannot be read offline: the plan
uses stand-in outputs and says so (``Offline answers``), so nobody mistakes them
for the landing zone's. The state format: ``{"version": 4, "outputs":
{name: {"value": ..., "type": ...}}}``
(https://developer.hashicorp.com/terraform/language/state).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from infra.config import NAMESPACE, ConfigError
from infra.config.stack_file import REPO_ROOT

STATE_VERSION = 4  # what Terraform 0.12 and later write
# What a remote Terraform state is assumed to hold when planning offline.
STAND_IN_OUTPUTS: dict[str, Any] = {
    "vpc_id": "vpc-0a1b2c3d4e5f60718",
    "private_subnet_ids": ["subnet-0a1b2c3d4e5f60718", "subnet-0a1b2c3d4e5f60719"],
    "sagemaker_security_group_ids": ["sg-0a1b2c3d4e5f60718"],
}


def local_state_path(path: str | None) -> Path:
    """Where a local backend's ``path`` points: relative paths start at the project root."""
    if not path:
        raise ConfigError(
            f"invalid config {NAMESPACE}:network.terraform.path = None: "
            "give the path of the landing zone's terraform.tfstate"
        )
    given = Path(path)
    return given if given.is_absolute() else REPO_ROOT / given


def read_local_outputs(path: str | None) -> dict[str, Any]:
    """A local Terraform state's outputs (name -> value); a missing or broken state is an error."""
    state_path = local_state_path(path)
    where = f"invalid config {NAMESPACE}:network.terraform.path = {path!r}"
    if not state_path.is_file():
        raise ConfigError(
            f"{where}: no Terraform state at {state_path}; run 'terraform apply' in the "
            "landing zone or point the path at its terraform.tfstate"
        )
    try:
        state = json.loads(state_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        reason = getattr(error, "strerror", None) or "not JSON"
        raise ConfigError(
            f"{where}: {state_path} is not a readable Terraform state ({reason})"
        ) from None
    outputs = state.get("outputs") if isinstance(state, dict) else None
    if not isinstance(outputs, dict) or state.get("version") != STATE_VERSION:
        raise ConfigError(
            f"{where}: {state_path} is not a Terraform state of format version "
            f"{STATE_VERSION} with outputs (Terraform 0.12 or later writes one)"
        )
    return {
        name: output.get("value") if isinstance(output, dict) else None
        for name, output in outputs.items()
    }


def stand_in_note(backend: str, inputs: dict[str, Any]) -> str:
    """The line the plan shows for a remote state it could not read."""
    where = (
        f"s3://{inputs.get('bucket')}/{inputs.get('key')}"
        if backend == "s3"
        else f"{inputs.get('organization')}/{(inputs.get('workspaces') or {}).get('name')}"
    )
    values = ", ".join(f"{name}={value}" for name, value in STAND_IN_OUTPUTS.items())
    return (
        f"network: the {backend} Terraform state {where} cannot be read offline; "
        f"the plan uses stand-in outputs ({values})"
    )
