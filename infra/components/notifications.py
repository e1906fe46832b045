"""The stack's SNS topic: where alarms, registry events, budgets and dead letters are announced.

People hear the topic through its subscriptions (email addresses and HTTPS
endpoints from ``monitoring.alarmEmails`` and ``monitoring.alarmHttpsEndpoints``);
what SNS cannot deliver to them lands in the stack's dead-letter queue.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.components.context import StackContext, policy_json
from infra.components.dead_letters import DeadLetterQueue, DeadLetterQueueArgs
from infra.components.storage import StackStorage


def subscription_suffix(endpoint: str) -> str:
    """A stable name part per address, so reordering the list replaces no subscription."""
    return hashlib.sha256(endpoint.encode()).hexdigest()[:8]


@dataclass(frozen=True)
class NotificationsArgs:
    """The key of topic and queue, who hears the topic, and whether Budgets publishes to it."""

    storage: StackStorage
    emails: Sequence[str] = ()
    https_endpoints: Sequence[str] = ()
    budgets_publish: bool = False


class Notifications(pulumi.ComponentResource):
    """One KMS-encrypted topic per stack, its subscribers and the stack's dead-letter queue."""

    topic: aws.sns.Topic
    dead_letters: DeadLetterQueue
    subscriptions: list[aws.sns.TopicSubscription]

    def __init__(
        self,
        name: str,
        context: StackContext,
        args: NotificationsArgs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("mlops:monitoring:Notifications", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        key = args.storage.key
        self.topic = aws.sns.Topic(
            context.name("events"),
            name=context.name("events"),
            kms_master_key_id=key.arn,
            tags=context.tags("monitoring"),
            opts=child,
        )
        self.topic_policy = aws.sns.TopicPolicy(
            context.name("events-policy"),
            arn=self.topic.arn,
            policy=policy_json(self._topic_statements(context, args.budgets_publish)),
            opts=child,
        )
        self.dead_letters = DeadLetterQueue(
            context.name("dead-letters"),
            context,
            DeadLetterQueueArgs(key=key, topic_arn=self.topic.arn),
            opts=child,
        )
        self.subscriptions = [
            aws.sns.TopicSubscription(
                context.name(f"events-{protocol}", subscription_suffix(endpoint)),
                topic=self.topic.arn,
                protocol=protocol,
                endpoint=endpoint,
                redrive_policy=self.dead_letters.redrive_policy(self.topic),
                opts=child,
            )
            for protocol, endpoints in (("email", args.emails), ("https", args.https_endpoints))
            for endpoint in endpoints
        ]
        self.register_outputs({"topicArn": self.topic.arn})

    def _topic_statements(
        self, context: StackContext, budgets_publish: bool
    ) -> list[dict[str, object]]:
        statements: list[dict[str, object]] = [
            {
                "Sid": "AlarmsAndEventsOfThisAccountPublish",
                "Effect": "Allow",
                "Principal": {"Service": ["cloudwatch.amazonaws.com", "events.amazonaws.com"]},
                "Action": "sns:Publish",
                "Resource": self.topic.arn,
                "Condition": {"StringEquals": {"aws:SourceAccount": context.account_id}},
            },
        ]
        if budgets_publish:
            # https://docs.aws.amazon.com/cost-management/latest/userguide/budgets-sns-policy.html
            statements.append(
                {
                    "Sid": "BudgetsOfThisAccountPublish",
                    "Effect": "Allow",
                    "Principal": {"Service": "budgets.amazonaws.com"},
                    "Action": "sns:Publish",
                    "Resource": self.topic.arn,
                    "Condition": {
                        "StringEquals": {"aws:SourceAccount": context.account_id},
                        "ArnLike": {"aws:SourceArn": context.arn("budgets", "*", region=False)},
                    },
                }
            )
        statements.append(
            {
                "Sid": "DenyInsecureTransport",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "sns:Publish",
                "Resource": self.topic.arn,
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            }
        )
        return statements
