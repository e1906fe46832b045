"""The stack's dead-letter queue, and the alarms every queue of the stack carries.

Whatever the stack delivers asynchronously names this queue for what it could
not deliver: every EventBridge rule target (``DeadLetterConfig``, sent by
``events.amazonaws.com`` for the rule), every EventBridge Scheduler schedule
(sent with the schedule's execution role), the retrain gate function (sent
with its role) and every SNS subscription
(``RedrivePolicy``, sent by ``sns.amazonaws.com`` for the topic). The queue
policy lets exactly those sources send, and an alarm tells the stack topic as
soon as one message waits.

AWS contracts:
https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-dlq.html,
https://docs.aws.amazon.com/scheduler/latest/UserGuide/configuring-schedule-dlq.html,
https://docs.aws.amazon.com/sns/latest/dg/sns-dead-letter-queues.html.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.components.context import StackContext, policy_json
from infra.components.metric import Metric

RETENTION_SECONDS = 14 * 24 * 3600  # the SQS maximum: two weeks to look at a failure
SQS_NAMESPACE = "AWS/SQS"
QUEUE_ALARM_PERIOD = 300  # SQS publishes its metrics every five minutes


@dataclass(frozen=True)
class DeadLetterQueueArgs:
    """The stack key the queue is encrypted with, and the topic its alarm tells."""

    key: aws.kms.Key
    topic_arn: pulumi.Input[str]


class DeadLetterQueue(pulumi.ComponentResource):
    """One KMS-encrypted dead-letter queue per stack, alarmed, open only to the stack's sources.

    Sources register as they are wired (``for_rule``, ``for_role``,
    ``redrive_policy``); ``attach_policy`` then writes the queue policy naming
    exactly them, once every component exists.
    """

    queue: aws.sqs.Queue
    alarm: aws.cloudwatch.MetricAlarm

    def __init__(
        self,
        name: str,
        context: StackContext,
        args: DeadLetterQueueArgs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("mlops:monitoring:DeadLetterQueue", name, None, opts)
        self._context = context
        self._key = key = args.key
        # Keyed by the source's logical name: a source wired twice is named once.
        self._rule_arns: dict[str, pulumi.Output[str]] = {}
        self._topic_arns: dict[str, pulumi.Output[str]] = {}
        self._role_arns: dict[str, pulumi.Output[str]] = {}
        self.policy: aws.sqs.QueuePolicy | None = None
        queue_name = context.name("dead-letters")
        self.queue = aws.sqs.Queue(
            queue_name,
            name=queue_name,
            kms_master_key_id=key.arn,
            kms_data_key_reuse_period_seconds=3600,
            message_retention_seconds=RETENTION_SECONDS,
            tags=context.tags("monitoring"),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.alarm = queue_alarm(
            context,
            queue_name,
            self.metric_messages_visible(),
            threshold=0,
            description=(
                f"Something this stack sent could not be delivered: read {queue_name} "
                "for the event, its rule or schedule and the error"
            ),
            topic_arn=args.topic_arn,
            parent=self,
        )

    def metric_messages_visible(self) -> Metric:
        """Messages waiting in the queue: anything above zero is something undelivered."""
        return queue_metric(self.queue, "ApproximateNumberOfMessagesVisible")

    def for_rule(self, rule: aws.cloudwatch.EventRule) -> dict[str, pulumi.Input[str]]:
        """The ``dead_letter_config`` of a target of ``rule``; lets EventBridge send for it."""
        self._rule_arns[rule._name] = rule.arn
        return {"arn": self.queue.arn}

    def for_role(
        self, role: aws.iam.Role, parent: pulumi.Resource
    ) -> tuple[dict[str, pulumi.Input[str]], aws.iam.RolePolicy]:
        """A dead-letter config for a sender that uses its own role: a schedule, a function.

        Scheduler sends a schedule's dead letters with the schedule's execution
        role, Lambda an asynchronous invocation's with the function's. The role
        gets ``sqs:SendMessage`` on this queue and the key actions an encrypted
        queue needs; the returned policy must exist before the sender.
        """
        self._role_arns[role._name] = role.arn
        grant = aws.iam.RolePolicy(
            f"{role._name}-dead-letters",
            role=role.id,
            name="send-dead-letters",
            policy=policy_json(
                [
                    {
                        "Sid": "SendUndeliveredInvocations",
                        "Effect": "Allow",
                        "Action": "sqs:SendMessage",
                        "Resource": self.queue.arn,
                    },
                    {
                        "Sid": "EncryptForTheDeadLetterQueue",
                        "Effect": "Allow",
                        "Action": ["kms:GenerateDataKey", "kms:Decrypt"],
                        "Resource": self._key.arn,
                    },
                ]
            ),
            opts=pulumi.ResourceOptions(parent=parent),
        )
        return {"arn": self.queue.arn}, grant

    def redrive_policy(self, topic: aws.sns.Topic) -> pulumi.Output[str]:
        """A subscription's ``redrive_policy``; lets SNS send for ``topic``."""
        self._topic_arns[topic._name] = topic.arn
        return pulumi.Output.json_dumps({"deadLetterTargetArn": self.queue.arn})

    def attach_policy(self) -> aws.sqs.QueuePolicy:
        """Write the queue policy for every source registered so far; call once, last."""
        if self.policy is not None:
            raise RuntimeError("the dead-letter queue policy is already attached")
        context = self._context
        account = {"StringEquals": {"aws:SourceAccount": context.account_id}}
        statements: list[dict[str, object]] = []
        for sid, service, arns in (
            ("RulesOfThisStackSendFailedEvents", "events.amazonaws.com", self._rule_arns),
            ("TheStackTopicRedrivesFailedDeliveries", "sns.amazonaws.com", self._topic_arns),
        ):
            if arns:
                statements.append(
                    {
                        "Sid": sid,
                        "Effect": "Allow",
                        "Principal": {"Service": service},
                        "Action": "sqs:SendMessage",
                        "Resource": self.queue.arn,
                        "Condition": {
                            **account,
                            "ArnEquals": {"aws:SourceArn": list(arns.values())},
                        },
                    }
                )
        if self._role_arns:
            statements.append(
                {
                    "Sid": "RolesOfThisStackSendFailedInvocations",
                    "Effect": "Allow",
                    "Principal": {"AWS": list(self._role_arns.values())},
                    "Action": "sqs:SendMessage",
                    "Resource": self.queue.arn,
                }
            )
        statements.append(
            {
                "Sid": "DenyInsecureTransport",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "sqs:*",
                "Resource": self.queue.arn,
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            }
        )
        self.policy = aws.sqs.QueuePolicy(
            context.name("dead-letters-policy"),
            queue_url=self.queue.url,
            policy=policy_json(statements),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.register_outputs({"queueUrl": self.queue.url, "alarmName": self.alarm.name})
        return self.policy


def queue_metric(queue: aws.sqs.Queue, metric_name: str) -> Metric:
    """A metric SQS publishes for ``queue`` (every five minutes), at its maximum."""
    return Metric(SQS_NAMESPACE, metric_name, {"QueueName": queue.name}, statistic="Maximum")


def queue_alarm(
    context: StackContext,
    queue_name: str,
    metric: Metric,
    *,
    threshold: float,
    description: str,
    topic_arn: pulumi.Input[str],
    parent: pulumi.Resource,
) -> aws.cloudwatch.MetricAlarm:
    """An alarm to the stack topic when ``metric`` of queue ``queue_name`` exceeds ``threshold``."""
    suffix = {
        "ApproximateNumberOfMessagesVisible": "waiting",
        "ApproximateAgeOfOldestMessage": "oldest",
    }[metric.metric_name]
    name = f"{queue_name}-{suffix}"
    return metric.create_alarm(
        context,
        name,
        description=description,
        comparison="GreaterThanThreshold",
        threshold=threshold,
        period=QUEUE_ALARM_PERIOD,
        topic=topic_arn,
        opts=pulumi.ResourceOptions(parent=parent),
    )
