"""What every component needs to know about its stack: names, tags, account, protection."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from infra.config import StackConfig
from infra.naming import StackNames

PROJECT = "mlops"
# A component that no longer exists, whose alarms and rules moved to other components:
# (type token, name part). The drift alarms and the pipeline failure alarm alias to it.
FORMER_DRIFT_MONITORING = ("mlops:monitoring:DriftMonitoring", "monitoring")


@dataclass(frozen=True)
class StackContext:
    """The stack-wide facts components share, resolved once by the platform."""

    config: StackConfig
    account_id: pulumi.Output[str]
    partition: pulumi.Output[str]

    @classmethod
    def create(cls, config: StackConfig) -> StackContext:
        identity = aws.get_caller_identity_output()
        partition = aws.get_partition_output()
        return cls(config=config, account_id=identity.account_id, partition=partition.partition)

    @property
    def region(self) -> str:
        return self.config.region

    @property
    def names(self) -> StackNames:
        """The physical names that code outside the program finds resources by."""
        return StackNames(self.config)

    def name(self, *parts: str) -> str:
        """Deterministic, stack-scoped name, also used as the Pulumi logical name."""
        return self.config.resource_name(*parts)

    def moved_from(self, component: tuple[str, str]) -> pulumi.Alias:
        """An alias to a resource's place under a top-level ``component`` it moved out of.

        Physical names stay when a resource moves to another component; with this
        alias ``pulumi up`` moves it in the state, where without it the engine would
        create the new resource and then delete the old one, of the same physical name.
        """
        type_token, name_part = component
        return pulumi.Alias(parent=pulumi.create_urn(self.name(name_part), type_token))

    def tags(self, component: str) -> dict[str, str]:
        """Tags for every taggable resource: the three the platform owns, then the user's."""
        return {
            **self.config.tags,
            "project": PROJECT,
            "environment": self.config.environment.value,
            "component": component,
        }

    def arn(
        self, service: str, resource: str, *, region: bool = True, account: bool = True
    ) -> pulumi.Output[str]:
        """An ARN in this stack's partition, region and account."""
        return pulumi.Output.all(self.partition, self.account_id).apply(
            lambda values: ":".join(
                [
                    "arn",
                    values[0],
                    service,
                    self.region if region else "",
                    values[1] if account else "",
                    resource,
                ]
            )
        )

    def stateful(self, parent: pulumi.Resource, **extra: Any) -> pulumi.ResourceOptions:
        """Options for a resource that holds data: protected and retained where the stack says."""
        return pulumi.ResourceOptions(
            parent=parent,
            protect=self.config.protect,
            retain_on_delete=self.config.protect,
            **extra,
        )


def policy_json(statements: list[dict[str, Any]]) -> pulumi.Output[str]:
    """An IAM policy document from statements that may hold Outputs."""
    return pulumi.Output.json_dumps({"Version": "2012-10-17", "Statement": statements})


def service_trust(
    context: StackContext,
    sid: str,
    service: str,
    source_arn: pulumi.Input[str] | None = None,
    arn_match: str = "ArnEquals",
) -> pulumi.Output[str]:
    """A role's trust policy: ``service`` of this account only, and, with ``source_arn``,
    only on behalf of that resource (``arn_match``: ``ArnEquals``, or ``ArnLike`` for a
    pattern). The confused-deputy guard every role of the stack carries."""
    condition: dict[str, Any] = {"StringEquals": {"aws:SourceAccount": context.account_id}}
    if source_arn is not None:
        condition[arn_match] = {"aws:SourceArn": source_arn}
    return policy_json(
        [
            {
                "Sid": sid,
                "Effect": "Allow",
                "Principal": {"Service": service},
                "Action": "sts:AssumeRole",
                "Condition": condition,
            }
        ]
    )
