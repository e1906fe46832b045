"""Building blocks of a SageMaker pipeline definition, as the SDK v3 serialises them.

The training pipeline is assembled from these plain dicts instead of the SDK's
objects: importing ``sagemaker`` costs about six seconds and its step objects
upload code and look up a default bucket when serialised, while ``pulumi up``
needs the definition at every synth. ``tests/pipelines/definitions/test_sdk_parity.py``
builds the same steps with the SDK and checks that both serialise alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

Json = dict[str, Any]

# Exception types every job step retries on (transient failures of SageMaker itself).
JOB_EXCEPTIONS = (
    "SageMaker.JOB_INTERNAL_ERROR",
    "SageMaker.CAPACITY_ERROR",
    "SageMaker.RESOURCE_LIMIT",
)
STEP_EXCEPTIONS = ("Step.THROTTLING", "Step.SERVICE_FAULT")
RETRY_INTERVAL_SECONDS = 30
RETRY_BACKOFF_RATE = 2.0


def parameter(name: str) -> Json:
    return {"Get": f"Parameters.{name}"}


def step_property(step: str, path: str) -> Json:
    return {"Get": f"Steps.{step}.{path}"}


def execution_id() -> Json:
    return {"Get": "Execution.PipelineExecutionId"}


def join(*values: Any, on: str = "/") -> Json:
    return {"Std:Join": {"On": on, "Values": list(values)}}


def json_get(step: str, property_file: str, path: str) -> Json:
    """``JsonGet``: a value read from a property file of a finished processing step."""
    return {
        "Std:JsonGet": {
            "PropertyFile": {"Get": f"Steps.{step}.PropertyFiles.{property_file}"},
            "Path": path,
        }
    }


def retry_policies(max_attempts: int) -> list[Json]:
    """Retry transient SageMaker job failures, then throttling and service faults."""
    common = {
        "IntervalSeconds": RETRY_INTERVAL_SECONDS,
        "BackoffRate": RETRY_BACKOFF_RATE,
        "MaxAttempts": max_attempts,
    }
    return [
        {"ExceptionType": list(JOB_EXCEPTIONS), **common},
        {"ExceptionType": list(STEP_EXCEPTIONS), **common},
    ]


def cache_config(expire_after: str | None) -> Json:
    """Caching on with an expiry, or off (``None``): the step runs on every execution."""
    if expire_after is None:
        return {"Enabled": False}
    return {"Enabled": True, "ExpireAfter": expire_after}


@dataclass(frozen=True)
class JobSettings:
    """What every job step shares: role, image, encryption, network, retries, cache."""

    role_arn: str
    image_uri: str
    kms_key_arn: str
    max_attempts: int
    cache_expiry: str
    subnet_ids: tuple[str, ...] = ()
    security_group_ids: tuple[str, ...] = ()

    def vpc_config(self) -> Json | None:
        if not self.subnet_ids:
            return None
        return {"SecurityGroupIds": list(self.security_group_ids), "Subnets": list(self.subnet_ids)}


def module_entrypoint(module: str) -> list[str]:
    """Run one module of the step code baked into the project image."""
    return ["python3", "-m", module]


def processing_input(name: str, source: Any, destination: str, data_type: str = "S3Prefix") -> Json:
    """An S3 input; ``data_type`` ``ManifestFile`` makes ``source`` a manifest of object keys."""
    return {
        "InputName": name,
        "S3Input": {
            "S3Uri": source,
            "LocalPath": destination,
            "S3DataType": data_type,
            "S3InputMode": "File",
            "S3DataDistributionType": "FullyReplicated",
            "S3CompressionType": "None",
        },
    }


def processing_output(name: str, source: str, destination: Any) -> Json:
    return {
        "OutputName": name,
        "S3Output": {"S3Uri": destination, "LocalPath": source, "S3UploadMode": "EndOfJob"},
    }


@dataclass(frozen=True)
class PropertyFile:
    """A JSON file a processing step writes that later steps read with ``JsonGet``."""

    name: str
    output_name: str
    path: str

    def expr(self) -> Json:
        return {
            "PropertyFileName": self.name,
            "OutputName": self.output_name,
            "FilePath": self.path,
        }


def processing_step(
    name: str,
    settings: JobSettings,
    *,
    module: str,
    arguments: list[Any],
    inputs: list[Json],
    outputs: list[Json],
    instance_type: Any,
    environment: dict[str, Any] | None = None,
    property_files: tuple[PropertyFile, ...] = (),
    depends_on: tuple[str, ...] = (),
    description: str = "",
    cached: bool = True,
) -> Json:
    """A ``Processing`` step running one module of the step code (``cached=False``: every run)."""
    arguments_block: Json = {
        "ProcessingResources": {
            "ClusterConfig": {
                "InstanceType": instance_type,
                "InstanceCount": 1,
                "VolumeSizeInGB": 30,
                "VolumeKmsKeyId": settings.kms_key_arn,
            }
        },
        "AppSpecification": {
            "ImageUri": settings.image_uri,
            "ContainerArguments": arguments,
            "ContainerEntrypoint": module_entrypoint(module),
        },
        "RoleArn": settings.role_arn,
        "ProcessingOutputConfig": {"Outputs": outputs, "KmsKeyId": settings.kms_key_arn},
        "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
        "Environment": {"PYTHONUNBUFFERED": "1", **(environment or {})},
    }
    if inputs:  # the SDK leaves the key out when a step has no inputs (the Dataset step)
        arguments_block["ProcessingInputs"] = inputs
    vpc = settings.vpc_config()
    if vpc is not None:
        arguments_block["NetworkConfig"] = {
            "EnableInterContainerTrafficEncryption": True,
            "EnableNetworkIsolation": False,
            "VpcConfig": vpc,
        }
    step: Json = {
        "Name": name,
        "Type": "Processing",
        "Description": description,
        "Arguments": arguments_block,
        "RetryPolicies": retry_policies(settings.max_attempts),
        "CacheConfig": cache_config(settings.cache_expiry if cached else None),
    }
    if depends_on:
        step["DependsOn"] = list(depends_on)
    if property_files:
        step["PropertyFiles"] = [item.expr() for item in property_files]
    return step


def training_step(
    name: str,
    settings: JobSettings,
    *,
    module: str,
    channels: dict[str, Any],
    output_uri: Any,
    instance_type: Any,
    hyperparameters: dict[str, str],
    description: str = "",
) -> Json:
    """A ``Training`` step running one module of the step code, channels mounted as files."""
    input_channels = [
        {
            "ChannelName": channel,
            "DataSource": {
                "S3DataSource": {
                    "S3DataType": "S3Prefix",
                    "S3Uri": uri,
                    "S3DataDistributionType": "FullyReplicated",
                }
            },
            "InputMode": "File",
        }
        for channel, uri in channels.items()
    ]
    arguments_block: Json = {
        "AlgorithmSpecification": {
            "TrainingImage": settings.image_uri,
            "TrainingInputMode": "File",
            "ContainerEntrypoint": module_entrypoint(module),
            "ContainerArguments": [
                part for key, value in hyperparameters.items() for part in (f"--{key}", value)
            ],
        },
        "OutputDataConfig": {"S3OutputPath": output_uri, "KmsKeyId": settings.kms_key_arn},
        "StoppingCondition": {"MaxRuntimeInSeconds": 7200},
        "ResourceConfig": {
            "VolumeSizeInGB": 30,
            "InstanceCount": 1,
            "InstanceType": instance_type,
            "VolumeKmsKeyId": settings.kms_key_arn,
        },
        "RoleArn": settings.role_arn,
        "InputDataConfig": input_channels,
        "Environment": {"PYTHONUNBUFFERED": "1"},
        "EnableNetworkIsolation": False,
        "EnableInterContainerTrafficEncryption": True,
    }
    vpc = settings.vpc_config()
    if vpc is not None:
        arguments_block["VpcConfig"] = vpc
    return {
        "Name": name,
        "Type": "Training",
        "Description": description,
        "Arguments": arguments_block,
        "RetryPolicies": retry_policies(settings.max_attempts),
        "CacheConfig": cache_config(settings.cache_expiry),
    }
