"""Feature store: versioned group from the ML schema, KMS, Glue table (lock: test_feature_lock)."""

from __future__ import annotations

from ml import schema
from tests.infra.conftest import policy

GROUP = "aws:sagemaker/featureGroup:FeatureGroup"


def test_group_is_named_by_stack_and_version_with_the_schema_keys(plan_for) -> None:
    group = plan_for("staging").one(GROUP)["inputs"]
    assert group["featureGroupName"] == "mlops-staging-transactions-v1"
    assert group["recordIdentifierFeatureName"] == "transaction_id"
    assert group["eventTimeFeatureName"] == "event_time"
    names = [item["featureName"] for item in group["featureDefinitions"]]
    assert names == list(schema.COLUMNS)


def test_feature_types_follow_the_schema(plan_for) -> None:
    definitions = {
        d["featureName"]: d["featureType"]
        for d in plan_for("dev").one(GROUP)["inputs"]["featureDefinitions"]
    }
    assert definitions["amount"] == "Fractional"
    assert definitions["hour"] == "Integral"
    assert definitions["merchant_category"] == "String"
    assert definitions["event_time"] == "String"


def test_offline_store_is_in_the_data_bucket_encrypted_with_a_glue_table(plan_for) -> None:
    plan = plan_for("prod")
    offline = plan.one(GROUP)["inputs"]["offlineStoreConfig"]
    key_arn = plan.one("aws:kms/key:Key")["outputs"]["arn"]
    assert offline["s3StorageConfig"]["s3Uri"].startswith("s3://mlops-prod-data-")
    assert offline["s3StorageConfig"]["s3Uri"].endswith("/feature-store/")
    assert offline["s3StorageConfig"]["kmsKeyId"] == key_arn
    assert offline["disableGlueTableCreation"] is False
    database = plan.one("aws:glue/catalogDatabase:CatalogDatabase")["inputs"]["name"]
    assert offline["dataCatalogConfig"] == {
        "catalog": "AwsDataCatalog",
        "database": database,
        "tableName": "mlops_prod_transactions_v1",
    }


def test_online_store_is_kms_encrypted_in_prod_and_off_in_dev(plan_for) -> None:
    prod = plan_for("prod")
    online = prod.one(GROUP)["inputs"]["onlineStoreConfig"]
    assert online["enableOnlineStore"] is True
    assert online["securityConfig"]["kmsKeyId"] == prod.one("aws:kms/key:Key")["outputs"]["arn"]
    assert plan_for("dev").one(GROUP)["inputs"]["onlineStoreConfig"] == {"enableOnlineStore": False}


def test_group_is_protected_in_prod_and_replacement_is_explicit(plan_for) -> None:
    prod, dev = plan_for("prod").one(GROUP), plan_for("dev").one(GROUP)
    assert prod["protect"] and prod["retainOnDelete"]
    assert not dev["protect"]
    assert "featureDefinitions" in prod["replaceOnChanges"]


def test_role_gets_a_custom_policy_scoped_to_the_group_and_its_glue_table(plan_for) -> None:
    plan = plan_for("prod")
    group = plan.one(GROUP)
    assert group["inputs"]["roleArn"].endswith(":role/mlops-prod-execution")
    document = policy(
        plan.one("aws:iam/rolePolicy:RolePolicy", "mlops-prod-execution-feature-store")
    )
    by_sid = {s["Sid"]: s for s in document["Statement"]}
    assert by_sid["ReadAndWriteThisFeatureGroup"]["Resource"].endswith(
        ":feature-group/mlops-prod-transactions-v1"
    )
    assert "kms:CreateGrant" in by_sid["OnlineAndOfflineStoreEncryption"]["Action"]
    assert all(a != "*" for s in document["Statement"] for a in s["Action"])
    offline = policy(
        plan.one("aws:iam/rolePolicy:RolePolicy", "mlops-prod-execution-data-feature-store-rw")
    )
    assert offline["Statement"][1]["Resource"].endswith("/feature-store/*")
