"""Run the Pulumi program offline and record what it would create.

The same ``infra/__main__.py`` that ``pulumi up`` runs is executed under
``pulumi.runtime.set_mocks`` with a monitor that records every registration:
type, name, inputs, parent, dependencies and resource options. The result is a
plain dict (the plan) that tests, ``mlops synth``, the Terraform-plan export
and the cost estimate all read.
"""

from __future__ import annotations

import asyncio
import json
import runpy
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc
from pulumi.runtime.settings import SETTINGS
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from infra.config import StackConfig, read_stack, require_secrets
from infra.config.stack_file import REPO_ROOT
from infra.plan.mocks import OfflineMocks
from ml.errors import MlopsError

PROGRAM = REPO_ROOT / "infra" / "__main__.py"
PROJECT = "mlops"
# What the plan shows in place of a value the program marked secret.
SECRET = "[secret]"  # noqa: S105 - a placeholder, not a password


@dataclass
class Plan:
    """Everything the program registered, as plain data."""

    project: str
    stack: str
    config: StackConfig
    resources: list[dict[str, Any]] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)
    # What the plan answered with stand-ins because it cannot be known offline.
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The plan JSON of DESIGN's interface (``mlops synth --json``), with its stand-ins."""
        return {
            "project": self.project,
            "stack": self.stack,
            "resources": self.resources,
            "outputs": self.outputs,
            "notes": self.notes,
        }

    def of_type(self, type_token: str) -> list[dict[str, Any]]:
        return [r for r in self.resources if r["type"] == type_token]

    def one(self, type_token: str, name: str | None = None) -> dict[str, Any]:
        """The single resource of a type (and name); fails loudly when it is not unique."""
        found = [r for r in self.of_type(type_token) if name is None or r["name"] == name]
        if len(found) != 1:
            names = [r["name"] for r in self.of_type(type_token)]
            raise LookupError(f"expected one {type_token} named {name!r}, found {names}")
        return found[0]

    def by_urn(self, urn: str) -> dict[str, Any]:
        return next(r for r in self.resources if r["urn"] == urn)


class RecordingMonitor(pulumi_mocks.MockMonitor):
    """A mock monitor that also keeps what each registration asked for."""

    def __init__(self, mocks: pulumi.runtime.Mocks) -> None:
        super().__init__(mocks)
        self.records: list[dict[str, Any]] = []

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 - gRPC method name
        response = super().RegisterResource(request)
        if request.type == "pulumi:pulumi:Stack" or request.type.startswith("pulumi:providers:"):
            return response
        registration = self.resources.get(response.urn)
        self.records.append(
            {
                "urn": response.urn,
                "type": request.type,
                "name": request.name,
                "custom": bool(request.custom),
                "inputs": _plain(rpc.deserialize_properties(request.object)),
                "outputs": _plain(registration.state) if registration is not None else {},
                "id": response.id or None,
                "parent": request.parent or None,
                "aliases": _alias_urns(request),
                "dependencies": sorted(set(request.dependencies)),
                "protect": bool(request.protect),
                "retainOnDelete": bool(request.retainOnDelete),
                "deleteBeforeReplace": bool(request.deleteBeforeReplace),
                "replaceOnChanges": list(request.replaceOnChanges),
                "ignoreChanges": list(request.ignoreChanges),
            }
        )
        return response


def _alias_urns(request: Any) -> list[str]:
    """The former URNs a registration's aliases name, each once."""
    specs = [alias.spec for alias in request.aliases if alias.WhichOneof("alias") == "spec"]
    return list(dict.fromkeys(_alias_urn(request, spec) for spec in specs))


def _alias_urn(request: Any, spec: Any) -> str:
    """One alias as a URN: the resource's own type, name and parent unless it names others."""
    parent = "" if spec.noParent else spec.parentUrn or request.parent
    # The engine leaves the root stack out of its children's type chains; the mocks keep it.
    chain = parent[: parent.rfind("::")].replace("::pulumi:pulumi:Stack$", "::")
    if not parent or chain.endswith("::pulumi:pulumi:Stack"):
        stack, project = spec.stack or pulumi.get_stack(), spec.project or pulumi.get_project()
        prefix = f"urn:pulumi:{stack}::{project}::"
    else:
        prefix = chain + "$"
    return f"{prefix}{spec.type or request.type}::{spec.name or request.name}"


