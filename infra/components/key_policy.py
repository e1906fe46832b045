"""The stack key's policy: the account administers it; AWS services use it only for this account.

No statement grants ``kms:*``: administration and use are listed action by action.
"""

from __future__ import annotations

import pulumi

from infra.components.context import StackContext, policy_json

KEY_ADMIN_ACTIONS = [
    "kms:CancelKeyDeletion",
    "kms:CreateAlias",
    "kms:CreateGrant",
    "kms:DeleteAlias",
    "kms:DescribeKey",
    "kms:DisableKey",
    "kms:DisableKeyRotation",
    "kms:EnableKey",
    "kms:EnableKeyRotation",
    "kms:GetKeyPolicy",
    "kms:GetKeyRotationStatus",
    "kms:ListAliases",
    "kms:ListGrants",
    "kms:ListKeyPolicies",
    "kms:ListResourceTags",
    "kms:PutKeyPolicy",
    "kms:RetireGrant",
    "kms:RevokeGrant",
    "kms:ScheduleKeyDeletion",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:UpdateAlias",
    "kms:UpdateKeyDescription",
]
KEY_USE_ACTIONS = [
    "kms:Decrypt",
    "kms:DescribeKey",
    "kms:Encrypt",
    "kms:GenerateDataKey",
    "kms:GenerateDataKeyWithoutPlaintext",
    "kms:ReEncryptFrom",
    "kms:ReEncryptTo",
]


def stack_key_policy(context: StackContext) -> pulumi.Output[str]:
    """The key policy of the stack's customer-managed key."""
    root = context.arn("iam", "root", region=False)
    return policy_json(
        [
            {
                "Sid": "AccountAdministersKey",
                "Effect": "Allow",
                "Principal": {"AWS": root},
                "Action": KEY_ADMIN_ACTIONS + KEY_USE_ACTIONS,
                "Resource": "*",
            },
            {
                "Sid": "CloudWatchLogsEncryptsThisStacksLogs",
                "Effect": "Allow",
                "Principal": {"Service": f"logs.{context.region}.amazonaws.com"},
                "Action": [
                    "kms:Encrypt",
                    "kms:Decrypt",
                    "kms:ReEncryptFrom",
                    "kms:ReEncryptTo",
                    "kms:GenerateDataKey",
                    "kms:DescribeKey",
                ],
                "Resource": "*",
                "Condition": {
                    "ArnLike": {
                        "kms:EncryptionContext:aws:logs:arn": context.arn("logs", "log-group:*"),
                    }
                },
            },
            {
                "Sid": "AlarmsAndEventsPublishToTheEncryptedTopic",
                "Effect": "Allow",
                "Principal": {"Service": ["cloudwatch.amazonaws.com", "events.amazonaws.com"]},
                "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
                "Resource": "*",
                "Condition": {"StringEquals": {"aws:SourceAccount": context.account_id}},
            },
            {
                # SNS moves undeliverable notifications into the encrypted dead-letter
                # queue, and Budgets publishes to the encrypted topic; both need the key.
                # https://docs.aws.amazon.com/sns/latest/dg/sns-dead-letter-queues.html
                "Sid": "NotificationsAndBudgetsUseTheEncryptedTopicAndQueue",
                "Effect": "Allow",
                "Principal": {"Service": ["sns.amazonaws.com", "budgets.amazonaws.com"]},
                "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
                "Resource": "*",
                "Condition": {"StringEquals": {"aws:SourceAccount": context.account_id}},
            },
        ]
    )
