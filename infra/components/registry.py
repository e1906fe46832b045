"""Model registry: the stack's model package group, its state-change events and the CD hook.

Every state change of a package in this group (registered, approved, rejected)
goes to the stack's topic. Approvals also match a second rule, the CD hook:
with ``delivery.github.repository`` set, its target sends each approval to
GitHub as a repository dispatch (``delivery.py``), whose workflow pins that
package in this stack's file by a pull request. EventBridge delivers at least
once and in any order, so that workflow is idempotent (``ops.release``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.components.context import StackContext
from infra.components.iam import PlatformRoles
from infra.components.notifications import Notifications

EVENT_SOURCE = "aws.sagemaker"
EVENT_DETAIL_TYPE = "SageMaker Model Package State Change"
# EventBridge retries a failed delivery for up to a day by default; an hour is plenty here.
TARGET_RETRY_POLICY = {"maximum_event_age_in_seconds": 3600, "maximum_retry_attempts": 10}


def state_change_pattern(group_name: str, approved_only: bool = False) -> str:
    """The EventBridge pattern of this group's package state changes."""
    detail: dict[str, list[str]] = {"ModelPackageGroupName": [group_name]}
    if approved_only:
        detail["ModelApprovalStatus"] = ["Approved"]
    return json.dumps(
        {"source": [EVENT_SOURCE], "detail-type": [EVENT_DETAIL_TYPE], "detail": detail},
        sort_keys=True,
    )


@dataclass(frozen=True)
class ModelRegistryArgs:
    """The roles grants attach to, and where events are announced."""

    roles: PlatformRoles
    notifications: Notifications


class ModelRegistry(pulumi.ComponentResource):
    """One model package group per stack, its state changes announced, its approvals a CD hook."""

    group: aws.sagemaker.ModelPackageGroup
    group_name: str

    def __init__(
        self,
        name: str,
        context: StackContext,
        args: ModelRegistryArgs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("mlops:registry:ModelRegistry", name, None, opts)
        self._context = context
        self._roles = args.roles
        self._notifications = args.notifications
        self.group_name = context.names.model_group
        self.group = aws.sagemaker.ModelPackageGroup(
            self.group_name,
            model_package_group_name=self.group_name,
            model_package_group_description=f"Fraud models of {context.name()}",
            tags=context.tags("registry"),
            opts=context.stateful(self),
        )
        self.state_rule = self._rule(
            "model-package-state", f"State changes of packages in {self.group_name}"
        )
        self._target(self.state_rule, "model-package-state-topic", "stack-topic")
        # Its target is the GitHub dispatch (delivery.py) when delivery.github is set.
        self.approval_rule = self._rule(
            "model-package-approved",
            f"Approvals in {self.group_name}: serve the approved package (pull request)",
            approved_only=True,
        )
        self.register_outputs(
            {
                "modelPackageGroupName": self.group.model_package_group_name,
                "modelPackageGroupArn": self.group.arn,
            }
        )

    def _rule(
        self, purpose: str, description: str, approved_only: bool = False
    ) -> aws.cloudwatch.EventRule:
        context = self._context
        return aws.cloudwatch.EventRule(
            context.name(purpose),
            name=context.name(purpose),
            description=description,
            event_pattern=state_change_pattern(self.group_name, approved_only=approved_only),
            tags=context.tags("registry"),
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _target(
        self, rule: aws.cloudwatch.EventRule, logical: str, target_id: str
    ) -> aws.cloudwatch.EventTarget:
        """The stack topic as a target of ``rule``."""
        notifications = self._notifications
        return aws.cloudwatch.EventTarget(
            self._context.name(logical),
            rule=rule.name,
            target_id=target_id,
            arn=notifications.topic.arn,
            dead_letter_config=notifications.dead_letters.for_rule(rule),
            retry_policy=TARGET_RETRY_POLICY,
            opts=pulumi.ResourceOptions(parent=self),
        )

    @property
    def packages_arn(self) -> pulumi.Output[str]:
        """ARN pattern of this group's versioned packages."""
        return self._context.arn("sagemaker", f"model-package/{self.group_name}/*")

    def grant_register(
        self, role: aws.iam.Role, parent: pulumi.Resource | None = None
    ) -> aws.iam.RolePolicy:
        """Let ``role`` register and describe packages in this group, and nothing else."""
        return self._roles.add_policy(
            role,
            "register-models",
            [
                {
                    "Sid": "RegisterIntoThisGroup",
                    "Effect": "Allow",
                    "Action": [
                        "sagemaker:CreateModelPackage",
                        "sagemaker:DescribeModelPackage",
                        "sagemaker:UpdateModelPackage",
                        "sagemaker:AddTags",
                    ],
                    "Resource": [self.group.arn, self.packages_arn],
                },
                {
                    "Sid": "ReadThisGroup",
                    "Effect": "Allow",
                    "Action": ["sagemaker:DescribeModelPackageGroup"],
                    "Resource": self.group.arn,
                },
            ],
            parent=parent or self,
        )

    def grant_read(
        self, role: aws.iam.Role, parent: pulumi.Resource | None = None
    ) -> aws.iam.RolePolicy:
        """Let ``role`` list and describe this group's packages.

        ``ListModelPackages`` and ``DescribeModelPackage`` take the ``model-package``
        resource type (Service Authorization Reference, Amazon SageMaker), so both are
        scoped to this group's packages. The packages' model artifacts live in the
        stack's artifacts bucket: read them with ``StackStorage.grant_read``.
        """
        return self._roles.add_policy(
            role,
            "read-models",
            [
                {
                    "Sid": "ReadThisGroupsPackages",
                    "Effect": "Allow",
                    "Action": ["sagemaker:ListModelPackages", "sagemaker:DescribeModelPackage"],
                    "Resource": [self.group.arn, self.packages_arn],
                },
                {
                    "Sid": "ReadThisGroup",
                    "Effect": "Allow",
                    "Action": ["sagemaker:DescribeModelPackageGroup"],
                    "Resource": self.group.arn,
                },
            ],
            parent=parent or self,
        )
