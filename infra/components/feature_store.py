"""Feature Store: the transactions feature group, online (optional) and offline with a Glue table.

A feature group cannot change its features in place: the change replaces it and
its data is gone. The group's name therefore carries a version
(``<prefix>-<env>-<featureGroupName>-v<version>``), and the program checks it
against the committed ``environments/feature-groups.lock.json`` (read only,
``infra/feature_lock.py``): features that differ from the recorded ones for the
same version stop it with a message to bump ``mlops:featureStore.version``; a
new version is a new group next to the old one, recorded by
``mlops feature-store lock``.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.components.context import StackContext
from infra.components.iam import PlatformRoles
from infra.components.key_policy import KEY_USE_ACTIONS
from infra.components.storage import StackStorage
from infra.config import FeatureStore as FeatureStoreSettings
from infra.feature_lock import check_feature_lock, features_fingerprint
from ml import schema
from pipelines.jobs.features import feature_definitions

OFFLINE_PREFIX = "feature-store/"


def glue_name(name: str) -> str:
    """Glue database and table names: lower case, underscores."""
    return name.lower().replace("-", "_")


@dataclass(frozen=True)
class FeatureStoreArgs:
    """The feature group's settings, the buckets and key it uses, and the role it runs with."""

    settings: FeatureStoreSettings
    storage: StackStorage
    roles: PlatformRoles


class FeatureStore(pulumi.ComponentResource):
    """The versioned feature group of one stack, with the permissions Feature Store needs."""

    feature_group: aws.sagemaker.FeatureGroup
    database: aws.glue.CatalogDatabase
    group_name: str

    def __init__(
        self,
        name: str,
        context: StackContext,
        args: FeatureStoreArgs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("mlops:featurestore:FeatureStore", name, None, opts)
        settings, storage, roles = args.settings, args.storage, args.roles
        self._context = context
        self._storage = storage
        group_name = context.names.feature_group
        if group_name is None:
            raise ValueError("FeatureStore is built only for a stack with featureStore.enabled")
        self.group_name = group_name
        check_feature_lock(
            pulumi.get_stack(), self.group_name, settings.version, features_fingerprint()
        )
        child = pulumi.ResourceOptions(parent=self)
        self.database = aws.glue.CatalogDatabase(
            context.name("features-db"),
            name=glue_name(context.name("features")),
            description=f"Offline feature store tables of {context.name()}",
            tags=context.tags("featurestore"),
            opts=child,
        )
        self.role = roles.execution_role
        grants = [
            storage.grant_read_write(self.role, storage.data, OFFLINE_PREFIX),
            roles.add_policy(self.role, "feature-store", self._statements(), parent=self),
        ]
        self.feature_group = aws.sagemaker.FeatureGroup(
            self.group_name,
            feature_group_name=self.group_name,
            description=f"Card transactions ({len(feature_definitions())} features), "
            f"version {settings.version}",
            record_identifier_feature_name=schema.ID_COLUMN,
            event_time_feature_name=schema.TIME_COLUMN,
            feature_definitions=[
                {"feature_name": item["FeatureName"], "feature_type": item["FeatureType"]}
                for item in feature_definitions()
            ],
            online_store_config=self._online_store(settings),
            offline_store_config={
                "s3_storage_config": {
                    "s3_uri": pulumi.Output.concat("s3://", storage.data.name, "/", OFFLINE_PREFIX),
                    "kms_key_id": storage.key.arn,
                },
                "disable_glue_table_creation": False,
                "data_catalog_config": {
                    "catalog": "AwsDataCatalog",
                    "database": self.database.name,
                    "table_name": glue_name(self.group_name),
                },
            },
            role_arn=self.role.arn,
            tags=context.tags("featurestore"),
            opts=context.stateful(
                self,
                depends_on=grants,
                replace_on_changes=[
                    "featureDefinitions",
                    "recordIdentifierFeatureName",
                    "eventTimeFeatureName",
                    "offlineStoreConfig",
                ],
            ),
        )
        self.register_outputs(
            {
                "featureGroupName": self.feature_group.feature_group_name,
                "featureGroupArn": self.feature_group.arn,
            }
        )

    @property
    def arn(self) -> pulumi.Output[str]:
        return self.feature_group.arn

    def _online_store(
        self, settings: FeatureStoreSettings
    ) -> aws.sagemaker.FeatureGroupOnlineStoreConfigArgsDict:
        """Off, or on under the stack key with the configured time to live."""
        online: aws.sagemaker.FeatureGroupOnlineStoreConfigArgsDict = {
            "enable_online_store": settings.online_store,
        }
        if settings.online_store:
            online["security_config"] = {"kms_key_id": self._storage.key.arn}
            if settings.online_ttl_days is not None:
                online["ttl_duration"] = {"unit": "Days", "value": settings.online_ttl_days}
        return online

    def _statements(self) -> list[dict[str, object]]:
        """Records, offline store and Glue table: the managed policy needs 'sagemaker' buckets."""
        context, storage = self._context, self._storage
        database = glue_name(context.name("features"))
        return [
            {
                "Sid": "ReadAndWriteThisFeatureGroup",
                "Effect": "Allow",
                "Action": [
                    "sagemaker:PutRecord",
                    "sagemaker:GetRecord",
                    "sagemaker:DeleteRecord",
                    "sagemaker:BatchGetRecord",
                    "sagemaker:DescribeFeatureGroup",
                ],
                "Resource": context.arn("sagemaker", f"feature-group/{self.group_name}"),
            },
            {
                "Sid": "OfflineStoreBucketAcl",
                "Effect": "Allow",
                "Action": ["s3:GetBucketAcl", "s3:PutObjectAcl"],
                "Resource": [
                    storage.data.arn,
                    pulumi.Output.concat(storage.data.arn, "/", OFFLINE_PREFIX, "*"),
                ],
            },
            {
                "Sid": "OfflineStoreGlueTable",
                "Effect": "Allow",
                "Action": [
                    "glue:GetDatabase",
                    "glue:GetTable",
                    "glue:CreateTable",
                    "glue:UpdateTable",
                    "glue:GetPartitions",
                    "glue:BatchCreatePartition",
                ],
                "Resource": [
                    context.arn("glue", "catalog"),
                    context.arn("glue", f"database/{database}"),
                    context.arn("glue", f"table/{database}/*"),
                ],
            },
            {
                "Sid": "OnlineAndOfflineStoreEncryption",
                "Effect": "Allow",
                "Action": [*KEY_USE_ACTIONS, "kms:CreateGrant"],
                "Resource": storage.key.arn,
                "Condition": {
                    "StringEquals": {
                        "kms:ViaService": [
                            f"sagemaker.{context.region}.amazonaws.com",
                            f"s3.{context.region}.amazonaws.com",
                        ]
                    }
                },
            },
        ]
