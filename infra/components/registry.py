"""Model registry: the stack's model package group, its state-change events and the CD hook.

Every state change of a package in this group (registered, approved, rejected)
goes to the stack's topic; approvals also land in a KMS-encrypted queue that
continuous delivery reads to deploy the next stack. EventBridge delivers at least
once, so whatever reads the queue must be idempotent (``pipelines.registry`` is).
"""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws

from infra.components.context import StackContext, policy_json
from infra.components.dead_letters import queue_alarm
from infra.components.iam import PlatformRoles
from infra.components.notifications import Notifications
from infra.components.storage import StackStorage
from infra.naming import MODEL_GROUP_SUFFIX

EVENT_SOURCE = "aws.sagemaker"
EVENT_DETAIL_TYPE = "SageMaker Model Package State Change"
GROUP_SUFFIX = MODEL_GROUP_SUFFIX
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


class ModelRegistry(pulumi.ComponentResource):
    """One model package group per stack, announced on the topic and queued for CD."""

    group: aws.sagemaker.ModelPackageGroup
    group_name: str
    cd_queue: aws.sqs.Queue

    def __init__(
        self,
        name: str,
        context: StackContext,
        storage: StackStorage,
        roles: PlatformRoles,
        notifications: Notifications,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("mlops:registry:ModelRegistry", name, None, opts)
        self._context = context
        self._roles = roles
        self._storage = storage
        child = pulumi.ResourceOptions(parent=self)
        self.group_name = context.name(GROUP_SUFFIX)
        self.group = aws.sagemaker.ModelPackageGroup(
            self.group_name,
            model_package_group_name=self.group_name,
            model_package_group_description=f"Fraud models of {context.name()}",
            tags=context.tags("registry"),
            opts=context.stateful(self),
        )
        self.state_rule = aws.cloudwatch.EventRule(
            context.name("model-package-state"),
            name=context.name("model-package-state"),
            description=f"State changes of packages in {self.group_name}",
            event_pattern=state_change_pattern(self.group_name),
            tags=context.tags("registry"),
            opts=child,
        )
        aws.cloudwatch.EventTarget(
            context.name("model-package-state-topic"),
            rule=self.state_rule.name,
            target_id="stack-topic",
            arn=notifications.topic.arn,
            dead_letter_config=notifications.dead_letters.for_rule(self.state_rule),
            retry_policy=TARGET_RETRY_POLICY,
            opts=child,
        )
        self.cd_queue = aws.sqs.Queue(
            context.name("model-approvals"),
            name=context.name("model-approvals"),
            kms_master_key_id=storage.key.arn,
            kms_data_key_reuse_period_seconds=3600,
            message_retention_seconds=CD_QUEUE_RETENTION_SECONDS,
            redrive_policy=pulumi.Output.json_dumps(
                {
                    "deadLetterTargetArn": notifications.dead_letters.queue.arn,
                    "maxReceiveCount": CD_QUEUE_MAX_RECEIVES,
                }
            ),
            tags=context.tags("registry"),
            opts=child,
        )
        self.cd_queue_alarm = queue_alarm(
            context,
            self.cd_queue,
            context.name("model-approvals"),
            metric_name="ApproximateAgeOfOldestMessage",
            threshold=CD_QUEUE_MAX_AGE_SECONDS,
            description=(
                "An approved model has waited a day in the CD queue: nobody promoted it "
                f"(the queue keeps messages {CD_QUEUE_RETENTION_SECONDS // 86400} days)"
            ),
            topic_arn=notifications.topic.arn,
            parent=self,
        )
        self.approval_rule = aws.cloudwatch.EventRule(
            context.name("model-package-approved"),
            name=context.name("model-package-approved"),
            description=f"Approvals in {self.group_name}: deploy the next stack",
            event_pattern=state_change_pattern(self.group_name, approved_only=True),
            tags=context.tags("registry"),
            opts=child,
        )
        aws.sqs.QueuePolicy(
            context.name("model-approvals-policy"),
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
            opts=child,
        )
        aws.cloudwatch.EventTarget(
            context.name("model-package-approved-cd"),
            rule=self.approval_rule.name,
            target_id="cd-hook",
            arn=self.cd_queue.arn,
            dead_letter_config=notifications.dead_letters.for_rule(self.approval_rule),
            retry_policy=TARGET_RETRY_POLICY,
            opts=child,
        )
        self.register_outputs(
            {
                "modelPackageGroupName": self.group.model_package_group_name,
                "modelPackageGroupArn": self.group.arn,
                "cdQueueUrl": self.cd_queue.url,
            }
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
    ) -> list[aws.iam.RolePolicy]:
        """Let ``role`` list and describe this group's packages and read their model artifacts.

        ``ListModelPackages`` and ``DescribeModelPackage`` take the ``model-package``
        resource type (Service Authorization Reference, Amazon SageMaker), so both are
        scoped to this group's packages; the artifacts live in the stack's artifacts bucket.
        """
        listing = self._roles.add_policy(
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
        return [listing, self._storage.grant_read(role, self._storage.artifacts)]
