"""Storage: one KMS key, secure buckets, protection in prod, grants next to the bucket."""

from __future__ import annotations

import pytest

from tests.infra.conftest import policy

BUCKET = "aws:s3/bucket:Bucket"
PURPOSES = ("data", "artifacts", "monitoring", "access-logs")


def children_of_bucket(plan, purpose: str, type_token: str) -> list[dict]:
    bucket = plan.one(BUCKET, f"mlops-{plan.stack}-{purpose}")
    return [
        r
        for r in plan.of_type(type_token)
        if bucket["urn"] in r["dependencies"]
        and r["inputs"].get("bucket") == bucket["outputs"]["id"]
    ]


def test_the_stack_key_rotates_and_has_an_explicit_policy(plan_for) -> None:
    key = plan_for("prod").one("aws:kms/key:Key")
    assert key["inputs"]["enableKeyRotation"] is True
    assert key["inputs"]["customerMasterKeySpec"] == "SYMMETRIC_DEFAULT"
    statements = policy(key)["Statement"]
    actions = [
        a
        for s in statements
        for a in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])
    ]
    assert "kms:*" not in actions and "*" not in actions
    assert {s["Sid"] for s in statements} >= {"AccountAdministersKey"}


@pytest.mark.parametrize("purpose", PURPOSES)
def test_every_bucket_is_versioned_private_and_lifecycled(plan_for, purpose: str) -> None:
    plan = plan_for("prod")
    versioning = children_of_bucket(plan, purpose, "aws:s3/bucketVersioning:BucketVersioning")
    assert versioning[0]["inputs"]["versioningConfiguration"]["status"] == "Enabled"
    block = children_of_bucket(
        plan, purpose, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
    )[0]
    assert all(
        block["inputs"][flag] is True
        for flag in (
            "blockPublicAcls",
            "blockPublicPolicy",
            "ignorePublicAcls",
            "restrictPublicBuckets",
        )
    )
    lifecycle = children_of_bucket(
        plan, purpose, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"
    )[0]
    assert any("abortIncompleteMultipartUpload" in rule for rule in lifecycle["inputs"]["rules"])


@pytest.mark.parametrize("purpose", PURPOSES)
def test_every_bucket_denies_plain_http(plan_for, purpose: str) -> None:
    plan = plan_for("staging")
    bucket_policy = policy(children_of_bucket(plan, purpose, "aws:s3/bucketPolicy:BucketPolicy")[0])
    deny = [
        s
        for s in bucket_policy["Statement"]
        if s["Effect"] == "Deny"
        and s.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport") == "false"
    ]
    assert deny and deny[0]["Principal"] == "*"


@pytest.mark.parametrize("purpose", ["data", "artifacts", "monitoring"])
def test_data_buckets_use_the_stack_key_with_bucket_keys(plan_for, purpose: str) -> None:
    plan = plan_for("dev")
    key_arn = plan.one("aws:kms/key:Key")["outputs"]["arn"]
    encryption = children_of_bucket(
        plan,
        purpose,
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    )[0]
    rule = encryption["inputs"]["rules"][0]
    assert rule["applyServerSideEncryptionByDefault"] == {
        "sseAlgorithm": "aws:kms",
        "kmsMasterKeyId": key_arn,
    }
    assert rule["bucketKeyEnabled"] is True


@pytest.mark.parametrize("purpose", ["data", "artifacts", "monitoring"])
def test_data_buckets_log_access_to_the_log_bucket(plan_for, purpose: str) -> None:
    plan = plan_for("prod")
    logs = plan.one(BUCKET, "mlops-prod-access-logs")
    logging = children_of_bucket(plan, purpose, "aws:s3/bucketLogging:BucketLogging")[0]
    assert logging["inputs"]["targetBucket"] == logs["outputs"]["id"]
    assert logging["inputs"]["targetPrefix"] == f"{purpose}/"


