"""Promotion against moto: the package moves, its objects are copied, a copy waits for approval."""

from __future__ import annotations

import json

import pytest
import yaml

from ml.model_artifact import TARBALL
from ops.local.stack_emulation import push_image
from ops.release.pinning import pin_model_package
from ops.release.promote import promote
from ops.release.stacks import PromotionError
from pipelines import registry
from tests.ops.release.promotion_helpers import (
    DEV_ARTIFACTS,
    METRICS_KEY,
    MODEL_KEY,
    STAGING,
    STAGING_ARTIFACTS,
    dev_package,
    pinned,
    to_staging,
)


def test_promotion_copies_the_model_and_metrics_into_the_target_bucket_under_its_key(
    aws, files
) -> None:
    clients, stacks = aws
    source = dev_package(clients)
    pin_model_package(files["dev"], source)
    done = to_staging(clients, files)
    container = done.target.inference_specification["Containers"][0]
    prefix = f"s3://{STAGING_ARTIFACTS}/promoted/dev/1/"
    assert container["ModelDataUrl"] == f"{prefix}{MODEL_KEY}"
    assert done.target.metrics_uri == f"{prefix}{METRICS_KEY}"
    for key in (MODEL_KEY, METRICS_KEY):
        head = clients.s3.head_object(Bucket=STAGING_ARTIFACTS, Key=f"promoted/dev/1/{key}")
        assert head["ServerSideEncryption"] == "aws:kms"
        assert head["SSEKMSKeyId"] == stacks["staging"].key_arn
    body = clients.s3.get_object(Bucket=STAGING_ARTIFACTS, Key=f"promoted/dev/1/{MODEL_KEY}")
    assert body["Body"].read() == b"model bytes local-1"
    metrics = clients.s3.head_object(Bucket=STAGING_ARTIFACTS, Key=f"promoted/dev/1/{METRICS_KEY}")
    assert metrics["ContentType"] == "application/json"


def test_the_copy_names_no_object_of_the_source_stack(clients, files) -> None:
    pin_model_package(files["dev"], dev_package(clients))
    done = to_staging(clients, files)
    described = clients.sagemaker.describe_model_package(ModelPackageName=done.target.arn)
    named = json.dumps([described["InferenceSpecification"], described["ModelMetrics"]])
    assert "mlops-dev-" not in named and STAGING_ARTIFACTS in named


def test_the_copy_records_its_source_and_waits_unpinned_for_its_approval(clients, files) -> None:
    source = dev_package(clients)
    pin_model_package(files["dev"], source)
    original = files["staging"].read_text(encoding="utf-8")
    done = to_staging(clients, files)
    assert done.source.arn == source and done.created and not done.file_changed
    assert done.target.group == STAGING
    assert done.target.status == "PendingManualApproval"
    assert done.target.metadata["PromotedFrom"] == source
    assert done.target.metadata["PromotedFromStack"] == "dev"
    assert done.target.metadata["DataSha256"] == "d" * 64
    assert source in done.target.description
    assert files["staging"].read_text(encoding="utf-8") == original  # nothing pending is served


def test_the_approved_copy_is_pinned_in_the_target_file_keeping_the_rest(clients, files) -> None:
    pin_model_package(files["dev"], dev_package(clients))
    with files["staging"].open("a", encoding="utf-8") as staging:
        staging.write("  mlops:serving:\n    instanceCount: 2  # kept\n")
    original = files["staging"].read_text(encoding="utf-8")
    copy = to_staging(clients, files).target
    registry.approve(clients.sagemaker, copy.arn, "canary clean")
    again = to_staging(clients, files)  # a promotion of an approved copy pins it
    assert again.target.arn == copy.arn and not again.created and again.file_changed
    text = files["staging"].read_text(encoding="utf-8")
    assert pinned(files["staging"]) == copy.arn
    assert yaml.safe_load(text)["config"]["mlops:serving"]["instanceCount"] == 2
    assert text.splitlines()[0] == original.splitlines()[0]  # the comment header stays
    assert "    instanceCount: 2  # kept" in text.splitlines()
    assert len(text.splitlines()) == len(original.splitlines()) + 1


