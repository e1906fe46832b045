"""Run the job steps of a pipeline definition the way SageMaker runs their jobs.

Each job step is a subprocess with the container's command, environment and
``/opt/ml`` layout (``ops/local/container.py``): its inputs are downloaded from
the emulated S3 under the step's stand-in for ``/opt/ml``, SageMaker's config
files are written there, and its outputs are uploaded where the definition
says. Expressions (``Get``, ``Std:Join``, ``Std:JsonGet``) are resolved as the
pipeline service resolves them, and a step whose cache key (its resolved
arguments, ``ops/local/step_cache.py``) is unchanged is reused, as SageMaker
reuses it.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ml.errors import MlopsError
from ml.model_artifact import TARBALL, pack
from ops.local import container
from ops.local.container import Image, PathMap
from ops.local.emulator import AwsClients, download_input
from ops.local.step_cache import CacheEntry, CachePolicy, StepCache, cache_key
from pipelines.s3 import upload_dir, upload_file

CODE_INPUT = "code"  # a step-code archive input: the code is in the image, so it is not fetched


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


@dataclass
class JobRunner:
    """Runs job steps as subprocesses against the emulator, with SageMaker's step cache."""

    clients: AwsClients
    run_dir: Path
    cache: StepCache
    pipeline: str
    account: str
    image: Image = field(default_factory=container.read_image)
    image_digest: str = field(default_factory=container.image_digest)
    local_environment: dict[str, str] = field(default_factory=dict)

    def paths(self, step: str) -> PathMap:
        """The step's stand-in for ``/opt/ml``: ``<run dir>/<step>/opt/ml``."""
        return PathMap(self.run_dir / step / "opt" / "ml")

    def map_path(self, step: str, container_path: str) -> Path:
        return self.paths(step).local(container_path)

    def processing(self, step: dict[str, Any], state: RunState) -> StepOutcome:
        """A ``Processing`` step: inputs in, the container's command, outputs out."""
        name = step["Name"]
        arguments = state.resolve(step["Arguments"])
        key = cache_key(self.pipeline, step, arguments, self.image_digest)
        hit = self.cache.lookup(key, CachePolicy.of(step))
        if hit is not None:
            self._reuse(step, arguments, hit, state)
            return StepOutcome(name, "cached", detail=f"from {hit.execution_id}")
        paths = self._fresh(name)
        job_name = self._job_name(state, name)
        inputs = [i for i in arguments.get("ProcessingInputs", []) if i["InputName"] != CODE_INPUT]
        for item in inputs:
            source = item["S3Input"]
            download_input(
                self.clients.s3,
                source["S3Uri"],
                source.get("S3DataType", "S3Prefix"),
                paths.local(source["LocalPath"]),
            )
        outputs = {
            item["OutputName"]: item["S3Output"]
            for item in arguments.get("ProcessingOutputConfig", {}).get("Outputs", [])
        }
        for output in outputs.values():
            paths.local(output["LocalPath"]).mkdir(parents=True, exist_ok=True)
        job = {
            "ProcessingJobArn": self._arn("processing-job", job_name),
            "ProcessingJobName": job_name,
            **{k: v for k, v in arguments.items() if k != "ProcessingInputs"},
            "ProcessingInputs": inputs,
        }
        container.write_config(paths, "/opt/ml/config/processingjobconfig.json", job)
        container.write_config(
            paths,
            "/opt/ml/config/resourceconfig.json",
            {"current_host": "algo-1", "hosts": ["algo-1"]},
        )
        app = arguments["AppSpecification"]
        failure = self._run(
            name,
            paths,
            app.get("ContainerEntrypoint") or [],
            app.get("ContainerArguments") or [],
            arguments.get("Environment") or {},
            {},
        )
        properties = {}
        for output_name, output in outputs.items():
            upload_dir(self.clients.s3, paths.local(output["LocalPath"]), output["S3Uri"])
            properties[_output_property(output_name)] = output["S3Uri"]
        if failure is not None:
            raise StepFailedError(name, failure)
        property_files = {
            item["PropertyFileName"]: json.loads(
                (
                    paths.local(outputs[item["OutputName"]]["LocalPath"]) / item["FilePath"]
                ).read_text(encoding="utf-8")
            )
            for item in step.get("PropertyFiles", [])
        }
        self._record(name, state, properties, property_files)
        if CachePolicy.of(step).enabled:
            local_outputs = {n: paths.local(o["LocalPath"]) for n, o in outputs.items()}
            self.cache.store(key, _execution(state), properties, property_files, local_outputs)
        return StepOutcome(name, "ran")

    def training(self, step: dict[str, Any], state: RunState) -> StepOutcome:
        """A ``Training`` step: channels in, the container's command, the model tarball out."""
        name = step["Name"]
        arguments = state.resolve(step["Arguments"])
        key = cache_key(self.pipeline, step, arguments, self.image_digest)
        hit = self.cache.lookup(key, CachePolicy.of(step))
        if hit is not None:
            self._reuse(step, arguments, hit, state)
            return StepOutcome(name, "cached", detail=f"from {hit.execution_id}")
        paths = self._fresh(name)
        job_name = self._job_name(state, name)
        algorithm = arguments["AlgorithmSpecification"]
        channels = [
            c for c in arguments.get("InputDataConfig", []) if c["ChannelName"] != CODE_INPUT
        ]
        described: dict[str, dict[str, str]] = {}
        for channel in channels:
            source = channel["DataSource"]["S3DataSource"]
            download_input(
                self.clients.s3,
                source["S3Uri"],
                source.get("S3DataType", "S3Prefix"),
                paths.local(f"/opt/ml/input/data/{channel['ChannelName']}"),
            )
            described[channel["ChannelName"]] = {
                **({"ContentType": channel["ContentType"]} if "ContentType" in channel else {}),
                "TrainingInputMode": channel.get(
                    "InputMode", algorithm.get("TrainingInputMode", "File")
                ),
                "S3DistributionType": source.get("S3DataDistributionType", "FullyReplicated"),
                "RecordWrapperType": channel.get("RecordWrapperType", "None"),
            }
        for directory in ("/opt/ml/model", "/opt/ml/output/data"):
            paths.local(directory).mkdir(parents=True, exist_ok=True)
        config = "/opt/ml/input/config"
        container.write_config(
            paths, f"{config}/hyperparameters.json", arguments.get("HyperParameters") or {}
        )
        container.write_config(paths, f"{config}/inputdataconfig.json", described)
        container.write_config(
            paths,
            f"{config}/resourceconfig.json",
            {"current_host": "algo-1", "hosts": ["algo-1"], "network_interface_name": "eth0"},
        )
        platform = {
            "TRAINING_JOB_NAME": job_name,
            "TRAINING_JOB_ARN": self._arn("training-job", job_name),
        }
        failure = self._run(
            name,
            paths,
            algorithm.get("ContainerEntrypoint") or [],
            algorithm.get("ContainerArguments") or [],
            arguments.get("Environment") or {},
            platform,
        )
        if failure is not None:
            raise StepFailedError(name, failure)
        archive_dir = self.run_dir / name / "artifacts"
        archive_dir.mkdir(parents=True, exist_ok=True)
        pack(paths.local("/opt/ml/model"), archive_dir / TARBALL)
        prefix = str(arguments["OutputDataConfig"]["S3OutputPath"]).rstrip("/")
        uri = f"{prefix}/{job_name}/output/{TARBALL}"
        upload_file(self.clients.s3, archive_dir / TARBALL, uri)
        properties = {"ModelArtifacts.S3ModelArtifacts": uri}
        self._record(name, state, properties, {})
        if CachePolicy.of(step).enabled:
            self.cache.store(key, _execution(state), properties, {}, {"model": archive_dir})
        return StepOutcome(name, "ran")

    def _fresh(self, name: str) -> PathMap:
        shutil.rmtree(self.run_dir / name, ignore_errors=True)
        return self.paths(name)

    def _run(
        self,
        name: str,
        paths: PathMap,
        entrypoint: list[str],
        arguments: list[str],
        job_environment: dict[str, str],
        platform: dict[str, str],
    ) -> str | None:
        env = container.environment(
            self.image,
            paths,
            emulator={**self.clients.step_environment(), **self.local_environment},
            job=job_environment,
            platform=platform,
        )
        argv = container.command(entrypoint, arguments, paths)
        cwd = Path(paths.text(self.image.workdir))
        return container.run(argv, env, cwd, self.run_dir / name / "log.txt", paths)

    def _reuse(
        self, step: dict[str, Any], arguments: dict[str, Any], hit: CacheEntry, state: RunState
    ) -> None:
        """A cache hit: the cached run's properties, and its outputs back where it wrote them."""
        name = step["Name"]
        paths = self._fresh(name)
        if step["Type"] == "Processing":
            for item in arguments.get("ProcessingOutputConfig", {}).get("Outputs", []):
                saved = hit.outputs() / item["OutputName"]
                local = paths.local(item["S3Output"]["LocalPath"])
                shutil.copytree(saved, local, dirs_exist_ok=True)
                uri = hit.properties[_output_property(item["OutputName"])]
                upload_dir(self.clients.s3, saved, uri)
        else:
            uri = hit.properties["ModelArtifacts.S3ModelArtifacts"]
            upload_file(self.clients.s3, hit.outputs() / "model" / TARBALL, uri)
        self._record(name, state, hit.properties, hit.property_files)

    @staticmethod
    def _record(
        name: str, state: RunState, properties: dict[str, Any], property_files: dict[str, Any]
    ) -> None:
        state.properties[name] = dict(properties)
        for file_name, document in property_files.items():
            state.property_files[(name, file_name)] = document

    def _job_name(self, state: RunState, step: str) -> str:
        return f"{_execution(state)}-{step}"[:63]

    def _arn(self, kind: str, name: str) -> str:
        return f"arn:aws:sagemaker:{self.clients.region}:{self.account}:{kind}/{name.lower()}"


def _execution(state: RunState) -> str:
    return str(state.execution["PipelineExecutionId"])


def _output_property(name: str) -> str:
    return f"ProcessingOutputConfig.Outputs['{name}'].S3Output.S3Uri"
