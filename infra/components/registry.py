"""Model registry: the stack's model package group, its state-change events and the CD hook.

Every state change of a package in this group (registered, approved, rejected)
goes to the stack's topic; approvals also land in a KMS-encrypted queue that
continuous delivery reads to deploy the next stack. EventBridge delivers at least
once, so whatever reads the queue must be idempotent (``pipelines.registry`` is).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.components.context import StackContext, policy_json
from infra.components.dead_letters import queue_alarm, queue_metric
from infra.components.iam import PlatformRoles
from infra.components.metric import Metric
from infra.components.notifications import Notifications
from infra.components.storage import StackStorage

EVENT_SOURCE = "aws.sagemaker"
EVENT_DETAIL_TYPE = "SageMaker Model Package State Change"
CD_QUEUE_RETENTION_SECONDS = 4 * 24 * 3600
CD_QUEUE_MAX_AGE_SECONDS = 24 * 3600  # an approval nobody deployed for a day is announced
CD_QUEUE_MAX_RECEIVES = 5  # a message that fails this often moves to the dead-letter queue
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
    """The key of the CD queue, the roles grants attach to, and where events are announced."""

    storage: StackStorage
    roles: PlatformRoles
    notifications: Notifications


class ModelRegistry(pulumi.ComponentResource):
    """One model package group per stack, announced on the topic and queued for CD."""

    group: aws.sagemaker.ModelPackageGroup
    group_name: str
    cd_queue: aws.sqs.Queue

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
        self._target(self.state_rule, "model-package-state-topic", "stack-topic", topic=True)
        self.cd_queue = self._cd_queue(args.storage.key)
        self.cd_queue_alarm = queue_alarm(
            context,
            context.name("model-approvals"),
            self.metric_oldest_approval_age(),
            threshold=CD_QUEUE_MAX_AGE_SECONDS,
            description=(
                "An approved model has waited a day in the CD queue: nobody promoted it "
                f"(the queue keeps messages {CD_QUEUE_RETENTION_SECONDS // 86400} days)"
            ),
            topic_arn=args.notifications.topic.arn,
            parent=self,
        )
        self.approval_rule = self._rule(
            "model-package-approved",
            f"Approvals in {self.group_name}: deploy the next stack",
            approved_only=True,
        )
        self._cd_queue_policy()
        self._target(self.approval_rule, "model-package-approved-cd", "cd-hook", topic=False)
        self.register_outputs(
            {
                "modelPackageGroupName": self.group.model_package_group_name,
                "modelPackageGroupArn": self.group.arn,
                "cdQueueUrl": self.cd_queue.url,
            }
        )

    def metric_oldest_approval_age(self) -> Metric:
        """Seconds the oldest approval has waited in the CD queue."""
        return queue_metric(self.cd_queue, "ApproximateAgeOfOldestMessage")

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
        self, rule: aws.cloudwatch.EventRule, logical: str, target_id: str, *, topic: bool
    ) -> aws.cloudwatch.EventTarget:
        """The stack topic (``topic``) or the CD queue as a target of ``rule``."""
        notifications = self._notifications
        return aws.cloudwatch.EventTarget(
            self._context.name(logical),
            rule=rule.name,
            target_id=target_id,
            arn=notifications.topic.arn if topic else self.cd_queue.arn,
            dead_letter_config=notifications.dead_letters.for_rule(rule),
            retry_policy=TARGET_RETRY_POLICY,
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _cd_queue(self, key: aws.kms.Key) -> aws.sqs.Queue:
        """Approvals wait here for CD; what fails too often moves to the dead-letter queue."""
        context = self._context
        return aws.sqs.Queue(
            context.name("model-approvals"),
            name=context.name("model-approvals"),
            kms_master_key_id=key.arn,
            kms_data_key_reuse_period_seconds=3600,
            message_retention_seconds=CD_QUEUE_RETENTION_SECONDS,
            redrive_policy=pulumi.Output.json_dumps(
                {
                    "deadLetterTargetArn": self._notifications.dead_letters.queue.arn,
                    "maxReceiveCount": CD_QUEUE_MAX_RECEIVES,
                }
            ),
            tags=context.tags("registry"),
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _cd_queue_policy(self) -> aws.sqs.QueuePolicy:
        """Only the approval rule sends, and only over TLS."""
        return aws.sqs.QueuePolicy(
            self._context.name("model-approvals-policy"),
            queue_url=self.cd_queue.url,
            policy=policy_json(
                [
                    {
                        "Sid": "ApprovalRuleSendsOnly",
                        "Effect": "Allow",
                        "Principal": {"Service": "events.amazonaws.com"},
                        "Action": "sqs:SendMessage",
                        "Resource": self.cd_queue.arn,
                        "Condition": {"ArnEquals": {"aws:SourceArn": self.approval_rule.arn}},
                    },
                    {
                        "Sid": "DenyInsecureTransport",
                        "Effect": "Deny",
                        "Principal": "*",
                        "Action": "sqs:*",
                        "Resource": self.cd_queue.arn,
                        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                    },
                ]
            ),
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