def test_access_log_bucket_uses_sse_s3_because_log_delivery_requires_it(plan_for) -> None:
    plan = plan_for("prod")
    encryption = children_of_bucket(
        plan,
        "access-logs",
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    )[0]
    assert encryption["inputs"]["rules"][0]["applyServerSideEncryptionByDefault"] == {
        "sseAlgorithm": "AES256"
    }
    statements = policy(
        children_of_bucket(plan, "access-logs", "aws:s3/bucketPolicy:BucketPolicy")[0]
    )["Statement"]
    delivery = next(s for s in statements if s["Effect"] == "Allow")
    assert delivery["Principal"] == {"Service": "logging.s3.amazonaws.com"}
    assert delivery["Condition"]["StringEquals"]["aws:SourceAccount"] == "123456789012"


def test_prod_protects_and_retains_data_holding_resources(plan_for) -> None:
    plan = plan_for("prod")
    stateful = plan.of_type(BUCKET) + plan.of_type("aws:kms/key:Key")
    assert len(stateful) == 5
    assert all(r["protect"] and r["retainOnDelete"] for r in stateful)


def test_dev_buckets_can_be_torn_down(plan_for) -> None:
    plan = plan_for("dev")
    assert not any(r["protect"] for r in plan.resources)
    assert all(b["inputs"]["forceDestroy"] is True for b in plan.of_type(BUCKET))


def test_prod_artifacts_are_object_locked(plan_for) -> None:
    plan = plan_for("prod")
    assert plan.one(BUCKET, "mlops-prod-artifacts")["inputs"]["objectLockEnabled"] is True
    lock = plan.one("aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration")
    assert lock["inputs"]["rule"]["defaultRetention"] == {"mode": "GOVERNANCE", "days": 90}
    assert not plan_for("dev").of_type(
        "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration"
    )


def test_bucket_names_are_deterministic_and_stack_scoped(plan_for) -> None:
    names = sorted(b["inputs"]["bucket"] for b in plan_for("staging").of_type(BUCKET))
    assert names == sorted(f"mlops-staging-{p}-123456789012-us-east-1" for p in PURPOSES)


def test_raw_and_quarantine_prefixes_expire_on_their_own_schedule(plan_for) -> None:
    plan = plan_for("prod")
    rules = children_of_bucket(
        plan, "data", "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"
    )[0]["inputs"]["rules"]
    by_prefix = {r["filter"].get("prefix"): r.get("expiration", {}).get("days") for r in rules}
    assert by_prefix["raw/"] == plan.config.storage.raw_expiration_days
    assert by_prefix["quarantine/"] == plan.config.storage.quarantine_expiration_days


def test_only_dataset_copies_the_retention_sweep_tagged_expire_by_their_own_rule(
    plan_for,
) -> None:
    from pipelines.jobs.dataset_retention import EXPIRED, TAG_KEY
    from pipelines.jobs.dataset_store import OBJECTS_FOLDER

    for stack in ("dev", "staging", "prod"):
        rules = children_of_bucket(
            plan_for(stack),
            "data",
            "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
        )[0]["inputs"]["rules"]
        tagged = [r for r in rules if "and" in r["filter"]]
        assert tagged == [
            {
                "id": "expire-unregistered-dataset-copies",
                "status": "Enabled",
                "filter": {
                    "and": {"prefix": f"datasets/{OBJECTS_FOLDER}", "tags": {TAG_KEY: EXPIRED}}
                },
                "expiration": {"days": 1},
            }
        ]
        # No other rule reaches the retained copies or the dataset records.
        others = [r["filter"].get("prefix") for r in rules if r not in tagged]
        assert all(prefix == "" or not "datasets/".startswith(prefix) for prefix in others)