def synthesize(
    stack: str,
    config_file: Path | None = None,
    overrides: list[str] | None = None,
    model_packages: Mapping[str, Mapping[str, Any]] | None = None,
) -> Plan:
    """Run the program for ``stack`` offline and return its plan.

    ``model_packages`` (ARN -> DescribeModelPackage answer) is what the registry
    holds, where the caller knows it; other pinned packages get a stand-in.
    """
    loaded = read_stack(stack, config_file, overrides or ())  # fails before any resource exists
    config = loaded.config
    require_secrets(config, loaded.values)
    mocks = OfflineMocks(config, model_packages)
    monitor = RecordingMonitor(mocks)
    # A fresh root stack per synth: set_mocks keeps an existing one, and with it the
    # outputs an earlier synth in this process exported.
    pulumi.runtime.settings.ROOT.set(None)
    pulumi.runtime.set_mocks(
        monitor.mocks, project=PROJECT, stack=stack, preview=False, monitor=monitor
    )
    # A secret's value offline is its ciphertext from the stack file, marked secret as
    # the engine marks it: the program reads it as a secret Output either way.
    values = {key: v if isinstance(v, str) else json.dumps(v) for key, v in loaded.values.items()}
    pulumi.runtime.set_all_config(values, loaded.secret_keys)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            _sync_await(run_pulumi_func(_run_program))
        except Exception as error:
            _discard_pending_work()
            # The engine wraps what the program raised (in an apply or an invoke) in
            # "While processing ..." errors; a problem of ours is shown as its one line.
            cause = _project_error(error)
            if cause is None:
                raise
            raise cause from None
    resources = sorted(monitor.records, key=lambda record: record["urn"])
    plan = Plan(project=PROJECT, stack=stack, config=config, resources=resources)
    plan.outputs = _stack_outputs()
    plan.notes = list(dict.fromkeys(mocks.notes))
    return plan


def _discard_pending_work() -> None:
    """Cancel what a failed program left waiting, so the next synth in this process starts clean.

    Registrations still awaiting the failed Output would otherwise resume during
    the next synth and report its predecessor's error.
    """
    loop = asyncio.get_event_loop()
    loop.set_exception_handler(_unreported_only)
    pending = [task for task in asyncio.all_tasks(loop) if not task.done()]
    for task in pending:
        task.cancel()
    if pending and not loop.is_running():
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
    with SETTINGS.lock:
        SETTINGS.outputs.clear()
    SETTINGS.rpc_manager.clear()


def _unreported_only(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    """The loop's handler after a failed synth: the failure was reported as its one line, so
    the Outputs that carried it, collected later, do not print it again as tracebacks."""
    error = context.get("exception")
    if isinstance(error, BaseException) and _project_error(error) is not None:
        return
    loop.default_exception_handler(context)


def _project_error(error: BaseException) -> MlopsError | None:
    """The project's own error (bad config, a missing state) inside the engine's error chain."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        if isinstance(current, MlopsError):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


def _run_program() -> None:
    runpy.run_path(str(PROGRAM), run_name="__main__")


def _stack_outputs() -> dict[str, Any]:
    from pulumi.runtime.settings import get_root_resource

    root = get_root_resource()
    exported = getattr(root, "outputs", {}) if root is not None else {}
    resolved: dict[str, Any] = {}
    for name, value in exported.items():
        output = pulumi.Output.from_input(value)
        resolved[name] = _plain(_sync_await(output.future()))
    return resolved


def _plain(value: Any) -> Any:
    """Inputs and state as JSON-ready data (resource references become their URN, secrets
    are withheld)."""
    if isinstance(value, dict) and value.get(rpc._special_sig_key) == rpc._special_secret_sig:
        return SECRET
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, pulumi.Resource):
        return _sync_await(value.urn.future())
    if isinstance(value, pulumi.asset.Asset | pulumi.asset.Archive):
        return _asset(value)
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


def _asset(value: Any) -> dict[str, Any]:
    for attribute in ("path", "text", "uri"):
        found = getattr(value, attribute, None)
        if found is not None:
            return {"asset": type(value).__name__, attribute: found}
    return {"asset": type(value).__name__}
