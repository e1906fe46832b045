"""The AWS clients of the simulation, all pointed at one emulator."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

from ops.local.emulator import AwsClients
from ops.release.promote import PromotionClients

SERVICES = ("s3", "sagemaker", "cloudwatch", "events", "sqs", "kms", "sts", "ecr", "dynamodb")


@dataclass(frozen=True)
class SimClients:
    """One client per service the simulation plays against, on the emulator's URL."""

    region: str
    endpoint_url: str
    s3: Any
    sagemaker: Any
    cloudwatch: Any
    events: Any
    sqs: Any
    kms: Any
    sts: Any
    ecr: Any
    dynamodb: Any

    @property
    def aws(self) -> AwsClients:
        """What the local runner takes."""
        return AwsClients(self.s3, self.sagemaker, self.region, self.endpoint_url)

    @property
    def promotion(self) -> PromotionClients:
        """What the release commands take."""
        return PromotionClients(self.sagemaker, self.s3, self.kms, self.sts, self.ecr)

    @cached_property
    def account(self) -> str:
        return str(self.sts.get_caller_identity()["Account"])


def sim_clients(region: str, endpoint_url: str) -> SimClients:
    """Clients for every service in ``SERVICES`` with the emulator's test credentials."""
    from ops.aws import aws_session

    session = aws_session(region, endpoint_url)
    made = {name: session.client(name, endpoint_url=endpoint_url) for name in SERVICES}
    return SimClients(region=region, endpoint_url=endpoint_url, **made)
