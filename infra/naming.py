"""The physical names of a stack's resources: one definition for the program and the tools.

The components name their resources with ``StackNames`` (``StackContext.names``),
and so do promotion, deployment and the local runner and emulator, which find a
stack's buckets, key, registry group, image repository, feature group, training
pipeline and execution role by these names, as does the feature-group lock.
No Pulumi import: code that runs outside the program reads this module too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

MODEL_GROUP_SUFFIX = "fraud-models"
IMAGE_REPOSITORY_SUFFIX = "image"
KEY_SUFFIX = "data"  # the key alias names the data it protects
TRAINING_PIPELINE_SUFFIX = "training"
EXECUTION_ROLE_SUFFIX = "execution"

if TYPE_CHECKING:
    from infra.config import StackConfig


@dataclass(frozen=True)
class StackNames:
    """Physical names of one stack's resources, as ``infra/`` names them."""

    config: StackConfig

    @property
    def model_group(self) -> str:
        """The model package group (registry.py)."""
        return self.config.resource_name(MODEL_GROUP_SUFFIX)

    @property
    def key_alias(self) -> str:
        """``alias/<prefix>-<env>-data``: the alias of the stack's KMS key (storage.py)."""
        return f"alias/{self.config.resource_name(KEY_SUFFIX)}"

    @property
    def feature_group(self) -> str | None:
        """``<prefix>-<env>-<featureGroupName>-v<version>`` (feature_store.py); None when off."""
        store = self.config.feature_store
        if not store.enabled:
            return None
        return self.config.resource_name(f"{store.feature_group_name}-v{store.version}")

    @property
    def image_repository(self) -> str:
        """The ECR repository of the project image (image.py)."""
        return self.config.resource_name(IMAGE_REPOSITORY_SUFFIX)

    @property
    def training_pipeline(self) -> str:
        """The SageMaker training pipeline (pipeline.py)."""
        return self.config.resource_name(TRAINING_PIPELINE_SUFFIX)

    @property
    def execution_role(self) -> str:
        """The role SageMaker jobs and endpoints run with (iam.py)."""
        return self.config.resource_name(EXECUTION_ROLE_SUFFIX)

    def bucket(self, purpose: str, account: str) -> str:
        """``<prefix>-<env>-<purpose>-<account>-<region>``: bucket names are global (storage.py)."""
        return f"{self.config.resource_name(purpose)}-{account}-{self.config.region}"

    def artifacts_bucket(self, account: str) -> str:
        return self.bucket("artifacts", account)

    def data_bucket(self, account: str) -> str:
        return self.bucket("data", account)
