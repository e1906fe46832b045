"""Bucket policies of the stack's buckets: TLS only, the stack key only, log delivery scoped.

Default encryption applies only to uploads that name no encryption; these
statements close the explicit ways around it (SSE-S3 asked for by name,
another KMS key, a customer-provided key), so every object of a KMS bucket
is readable exactly by those the stack key's policy allows.
"""

from __future__ import annotations

import pulumi

from infra.components.context import StackContext, policy_json

Statement = dict[str, object]


def secure_bucket_policy(
    context: StackContext,
    bucket_arn: pulumi.Output[str],
    key_arn: pulumi.Output[str] | None,
) -> pulumi.Output[str]:
    """The policy of one bucket; ``key_arn`` None marks the SSE-S3 access-log bucket."""
    objects = pulumi.Output.concat(bucket_arn, "/*")
    statements = _tls_only(bucket_arn, objects)
    if key_arn is not None:
        statements += _stack_key_only(objects, key_arn)
    else:
        statements.append(_log_delivery(context, objects))
    return policy_json(statements)


def _deny(sid: str, action: str, resource: object, condition: dict[str, object]) -> Statement:
    return {
        "Sid": sid,
        "Effect": "Deny",
        "Principal": "*",
        "Action": action,
        "Resource": resource,
        "Condition": condition,
    }


def _tls_only(bucket_arn: pulumi.Output[str], objects: pulumi.Output[str]) -> list[Statement]:
    both = [bucket_arn, objects]
    return [
        _deny("DenyInsecureTransport", "s3:*", both, {"Bool": {"aws:SecureTransport": "false"}}),
        _deny("DenyOutdatedTls", "s3:*", both, {"NumericLessThan": {"s3:TlsVersion": "1.2"}}),
    ]


def _stack_key_only(objects: pulumi.Output[str], key_arn: pulumi.Output[str]) -> list[Statement]:
    key_id = "s3:x-amz-server-side-encryption-aws-kms-key-id"
    algorithm = "s3:x-amz-server-side-encryption"
    return [
        _deny(
            "DenyObjectsNotEncryptedWithTheStackKey",
            "s3:PutObject",
            objects,
            {
                "StringNotEqualsIfExists": {key_id: key_arn},
                "Null": {key_id: "false"},
            },
        ),
        _deny(
            "DenyObjectsEncryptedWithoutKms",
            "s3:PutObject",
            objects,
            {
                "StringNotEquals": {algorithm: "aws:kms"},
                "Null": {algorithm: "false"},
            },
        ),
        _deny(
            "DenyCustomerProvidedKeys",
            "s3:PutObject",
            objects,
            {
                "Null": {"s3:x-amz-server-side-encryption-customer-algorithm": "false"},
            },
        ),
    ]


def _log_delivery(context: StackContext, objects: pulumi.Output[str]) -> Statement:
    """S3 server access logs, from this account's buckets of this stack only."""
    stack_buckets = pulumi.Output.concat("arn:", context.partition, ":s3:::", context.name(), "-*")
    return {
        "Sid": "S3ServerAccessLogsDelivery",
        "Effect": "Allow",
        "Principal": {"Service": "logging.s3.amazonaws.com"},
        "Action": "s3:PutObject",
        "Resource": objects,
        "Condition": {
            "StringEquals": {"aws:SourceAccount": context.account_id},
            "ArnLike": {"aws:SourceArn": stack_buckets},
        },
    }
