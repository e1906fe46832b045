"""Bucket policies close the explicit ways around default encryption and scope log delivery."""

from __future__ import annotations

import pytest

from tests.infra.conftest import policy


def statements(plan, purpose: str) -> dict[str, dict]:
    bucket_policy = plan.one(
        "aws:s3/bucketPolicy:BucketPolicy", f"mlops-{plan.stack}-{purpose}-policy"
    )
    return {s["Sid"]: s for s in policy(bucket_policy)["Statement"]}


@pytest.mark.parametrize("purpose", ["data", "artifacts", "monitoring"])
def test_kms_buckets_refuse_sse_s3_and_customer_provided_keys(plan_for, purpose: str) -> None:
    found = statements(plan_for("prod"), purpose)
    sse_s3 = found["DenyObjectsEncryptedWithoutKms"]
    assert sse_s3["Effect"] == "Deny" and sse_s3["Action"] == "s3:PutObject"
    assert sse_s3["Condition"] == {
        "StringNotEquals": {"s3:x-amz-server-side-encryption": "aws:kms"},
        "Null": {"s3:x-amz-server-side-encryption": "false"},
    }
    sse_c = found["DenyCustomerProvidedKeys"]["Condition"]
    assert sse_c == {"Null": {"s3:x-amz-server-side-encryption-customer-algorithm": "false"}}


def test_only_this_stacks_buckets_deliver_access_logs(plan_for) -> None:
    delivery = statements(plan_for("staging"), "access-logs")["S3ServerAccessLogsDelivery"]
    assert delivery["Condition"]["ArnLike"] == {"aws:SourceArn": "arn:aws:s3:::mlops-staging-*"}
    assert delivery["Condition"]["StringEquals"] == {"aws:SourceAccount": "123456789012"}
    assert "DenyObjectsEncryptedWithoutKms" not in statements(plan_for("staging"), "access-logs")
