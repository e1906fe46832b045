"""Run the job steps of a pipeline definition the way SageMaker runs their jobs.

Each job step is a subprocess with the container's command, environment and
``/opt/ml`` layout (``ops/local/container.py``): its inputs are downloaded from
the emulated S3 under the step's stand-in for ``/opt/ml``, SageMaker's config
files are written there, and its outputs are uploaded where the definition
says. Expressions are resolved by ``ops/local/run_state.py``; a step whose
cache key (its resolved arguments, ``ops/local/step_cache.py``) is unchanged
is reused, as SageMaker reuses it.
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
from ops.local.run_state import RunState
from ops.local.step_cache import CacheEntry, CachePolicy, StepCache, cache_key
from pipelines.s3 import upload_dir, upload_file

Launcher = Callable[[list[str], dict[str, str], Path, Path, PathMap], "str | None"]
CODE_INPUT = "code"  # a step-code archive input: the code is in the image, so it is not fetched


class StepFailedError(MlopsError):
    """A step of the local run failed; the message names the step and why, on one line.

    ``log`` is the job's stdout and stderr, for the steps that ran a container.
    """

    def __init__(self, step: str, reason: str, log: Path | None = None) -> None:
        reason = " ".join(reason.split()) or "no reason given"  # a failure file may hold lines
        super().__init__(f"pipeline stopped at {step}: {reason}")
        self.step = step
        self.reason = reason
        self.log = log


@dataclass
class StepOutcome:
    """How a step went: ran, cached or failed, with a short detail for the summary."""

    name: str
    status: str
    seconds: float = 0.0
    detail: str = ""


@dataclass(frozen=True)
class Launch:
    """The container's command and the environment the job and the platform give it."""

    entrypoint: list[str]
    arguments: list[str]
    environment: dict[str, str]
    platform: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class JobResult:
    """What a finished job leaves: its properties, property files and the outputs to cache."""

    properties: dict[str, Any]
    property_files: dict[str, Any]
    outputs: dict[str, Path]


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
    # How a step's container command runs: a subprocess (``container.run``) unless a
    # caller brings an equivalent launcher (the simulation's warm start).
    launcher: Launcher = container.run

    def paths(self, step: str) -> PathMap:
        """The step's stand-in for ``/opt/ml``: ``<run dir>/<step>/opt/ml``."""
        return PathMap(self.run_dir / step / "opt" / "ml")

    def map_path(self, step: str, container_path: str) -> Path:
        return self.paths(step).local(container_path)

    def processing(self, step: dict[str, Any], state: RunState) -> StepOutcome:
        """A ``Processing`` step: inputs in, the container's command, outputs out."""
        return self._job(step, state, self._processing_launch, self._processing_result)

    def training(self, step: dict[str, Any], state: RunState) -> StepOutcome:
        """A ``Training`` step: channels in, the container's command, ``model.tar.gz`` out."""
        return self._job(step, state, self._training_launch, self._training_result)

    def _job(
        self,
        step: dict[str, Any],
        state: RunState,
        launch: Callable[[PathMap, str, dict[str, Any]], Launch],
        collect: Callable[[dict[str, Any], PathMap, str, dict[str, Any], str | None], JobResult],
    ) -> StepOutcome:
        """What every job step does: the cache, a fresh ``/opt/ml``, the command, the record.

        ``launch`` fetches the inputs and writes SageMaker's config files; ``collect``
        uploads what the job leaves and raises ``StepFailedError`` when it failed.
        """
        name = step["Name"]
        arguments = state.resolve(step["Arguments"])
        policy = CachePolicy.of(step)
        key = cache_key(self.pipeline, step, arguments, self.image_digest)
        hit = self.cache.lookup(key, policy)
        if hit is not None:
            self._reuse(step, arguments, hit, state)
            return StepOutcome(name, "cached", detail=f"from {hit.execution_id}")
        paths = self._fresh(name)
        job_name = self._job_name(state, name)
        failure = self._run(name, paths, launch(paths, job_name, arguments))
        result = collect(step, paths, job_name, arguments, failure)
        self._record(name, state, result.properties, result.property_files)
        if policy.enabled:
            self.cache.store(
                key, _execution(state), result.properties, result.property_files, result.outputs
            )
        return StepOutcome(name, "ran")

    def _processing_launch(
        self, paths: PathMap, job_name: str, arguments: dict[str, Any]
    ) -> Launch:
        """Download the inputs (not the step code: it is in the image), write the job's config."""
        inputs = [i for i in arguments.get("ProcessingInputs", []) if i["InputName"] != CODE_INPUT]
        for item in inputs:
            source = item["S3Input"]
            download_input(
                self.clients.s3,
                source["S3Uri"],
                source.get("S3DataType", "S3Prefix"),
                paths.local(source["LocalPath"]),
            )
        for output in _processing_outputs(arguments).values():
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
        return Launch(
            app.get("ContainerEntrypoint") or [],
            app.get("ContainerArguments") or [],
            arguments.get("Environment") or {},
        )

    def _processing_result(
        self,
        step: dict[str, Any],
        paths: PathMap,
        job_name: str,
        arguments: dict[str, Any],
        failure: str | None,
    ) -> JobResult:
        """Outputs are uploaded even when the job failed (quarantine, reports), like SageMaker."""
        outputs = _processing_outputs(arguments)
        properties = {}
        for output_name, output in outputs.items():
            upload_dir(self.clients.s3, paths.local(output["LocalPath"]), output["S3Uri"])
            properties[_output_property(output_name)] = output["S3Uri"]
        if failure is not None:
            raise self._failed(step["Name"], failure)
        local_outputs = {n: paths.local(o["LocalPath"]) for n, o in outputs.items()}
        property_files = {
            item["PropertyFileName"]: json.loads(
                (local_outputs[item["OutputName"]] / item["FilePath"]).read_text(encoding="utf-8")
            )
            for item in step.get("PropertyFiles", [])
        }
        return JobResult(properties, property_files, local_outputs)

    def _training_launch(self, paths: PathMap, job_name: str, arguments: dict[str, Any]) -> Launch:
        """Download the channels, write the training job's config files."""
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
            described[channel["ChannelName"]] = _channel_config(channel, algorithm)
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
        return Launch(
            algorithm.get("ContainerEntrypoint") or [],
            algorithm.get("ContainerArguments") or [],
            arguments.get("Environment") or {},
            platform={
                "TRAINING_JOB_NAME": job_name,
                "TRAINING_JOB_ARN": self._arn("training-job", job_name),
            },
        )

    def _training_result(
        self,
        step: dict[str, Any],
        paths: PathMap,
        job_name: str,
        arguments: dict[str, Any],
        failure: str | None,
    ) -> JobResult:
        """``/opt/ml/model`` as ``<S3OutputPath>/<job name>/output/model.tar.gz``."""
        name = step["Name"]
        if failure is not None:
            raise self._failed(name, failure)
        archive_dir = self.run_dir / name / "artifacts"
        archive_dir.mkdir(parents=True, exist_ok=True)
        pack(paths.local("/opt/ml/model"), archive_dir / TARBALL)
        prefix = str(arguments["OutputDataConfig"]["S3OutputPath"]).rstrip("/")
        uri = f"{prefix}/{job_name}/output/{TARBALL}"
        upload_file(self.clients.s3, archive_dir / TARBALL, uri)
        return JobResult({"ModelArtifacts.S3ModelArtifacts": uri}, {}, {"model": archive_dir})

    def _failed(self, name: str, failure: str) -> StepFailedError:
        return StepFailedError(name, failure, log=self._log(name))

    def _log(self, name: str) -> Path:
        return self.run_dir / name / "log.txt"

    def _fresh(self, name: str) -> PathMap:
        shutil.rmtree(self.run_dir / name, ignore_errors=True)
        return self.paths(name)

    def _run(self, name: str, paths: PathMap, launch: Launch) -> str | None:
        env = container.environment(
            self.image,
            paths,
            emulator={**self.clients.step_environment(), **self.local_environment},
            job=launch.environment,
            platform=launch.platform,
        )
        argv = container.command(launch.entrypoint, launch.arguments, paths)
        cwd = Path(paths.text(self.image.workdir))
        return self.launcher(argv, env, cwd, self._log(name), paths)

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


def _processing_outputs(arguments: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """``S3Output`` of each processing output, by output name."""
    return {
        item["OutputName"]: item["S3Output"]
        for item in arguments.get("ProcessingOutputConfig", {}).get("Outputs", [])
    }


def _channel_config(channel: dict[str, Any], algorithm: dict[str, Any]) -> dict[str, str]:
    """A channel as ``inputdataconfig.json`` describes it to the training container."""
    source = channel["DataSource"]["S3DataSource"]
    return {
        **({"ContentType": channel["ContentType"]} if "ContentType" in channel else {}),
        "TrainingInputMode": channel.get("InputMode", algorithm.get("TrainingInputMode", "File")),
        "S3DistributionType": source.get("S3DataDistributionType", "FullyReplicated"),
        "RecordWrapperType": channel.get("RecordWrapperType", "None"),
    }


def _output_property(name: str) -> str:
    return f"ProcessingOutputConfig.Outputs['{name}'].S3Output.S3Uri"
