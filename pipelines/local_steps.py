"""Run the steps of a pipeline definition in-process, the way SageMaker would run their jobs.

Each job step's inputs are downloaded from the emulated S3 into a directory
that stands in for ``/opt/ml`` (container paths in the arguments are mapped
there), its module's entry point runs in this process, and its outputs are
uploaded where the definition says. Expressions (``Get``, ``Std:Join``,
``Std:JsonGet``) are resolved as the pipeline service resolves them. A job
step whose module, arguments and input contents are unchanged is reused from
the work directory's cache.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import io
import json
import shutil
import tarfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ml.errors import MlopsError
from pipelines.emulator import (
    AwsClients,
    download_manifest,
    download_prefix,
    tree_sha256,
    upload_dir,
    upload_file,
)

CONTAINER_ROOT = "/opt/ml/"


class StepFailedError(MlopsError):
    """A step of the local run failed; the message names the step and why."""

    def __init__(self, step: str, reason: str) -> None:
        super().__init__(f"pipeline stopped at {step}: {reason}")
        self.step = step
        self.reason = reason


@dataclass
class RunState:
    """What later steps can refer to: parameters, execution variables, step properties."""

    parameters: dict[str, Any]
    execution: dict[str, str]
    properties: dict[str, dict[str, Any]] = field(default_factory=dict)
    property_files: dict[tuple[str, str], Any] = field(default_factory=dict)

    def resolve(self, value: Any) -> Any:
        """The concrete value of an expression (lists and dicts resolved member by member)."""
        if isinstance(value, list):
            return [self.resolve(item) for item in value]
        if not isinstance(value, dict):
            return value
        if set(value) == {"Get"}:
            return self._get(value["Get"])
        if set(value) == {"Std:Join"}:
            spec = value["Std:Join"]
            return spec["On"].join(_text(self.resolve(item)) for item in spec["Values"])
        if set(value) == {"Std:JsonGet"}:
            spec = value["Std:JsonGet"]
            _, step, _, name = spec["PropertyFile"]["Get"].split(".", 3)
            return _json_path(self.property_files[(step, name)], spec["Path"])
        return {key: self.resolve(item) for key, item in value.items()}

    def _get(self, path: str) -> Any:
        kind, _, rest = path.partition(".")
        if kind == "Parameters":
            return self.parameters[rest]
        if kind == "Execution":
            return self.execution[rest]
        if kind == "Steps":
            step, _, prop = rest.partition(".")
            try:
                return self.properties[step][prop]
            except KeyError:
                raise MlopsError(f"step {step} has no property {prop} in this run") from None
        raise MlopsError(f"the local runner cannot resolve {path!r}")


def _text(value: Any) -> str:
    return json.dumps(value) if isinstance(value, dict | list) else str(value)


def _json_path(document: Any, path: str) -> Any:
    node = document
    for part in path.split("."):
        node = node[part]
    return node


def condition_holds(state: RunState, condition: dict[str, Any]) -> bool:
    """One condition of a ``Condition`` step, evaluated on resolved values."""
    left = float(state.resolve(condition["LeftValue"]))
    right = float(state.resolve(condition["RightValue"]))
    comparisons: dict[str, Callable[[float, float], bool]] = {
        "GreaterThanOrEqualTo": lambda a, b: a >= b,
        "GreaterThan": lambda a, b: a > b,
        "LessThanOrEqualTo": lambda a, b: a <= b,
        "LessThan": lambda a, b: a < b,
        "Equals": lambda a, b: a == b,
    }
    if condition["Type"] not in comparisons:
        raise MlopsError(f"the local runner does not evaluate {condition['Type']} conditions")
    return comparisons[condition["Type"]](left, right)


@dataclass
class StepOutcome:
    """How a step went: ran, cached or failed, with a short detail for the summary."""

    name: str
    status: str
    seconds: float = 0.0
    detail: str = ""


Runner = Callable[[list[str]], int]


@dataclass
class JobRunner:
    """Runs job steps in-process against the emulator, with a content-keyed cache."""

    clients: AwsClients
    run_dir: Path
    cache_dir: Path
    overrides: dict[str, Runner] = field(default_factory=dict)

    def map_path(self, step: str, container_path: str) -> Path:
        return self.run_dir / step / container_path.removeprefix("/")

    def map_args(self, step: str, args: list[str]) -> list[str]:
        return [str(self.map_path(step, a)) if a.startswith(CONTAINER_ROOT) else a for a in args]

    def run_module(self, step: str, module: str, args: list[str]) -> None:
        """Call the module's ``main(argv)`` (or its local override), output to a log file."""
        log = self.run_dir / step / "log.txt"
        log.parent.mkdir(parents=True, exist_ok=True)
        runner = self.overrides.get(module) or importlib.import_module(module).main
        buffer = io.StringIO()
        with contextlib.redirect_stdout(buffer), contextlib.redirect_stderr(buffer):
            code = runner(self.map_args(step, args))
        log.write_text(buffer.getvalue(), encoding="utf-8")
        if code != 0:
            lines = [line for line in buffer.getvalue().splitlines() if line.strip()]
            raise StepFailedError(step, lines[-1] if lines else f"{module} exited {code}")

    def cache_key(self, step: str, module: str, args: list[str], inputs: dict[str, Path]) -> str:
        """sha256 of what decides a step's result: module, arguments, input contents."""
        document = {
            "step": step,
            "module": module,
            "args": args,
            "inputs": {name: tree_sha256(path) for name, path in sorted(inputs.items())},
        }
        return hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()

    def cached(self, key: str, outputs: dict[str, Path]) -> bool:
        """Restore a cached result into the output directories; False when there is none."""
        entry = self.cache_dir / key
        if not (entry / "complete").exists():
            return False
        for name, path in outputs.items():
            shutil.rmtree(path, ignore_errors=True)
            shutil.copytree(entry / name, path)
        return True

    def store(self, key: str, outputs: dict[str, Path]) -> None:
        entry = self.cache_dir / key
        shutil.rmtree(entry, ignore_errors=True)
        for name, path in outputs.items():
            shutil.copytree(path, entry / name, dirs_exist_ok=True)
        (entry / "complete").write_text("ok\n", encoding="utf-8")

    def processing(self, step: dict[str, Any], state: RunState) -> str:
        """A ``Processing`` step; returns ``ran`` or ``cached``."""
        name, arguments = step["Name"], step["Arguments"]
        app = arguments["AppSpecification"]
        module, args = app["ContainerEntrypoint"][-1], state.resolve(app["ContainerArguments"])
        inputs: dict[str, Path] = {}
        for item in arguments.get("ProcessingInputs", []):
            if item["InputName"] == "code":
                continue  # the code runs in this process: the same files the archive holds
            local = self.map_path(name, item["S3Input"]["LocalPath"])
            shutil.rmtree(local, ignore_errors=True)
            download = (
                download_manifest
                if item["S3Input"]["S3DataType"] == "ManifestFile"
                else download_prefix
            )
            download(self.clients.s3, state.resolve(item["S3Input"]["S3Uri"]), local)
            inputs[item["InputName"]] = local
        outputs = {
            item["OutputName"]: self.map_path(name, item["S3Output"]["LocalPath"])
            for item in arguments["ProcessingOutputConfig"]["Outputs"]
        }
        key = self.cache_key(name, module, args, inputs)
        # A step whose CacheConfig is off (Dataset, Champion) runs on every execution.
        use_cache = bool(step.get("CacheConfig", {}).get("Enabled"))
        status = "cached" if use_cache and self.cached(key, outputs) else "ran"
        if status == "ran":
            for path in outputs.values():
                shutil.rmtree(path, ignore_errors=True)
                path.mkdir(parents=True)
            try:
                self.run_module(name, module, args)
            finally:
                self._upload_outputs(name, arguments, state)
            if use_cache:
                self.store(key, outputs)
        else:
            self._upload_outputs(name, arguments, state)
        for item in step.get("PropertyFiles", []):
            document = outputs[item["OutputName"]] / item["FilePath"]
            state.property_files[(name, item["PropertyFileName"])] = json.loads(
                document.read_text(encoding="utf-8")
            )
        return status

    def _upload_outputs(self, name: str, arguments: dict[str, Any], state: RunState) -> None:
        properties = state.properties.setdefault(name, {})
        for item in arguments["ProcessingOutputConfig"]["Outputs"]:
            uri = state.resolve(item["S3Output"]["S3Uri"])
            upload_dir(self.clients.s3, self.map_path(name, item["S3Output"]["LocalPath"]), uri)
            output = item["OutputName"]
            properties[f"ProcessingOutputConfig.Outputs['{output}'].S3Output.S3Uri"] = uri

    def training(self, step: dict[str, Any], state: RunState) -> str:
        """A ``Training`` step: channels in, ``model.tar.gz`` out; returns ``ran`` or ``cached``."""
        name, arguments = step["Name"], step["Arguments"]
        spec = arguments["AlgorithmSpecification"]
        module, args = spec["ContainerEntrypoint"][-1], state.resolve(spec["ContainerArguments"])
        inputs: dict[str, Path] = {}
        for channel in arguments["InputDataConfig"]:
            if channel["ChannelName"] == "code":
                continue
            local = self.map_path(name, f"/opt/ml/input/data/{channel['ChannelName']}")
            shutil.rmtree(local, ignore_errors=True)
            uri = state.resolve(channel["DataSource"]["S3DataSource"]["S3Uri"])
            download_prefix(self.clients.s3, uri, local)
            inputs[channel["ChannelName"]] = local
        output = self.map_path(name, "/opt/ml/output/archive")
        key = self.cache_key(name, module, args, inputs)
        status = "cached" if self.cached(key, {"archive": output}) else "ran"
        if status == "ran":
            model_dir = self.map_path(name, "/opt/ml/model")
            shutil.rmtree(model_dir, ignore_errors=True)
            self.run_module(name, module, args)
            shutil.rmtree(output, ignore_errors=True)
            output.mkdir(parents=True)
            _tar_model(model_dir, output / "model.tar.gz")
            self.store(key, {"archive": output})
        job = f"{state.execution['PipelineExecutionId']}-{name}"
        prefix = state.resolve(arguments["OutputDataConfig"]["S3OutputPath"])
        uri = f"{prefix}/{job}/output/model.tar.gz"
        upload_file(self.clients.s3, output / "model.tar.gz", uri)
        state.properties.setdefault(name, {})["ModelArtifacts.S3ModelArtifacts"] = uri
        return status


def _tar_model(model_dir: Path, target: Path) -> None:
    """SageMaker's model artifact: the model directory's files at the root of a tar.gz."""
    with tarfile.open(target, "w:gz") as tar:
        for path in sorted(model_dir.rglob("*")):
            if path.is_file():
                tar.add(path, arcname=path.relative_to(model_dir).as_posix())
