"""The names a stack's resources get from the Pulumi program, for code that runs outside it.

Promotion, deployment, the local runner and the feature-group lock find a
stack's bucket, key, registry group, image repository and feature group by
these names; each function mirrors the component that creates the resource
(``infra/components/storage.py``, ``registry.py``, ``image.py``,
``feature_store.py``), so the two stay in one place each.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from infra.image_context import REPOSITORY_SUFFIX as IMAGE_REPOSITORY_SUFFIX

MODEL_GROUP_SUFFIX = "fraud-models"

if TYPE_CHECKING:
    from infra.config import StackConfig


@dataclass(frozen=True)
class StackNames:
    """Physical names of one stack's resources, as ``infra/`` names them."""

    config: StackConfig

    @property
    def model_group(self) -> str:
        return self.config.resource_name(MODEL_GROUP_SUFFIX)

    @property
    def key_alias(self) -> str:
        """``alias/<prefix>-<env>-data``: the alias of the stack's KMS key (storage.py)."""
        return f"alias/{self.config.resource_name('data')}"

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

    def artifacts_bucket(self, account: str) -> str:
        """``<prefix>-<env>-artifacts-<account>-<region>`` (storage.py)."""
        return f"{self.config.resource_name('artifacts')}-{account}-{self.config.region}"

    def data_bucket(self, account: str) -> str:
        return f"{self.config.resource_name('data')}-{account}-{self.config.region}"