def test_the_tagged_rule_is_a_lifecycle_rule_s3_accepts() -> None:
    """The rule in PutBucketLifecycleConfiguration's shape, against botocore's service model."""
    import botocore.session
    from botocore.validate import ParamValidator

    from infra.components.lifecycle import UNREGISTERED_DATASET_COPIES

    rule = UNREGISTERED_DATASET_COPIES

    model = botocore.session.get_session().get_service_model("s3")
    shape = model.operation_model("PutBucketLifecycleConfiguration").input_shape
    params = {
        "Bucket": "mlops-prod-data-123456789012-us-east-1",
        "LifecycleConfiguration": {
            "Rules": [
                {
                    "ID": rule.rule_id,
                    "Status": "Enabled",
                    "Filter": {
                        "And": {
                            "Prefix": rule.prefix,
                            "Tags": [{"Key": rule.key, "Value": rule.value}],
                        }
                    },
                    "Expiration": {"Days": rule.days},
                }
            ]
        },
    }
    report = ParamValidator().validate(params, shape)
    assert not report.has_errors(), report.generate_report()


def test_grant_read_scopes_objects_prefix_and_key_use(plan_for) -> None:
    plan = plan_for("prod")
    grant = next(
        r
        for r in plan.of_type("aws:iam/rolePolicy:RolePolicy")
        if r["name"] == "mlops-prod-pipeline-artifacts-pipeline-runs-ro"
    )
    statements = {s["Sid"]: s for s in policy(grant)["Statement"]}
    assert statements["ReadObjects"]["Resource"].endswith(
        "mlops-prod-artifacts-123456789012-us-east-1/pipeline-runs/*"
    )
    assert "s3:PutObject" not in statements["ReadObjects"]["Action"]
    assert statements["ListThePrefix"]["Condition"]["StringLike"]["s3:prefix"] == [
        "pipeline-runs/*"
    ]
    key_use = statements["UseTheStackKeyForThisBucket"]
    assert key_use["Action"] == ["kms:Decrypt", "kms:DescribeKey"]
    assert key_use["Condition"]["StringEquals"]["kms:ViaService"] == "s3.us-east-1.amazonaws.com"


LIFECYCLE = "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_old_versions_expire_only_after_they_moved_to_infrequent_access(plan_for, stack) -> None:
    """S3 refuses a noncurrent expiration not later than the rule's transition (InvalidArgument)."""
    for lifecycle in plan_for(stack).of_type(LIFECYCLE):
        for rule in lifecycle["inputs"]["rules"]:
            expire = rule.get("noncurrentVersionExpiration", {}).get("noncurrentDays")
            for transition in rule.get("noncurrentVersionTransitions", []):
                assert transition["noncurrentDays"] >= 30, lifecycle["name"]
                assert expire is None or expire > transition["noncurrentDays"], lifecycle["name"]


def test_the_infrequent_access_setting_moves_old_versions(plan_for) -> None:
    plan = plan_for("prod", "storage.infrequentAccessAfterDays=60")
    rules = children_of_bucket(plan, "data", LIFECYCLE)[0]["inputs"]["rules"]
    assert rules[0]["noncurrentVersionTransitions"] == [
        {"noncurrentDays": 60, "storageClass": "STANDARD_IA"}
    ]


def test_without_the_infrequent_access_setting_old_versions_stay_until_they_expire(
    plan_for,
) -> None:
    rules = children_of_bucket(plan_for("dev"), "data", LIFECYCLE)[0]["inputs"]["rules"]
    assert "noncurrentVersionTransitions" not in rules[0]
    assert rules[0]["noncurrentVersionExpiration"] == {"noncurrentDays": 7}


def test_a_prefix_condition_is_only_put_on_actions_that_carry_the_prefix(plan_for) -> None:
    """``s3:prefix`` exists only in ListBucket requests; on GetBucketLocation it never matches."""
    for grant in plan_for("prod").of_type("aws:iam/rolePolicy:RolePolicy"):
        for statement in policy(grant)["Statement"]:
            if "s3:prefix" in str(statement.get("Condition", {})):
                actions = statement["Action"]
                assert set(actions if isinstance(actions, list) else [actions]) <= {
                    "s3:ListBucket",
                    "s3:ListBucketVersions",
                }, grant["name"]
