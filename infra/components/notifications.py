"""The stack's SNS topic: where alarms, registry events and pipeline failures are announced."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from infra.components.context import StackContext, policy_json
from infra.components.storage import StackStorage


class Notifications(pulumi.ComponentResource):
    """One KMS-encrypted topic per stack; CloudWatch, EventBridge and this account publish."""

    topic: aws.sns.Topic

    def __init__(
        self,
        name: str,
        context: StackContext,
        storage: StackStorage,
        email: str | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("mlops:monitoring:Notifications", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.topic = aws.sns.Topic(
            context.name("events"),
            name=context.name("events"),
            kms_master_key_id=storage.key.arn,
            tags=context.tags("monitoring"),
            opts=child,
        )
        self.topic_policy = aws.sns.TopicPolicy(
            context.name("events-policy"),
            arn=self.topic.arn,
            policy=policy_json(
                [
                    {
                        "Sid": "AlarmsAndEventsOfThisAccountPublish",
                        "Effect": "Allow",
                        "Principal": {
                            "Service": ["cloudwatch.amazonaws.com", "events.amazonaws.com"]
                        },
                        "Action": "sns:Publish",
                        "Resource": self.topic.arn,
                        "Condition": {"StringEquals": {"aws:SourceAccount": context.account_id}},
                    },
                    {
                        "Sid": "DenyInsecureTransport",
                        "Effect": "Deny",
                        "Principal": "*",
                        "Action": "sns:Publish",
                        "Resource": self.topic.arn,
                        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                    },
                ]
            ),
            opts=child,
        )
        if email is not None:
            aws.sns.TopicSubscription(
                context.name("events-email"),
                topic=self.topic.arn,
                protocol="email",
                endpoint=email,
                opts=child,
            )
        self.register_outputs({"topicArn": self.topic.arn})

    def grant_publish_statement(self) -> dict[str, object]:
        """The IAM statement a role needs to publish here (the key is granted separately)."""
        return {
            "Sid": "PublishToTheStackTopic",
            "Effect": "Allow",
            "Action": "sns:Publish",
            "Resource": self.topic.arn,
        }