def test_the_project_image_is_copied_into_the_target_repository_by_digest(clients, files) -> None:
    pushed = push_image(clients.ecr, "mlops-dev-image", [b"python 3.11 and the lock"])
    pin_model_package(files["dev"], dev_package(clients, image=pushed.ref.uri))
    done = promote(clients, "staging", files["staging"], files["dev"], fetch=pushed.fetch)
    image = done.target.inference_specification["Containers"][0]["Image"]
    assert image == pushed.ref.uri.replace("mlops-dev-image", "mlops-staging-image")
    found = clients.ecr.batch_get_image(
        repositoryName="mlops-staging-image", imageIds=[{"imageDigest": pushed.ref.digest}]
    )
    assert len(found["images"]) == 1


def test_an_image_outside_the_stacks_repository_is_left_as_it_is(clients, files) -> None:
    framework = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"
    pin_model_package(files["dev"], dev_package(clients, image=framework))
    done = to_staging(clients, files)
    assert done.target.inference_specification["Containers"][0]["Image"] == framework


def test_the_copy_gets_the_target_stacks_approval_policy(clients, files) -> None:
    pin_model_package(files["dev"], dev_package(clients))
    done = to_staging(clients, files)
    assert done.target.status == "PendingManualApproval"  # staging's pipeline.approvalStatus


def test_promotion_takes_the_pinned_package_not_the_newest_approved(clients, files) -> None:
    served = dev_package(clients, run="local-1")
    dev_package(clients, run="local-2")  # newer, approved, never served by dev
    pin_model_package(files["dev"], served)
    done = to_staging(clients, files)
    assert done.source.arn == served
    assert done.target.inference_specification["Containers"][0]["ModelDataUrl"].endswith(
        f"/promoted/dev/1/pipeline-runs/local-1/train/output/{TARBALL}"
    )


def test_a_source_stack_that_pins_nothing_is_a_clear_error(clients, files) -> None:
    dev_package(clients)
    with pytest.raises(PromotionError, match=r"stack dev pins no model .*mlops deploy --stack dev"):
        to_staging(clients, files)
    assert registry.list_packages(clients.sagemaker, STAGING) == []


def test_promoting_twice_finds_the_same_copy_and_changes_nothing(clients, files) -> None:
    pin_model_package(files["dev"], dev_package(clients))
    first = to_staging(clients, files)
    before = files["staging"].read_text(encoding="utf-8")
    second = to_staging(clients, files)
    assert second.target.arn == first.target.arn
    assert not second.created and not second.file_changed
    assert files["staging"].read_text(encoding="utf-8") == before
    assert len(registry.list_packages(clients.sagemaker, STAGING)) == 1


def test_a_rejected_pinned_model_is_never_promoted(clients, files) -> None:
    arn = dev_package(clients, status="PendingManualApproval")
    registry.reject(clients.sagemaker, arn, "overfits")
    pin_model_package(files["dev"], arn)
    before = files["staging"].read_text(encoding="utf-8")
    with pytest.raises(PromotionError, match=r"is Rejected \(overfits\); only approved"):
        to_staging(clients, files)
    assert files["staging"].read_text(encoding="utf-8") == before
    assert registry.list_packages(clients.sagemaker, STAGING) == []


def test_a_target_stack_without_its_key_is_a_clear_error(clients, files) -> None:
    pin_model_package(files["dev"], dev_package(clients))
    clients.kms.delete_alias(AliasName="alias/mlops-staging-data")
    with pytest.raises(PromotionError, match="key alias/mlops-staging-data of stack staging"):
        to_staging(clients, files)


def test_an_object_the_package_names_but_that_is_gone_is_a_clear_error(clients, files) -> None:
    pin_model_package(files["dev"], dev_package(clients))
    clients.s3.delete_object(Bucket=DEV_ARTIFACTS, Key=MODEL_KEY)
    with pytest.raises(registry.RegistryError, match=f"s3://{DEV_ARTIFACTS}/{MODEL_KEY} not found"):
        to_staging(clients, files)


def test_nothing_promotes_into_dev_or_unknown_stacks(clients) -> None:
    with pytest.raises(PromotionError, match="dev is the first stack"):
        promote(clients, "dev")
    with pytest.raises(PromotionError, match="unknown stack 'qa'"):
        promote(clients, "qa")


def test_a_target_stack_without_its_artifacts_bucket_is_a_clear_error(clients, files) -> None:
    pin_model_package(files["dev"], dev_package(clients))
    clients.s3.delete_bucket(Bucket=STAGING_ARTIFACTS)
    with pytest.raises(PromotionError, match=f"artifacts bucket {STAGING_ARTIFACTS} of stack"):
        to_staging(clients, files)
