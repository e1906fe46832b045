"""Storage: the stack's KMS key and its buckets, secure by default, with grant helpers.

Every bucket is versioned, encrypted with the stack's key (bucket keys on),
closed to the public, TLS-only, refusing uploads under any other key
(``bucket_policy.py``), logged and expiring by prefix. The access-log bucket
is the one exception to KMS: S3 server access logging delivers only to
buckets encrypted with SSE-S3.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from infra.components.bucket_policy import secure_bucket_policy
from infra.components.context import StackContext, policy_json
from infra.components.key_policy import KEY_USE_ACTIONS, stack_key_policy
from infra.components.lifecycle import (
    UNREGISTERED_DATASET_COPIES,
    ExpiringPrefix,
    ExpiringTagged,
    lifecycle_rules,
    tagged_expiration,
)
from infra.config import Storage as StorageSettings

READ_ACTIONS = ["s3:GetObject", "s3:GetObjectVersion", "s3:GetObjectTagging"]
WRITE_ACTIONS = ["s3:PutObject", "s3:PutObjectTagging", "s3:AbortMultipartUpload"]


@dataclass
class SecureBucket:
    """One bucket and the resources that make it secure; ``name`` is the S3 bucket name."""

    purpose: str
    bucket: aws.s3.Bucket
    kms_encrypted: bool
    children: list[pulumi.Resource] = field(default_factory=list)

    @property
    def arn(self) -> pulumi.Output[str]:
        return self.bucket.arn

    @property
    def name(self) -> pulumi.Output[str]:
        return self.bucket.bucket


@dataclass(frozen=True)
class StackStorageArgs:
    """How long what the buckets hold is kept, and whether a stack may be emptied."""

    settings: StorageSettings


class StackStorage(pulumi.ComponentResource):
    """The KMS key and the data, artifact, monitoring and access-log buckets of one stack."""

    key: aws.kms.Key
    data: SecureBucket
    artifacts: SecureBucket
    monitoring: SecureBucket
    access_logs: SecureBucket

    def __init__(
        self,
        name: str,
        context: StackContext,
        args: StackStorageArgs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("mlops:storage:StackStorage", name, None, opts)
        self._context = context
        self._settings = settings = args.settings
        self.key = self._create_key()
        self.key_alias = aws.kms.Alias(
            context.name("key-alias"),
            name=context.names.key_alias,
            target_key_id=self.key.key_id,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.access_logs = self._secure_bucket(
            "access-logs",
            kms=False,
            expiring=[
                ExpiringPrefix("", settings.access_log_expiration_days),
            ],
        )
        self.data = self._secure_bucket(
            "data",
            expiring=[
                ExpiringPrefix("raw/", settings.raw_expiration_days),
                ExpiringPrefix("quarantine/", settings.quarantine_expiration_days),
            ],
            expiring_tagged=[UNREGISTERED_DATASET_COPIES],
        )
        self.artifacts = self._secure_bucket("artifacts", object_lock=settings.object_lock.enabled)
        self.monitoring = self._secure_bucket(
            "monitoring",
            expiring=[
                ExpiringPrefix("data-capture/", settings.capture_expiration_days),
            ],
        )
        self.register_outputs(
            {
                "keyArn": self.key.arn,
                "dataBucket": self.data.name,
                "artifactsBucket": self.artifacts.name,
                "monitoringBucket": self.monitoring.name,
                "accessLogsBucket": self.access_logs.name,
            }
        )

    @property
    def buckets(self) -> list[SecureBucket]:
        return [self.data, self.artifacts, self.monitoring, self.access_logs]

    def _create_key(self) -> aws.kms.Key:
        context = self._context
        key_policy = stack_key_policy(context)
        return aws.kms.Key(
            context.name("key"),
            description=f"Encrypts the data, models and logs of {context.name()}",
            enable_key_rotation=True,
            rotation_period_in_days=365,
            deletion_window_in_days=self._settings.kms_deletion_window_days,
            key_usage="ENCRYPT_DECRYPT",
            customer_master_key_spec="SYMMETRIC_DEFAULT",
            policy=key_policy,
            # EventBridge encrypts API destination credentials only with keys tagged so.
            tags={**context.tags("storage"), "EventBridgeApiDestinations": "true"},
            opts=context.stateful(self),
        )

    def _secure_bucket(
        self,
        purpose: str,
        *,
        kms: bool = True,
        object_lock: bool = False,
        expiring: list[ExpiringPrefix] | None = None,
        expiring_tagged: list[ExpiringTagged] | None = None,
    ) -> SecureBucket:
        """The bucket, then what secures it: ownership, public access, versioning, keys, logs."""
        context, settings = self._context, self._settings
        names, logical = context.names, context.name(purpose)
        bucket = aws.s3.Bucket(
            logical,
            bucket=context.account_id.apply(lambda account: names.bucket(purpose, account)),
            force_destroy=settings.force_destroy,
            object_lock_enabled=object_lock or None,
            tags=context.tags("storage"),
            opts=context.stateful(self),
        )
        secure = SecureBucket(purpose=purpose, bucket=bucket, kms_encrypted=kms)
        public_access = self._closed_to_the_public(secure)
        secure.children += [
            self._owner_enforced(secure),
            public_access,
            self._versioned(secure),
            self._encrypted(secure),
            aws.s3.BucketPolicy(
                f"{logical}-policy",
                bucket=bucket.id,
                policy=secure_bucket_policy(context, bucket.arn, self.key.arn if kms else None),
                opts=pulumi.ResourceOptions(parent=self, depends_on=[public_access]),
            ),
            aws.s3.BucketLifecycleConfiguration(
                f"{logical}-lifecycle",
                bucket=bucket.id,
                rules=lifecycle_rules(self._settings, expiring or [])
                + [tagged_expiration(item) for item in expiring_tagged or []],
                opts=self._bucket_child(secure),
            ),
        ]
        if purpose != "access-logs":
            secure.children.append(self._logged(secure))
        if object_lock:
            secure.children.append(self._object_locked(secure))
        return secure

    def _bucket_child(self, secure: SecureBucket) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(parent=self, depends_on=[secure.bucket])

    def _owner_enforced(self, secure: SecureBucket) -> pulumi.Resource:
        return aws.s3.BucketOwnershipControls(
            f"{self._context.name(secure.purpose)}-ownership",
            bucket=secure.bucket.id,
            rule={"object_ownership": "BucketOwnerEnforced"},
            opts=self._bucket_child(secure),
        )

    def _closed_to_the_public(self, secure: SecureBucket) -> pulumi.Resource:
        return aws.s3.BucketPublicAccessBlock(
            f"{self._context.name(secure.purpose)}-public-access",
            bucket=secure.bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=self._bucket_child(secure),
        )

    def _versioned(self, secure: SecureBucket) -> pulumi.Resource:
        return aws.s3.BucketVersioning(
            f"{self._context.name(secure.purpose)}-versioning",
            bucket=secure.bucket.id,
            versioning_configuration={"status": "Enabled"},
            opts=self._bucket_child(secure),
        )

    def _encrypted(self, secure: SecureBucket) -> pulumi.Resource:
        """The stack key with bucket keys; SSE-S3 where S3 requires it (access logs)."""
        default_encryption: dict[str, Any] = (
            {"sse_algorithm": "aws:kms", "kms_master_key_id": self.key.arn}
            if secure.kms_encrypted
            else {"sse_algorithm": "AES256"}
        )
        encryption_rule: Any = {
            "apply_server_side_encryption_by_default": default_encryption,
            "bucket_key_enabled": secure.kms_encrypted,
        }
        return aws.s3.BucketServerSideEncryptionConfiguration(
            f"{self._context.name(secure.purpose)}-encryption",
            bucket=secure.bucket.id,
            rules=[encryption_rule],
            opts=self._bucket_child(secure),
        )

    def _logged(self, secure: SecureBucket) -> pulumi.Resource:
        return aws.s3.BucketLogging(
            f"{self._context.name(secure.purpose)}-logging",
            bucket=secure.bucket.id,
            target_bucket=self.access_logs.bucket.id,
            target_prefix=f"{secure.purpose}/",
            opts=self._bucket_child(secure),
        )

    def _object_locked(self, secure: SecureBucket) -> pulumi.Resource:
        lock = self._settings.object_lock
        return aws.s3.BucketObjectLockConfiguration(
            f"{self._context.name(secure.purpose)}-object-lock",
            bucket=secure.bucket.id,
            object_lock_enabled="Enabled",
            rule={"default_retention": {"mode": lock.mode, "days": lock.retention_days}},
            opts=self._bucket_child(secure),
        )

    # Grants: IAM lives next to the resource that needs it.

    def grant_read(
        self, role: aws.iam.Role, bucket: SecureBucket, prefix: str = ""
    ) -> aws.iam.RolePolicy:
        """Let ``role`` list and read ``prefix`` of ``bucket`` (and decrypt with the stack key)."""
        return self._grant(role, bucket, prefix, write=False)

    def grant_read_write(
        self, role: aws.iam.Role, bucket: SecureBucket, prefix: str = ""
    ) -> aws.iam.RolePolicy:
        """Let ``role`` read and write ``prefix`` of ``bucket`` (encrypting with the stack key)."""
        return self._grant(role, bucket, prefix, write=True)

    def grant_read_objects(
        self,
        role: aws.iam.Role,
        bucket: SecureBucket,
        keys: list[pulumi.Output[str]],
        label: str,
    ) -> aws.iam.RolePolicy:
        """Let ``role`` read exactly these objects of ``bucket``, decrypting through S3 only."""
        objects = [pulumi.Output.concat(bucket.arn, "/", key) for key in keys]
        statements: list[dict[str, object]] = [
            {
                "Sid": "ReadTheseObjects",
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:GetObjectVersion"],
                "Resource": objects,
            }
        ]
        if bucket.kms_encrypted:
            statements.append(self._key_via_s3(["kms:Decrypt"]))
        return self._role_policy(role, label, statements)

    def _key_via_s3(self, actions: list[str]) -> dict[str, object]:
        """The stack key, used only by S3 on the role's behalf (objects of its buckets)."""
        return {
            "Sid": "UseTheStackKeyForThisBucket",
            "Effect": "Allow",
            "Action": actions,
            "Resource": self.key.arn,
            "Condition": {
                "StringEquals": {"kms:ViaService": f"s3.{self._context.region}.amazonaws.com"},
            },
        }

    def grant_key_use(self, role: aws.iam.Role, purpose: str) -> aws.iam.RolePolicy:
        """Let ``role`` encrypt and decrypt with the stack key (services that hold the key id)."""
        return self._role_policy(
            role,
            f"key-{purpose}",
            [
                {
                    "Sid": "UseTheStackKey",
                    "Effect": "Allow",
                    "Action": KEY_USE_ACTIONS,
                    "Resource": self.key.arn,
                }
            ],
        )

    def _grant(
        self, role: aws.iam.Role, bucket: SecureBucket, prefix: str, *, write: bool
    ) -> aws.iam.RolePolicy:
        objects = pulumi.Output.concat(bucket.arn, "/", prefix, "*")
        key_actions = ["kms:Decrypt", "kms:DescribeKey"]
        if write:
            key_actions += ["kms:GenerateDataKey", "kms:Encrypt"]
        statements: list[dict[str, object]] = [
            {
                "Sid": "ListThePrefix",
                "Effect": "Allow",
                "Action": "s3:ListBucket",
                "Resource": bucket.arn,
                **({"Condition": {"StringLike": {"s3:prefix": [f"{prefix}*"]}}} if prefix else {}),
            },
            {
                "Sid": "ReadWriteObjects" if write else "ReadObjects",
                "Effect": "Allow",
                "Action": READ_ACTIONS + (WRITE_ACTIONS if write else []),
                "Resource": objects,
            },
            # GetBucketLocation carries no s3:prefix, so a prefix condition would never match it:
            # https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html
            {
                "Sid": "LocateTheBucket",
                "Effect": "Allow",
                "Action": "s3:GetBucketLocation",
                "Resource": bucket.arn,
            },
        ]
        if bucket.kms_encrypted:
            statements.append(self._key_via_s3(key_actions))
        access = "rw" if write else "ro"
        label = f"{bucket.purpose}-{prefix.strip('/').replace('/', '-') or 'all'}-{access}"
        return self._role_policy(role, label, statements)

    def _role_policy(
        self, role: aws.iam.Role, label: str, statements: list[dict[str, object]]
    ) -> aws.iam.RolePolicy:
        role_name = role._name  # the logical name keeps policy names deterministic
        logical = f"{role_name}-{label}"
        return aws.iam.RolePolicy(
            logical,
            role=role.id,
            name=label,
            policy=policy_json(statements),
            opts=pulumi.ResourceOptions(parent=self),
        )
