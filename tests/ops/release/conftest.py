"""moto with every stack's registry side, and copies of the stack files, for the release tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from infra.config import load_stack
from infra.config.stack_file import stack_file
from ops.local.stack_emulation import EmulatedStack, provision_stack, push_image
from ops.release.promote import PromotionClients
from tests.ops.release.promotion_helpers import IMAGE_DIGEST


@pytest.fixture
def aws() -> Iterator[tuple[PromotionClients, dict[str, EmulatedStack]]]:
    """moto with the dev, staging and prod stacks' buckets, keys, groups and repositories."""
    import boto3
    from moto import mock_aws

    with mock_aws():
        session = boto3.session.Session(region_name="us-east-1")
        clients = PromotionClients(
            *(session.client(name) for name in ("sagemaker", "s3", "kms", "sts", "ecr"))
        )
        stacks = {s: provision_stack(clients, load_stack(s)) for s in ("dev", "staging", "prod")}
        # The image dev's packages name (tests.factories.IMAGE). Its layers are in every
        # stack's repository already (moto cannot hand out layer downloads; the blob transfer is
        # tested in test_image_copy.py), so promotion copies the manifest only.
        for stack in ("dev", "staging", "prod"):
            push_image(clients.ecr, f"mlops-{stack}-image", [b"the project image"], IMAGE_DIGEST)
        yield clients, stacks


@pytest.fixture
def clients(aws) -> PromotionClients:
    return aws[0]


@pytest.fixture
def files(tmp_path) -> dict[str, Path]:
    """Copies of the real stack files, comments and all."""
    copies = {}
    for stack in ("dev", "staging", "prod"):
        path = tmp_path / f"Pulumi.{stack}.yaml"
        path.write_text(stack_file(stack).read_text(encoding="utf-8"), encoding="utf-8")
        copies[stack] = path
    return copies
