"""Promotion against moto: the pinned model moves, its objects are copied, nothing cascades."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from infra.config import load_stack
from infra.config.stack_file import stack_file
from ml.model_artifact import TARBALL
from ops.local.stack_emulation import EmulatedStack, provision_stack, push_image
from ops.release.approval import on_approval
from ops.release.deploy import deploy
from ops.release.pinning import pin_model_package, set_model_package_arn
from ops.release.promote import NotPromoted, PromotionClients, promote, promote_package
from ops.release.stacks import PromotionError
from pipelines import registry
from tests.factories import GROUP, IMAGE, register_package

STAGING = "mlops-staging-fraud-models"
PROD = "mlops-prod-fraud-models"
DEV_ARTIFACTS = "mlops-dev-artifacts-123456789012-us-east-1"
STAGING_ARTIFACTS = "mlops-staging-artifacts-123456789012-us-east-1"
MODEL_KEY = f"pipeline-runs/local-1/train/output/{TARBALL}"
METRICS_KEY = "pipeline-runs/local-1/evaluate/metrics/evaluation.json"
IMAGE_DIGEST = IMAGE.split("@", 1)[1]


@pytest.fixture
def aws() -> Iterator[tuple[PromotionClients, dict[str, EmulatedStack]]]:
    """moto with the dev, staging and prod stacks' buckets, keys, groups and repositories."""
    import boto3
    from moto import mock_aws

    with mock_aws():
        session = boto3.session.Session(region_name="us-east-1")
        clients = PromotionClients(
            *(session.client(name) for name in ("sagemaker", "s3", "kms", "sts", "ecr"))
        )
        stacks = {s: provision_stack(clients, load_stack(s)) for s in ("dev", "staging", "prod")}
        # The image dev's packages name (tests.factories.IMAGE). Its layers are in every
        # stack's repository already (moto cannot hand out layer downloads; the blob transfer is
        # tested in test_image_copy.py), so promotion copies the manifest only.
        for stack in ("dev", "staging", "prod"):
            push_image(clients.ecr, f"mlops-{stack}-image", [b"the project image"], IMAGE_DIGEST)
        yield clients, stacks


@pytest.fixture
def clients(aws) -> PromotionClients:
    return aws[0]


@pytest.fixture
def files(tmp_path) -> dict[str, Path]:
    """Copies of the real stack files, comments and all."""
    copies = {}
    for stack in ("dev", "staging", "prod"):
        path = tmp_path / f"Pulumi.{stack}.yaml"
        path.write_text(stack_file(stack).read_text(encoding="utf-8"), encoding="utf-8")
        copies[stack] = path
    return copies


def dev_package(
    clients: PromotionClients,
    status: str = "Approved",
    run: str = "local-1",
    image: str | None = None,
) -> str:
    """A dev package as the pipeline registers it, its model and metrics in dev's bucket."""
    model_key, metrics_key = MODEL_KEY.replace("local-1", run), METRICS_KEY.replace("local-1", run)
    clients.s3.put_object(Bucket=DEV_ARTIFACTS, Key=model_key, Body=b"model bytes " + run.encode())
    clients.s3.put_object(
        Bucket=DEV_ARTIFACTS,
        Key=metrics_key,
        Body=b'{"pr_auc": 0.6}',
        ContentType="application/json",
    )
    return register_package(
        clients.sagemaker,
        status=status,
        model_data_url=f"s3://{DEV_ARTIFACTS}/{model_key}",
        metrics_uri=f"s3://{DEV_ARTIFACTS}/{metrics_key}",
        image=image,
    )


def pinned(path: Path) -> str:
    return yaml.safe_load(path.read_text(encoding="utf-8"))["config"]["mlops:serving"][
        "modelPackageArn"
    ]


def event(arn: str, status: str = "Approved", group: str = GROUP) -> dict:
    return {
        "source": "aws.sagemaker",
        "detail-type": "SageMaker Model Package State Change",
        "detail": {
            "ModelPackageGroupName": group,
            "ModelPackageArn": arn,
            "ModelApprovalStatus": status,
        },
    }


def to_staging(clients: PromotionClients, files: dict[str, Path]):
    return promote(clients, "staging", files["staging"], files["dev"])


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


# The CD hook: approval events.


def test_duplicate_approval_events_pin_once_and_promote_once(clients, files) -> None:
    arn = dev_package(clients)
    results = [on_approval(clients, event(arn), files) for _ in range(3)]
    assert all(r is not None for r in results)
    assert [r.deployment.file_changed for r in results if r] == [True, False, False]
    assert pinned(files["dev"]) == arn
    promotions = [r.promotion for r in results if r]
    assert all(not isinstance(p, NotPromoted) for p in promotions)
    assert len({p.target.arn for p in promotions if not isinstance(p, NotPromoted)}) == 1
    assert [p.created for p in promotions if not isinstance(p, NotPromoted)] == [
        True,
        False,
        False,
    ]
    assert len(registry.list_packages(clients.sagemaker, STAGING)) == 1


def test_an_approval_serves_exactly_that_package_not_the_pinned_or_newest(clients, files) -> None:
    served = dev_package(clients, run="local-1")
    other = dev_package(clients, run="local-2")
    newest = dev_package(clients, run="local-3")
    pin_model_package(files["dev"], served)
    outcome = on_approval(clients, event(other), files)
    assert outcome is not None and outcome.deployment.package.arn == other != newest
    assert outcome.deployment.previous_arn == served
    assert pinned(files["dev"]) == other
    copies = registry.list_packages(clients.sagemaker, STAGING)
    assert [c.metadata["PromotedFrom"] for c in copies] == [other]


def test_events_other_than_approval_are_ignored(clients, files) -> None:
    arn = dev_package(clients, status="PendingManualApproval")
    before = files["dev"].read_text(encoding="utf-8")
    assert on_approval(clients, event(arn, "PendingManualApproval"), files) is None
    assert registry.list_packages(clients.sagemaker, STAGING) == []
    assert files["dev"].read_text(encoding="utf-8") == before


def test_a_stale_approval_of_a_package_rejected_since_changes_nothing(clients, files) -> None:
    arn = dev_package(clients, status="PendingManualApproval")
    registry.reject(clients.sagemaker, arn, "recall collapsed")  # after the approval was sent
    before = files["dev"].read_text(encoding="utf-8")
    with pytest.raises(PromotionError, match=r"is Rejected \(recall collapsed\); only an Approved"):
        on_approval(clients, event(arn), files)
    assert files["dev"].read_text(encoding="utf-8") == before
    assert registry.list_packages(clients.sagemaker, STAGING) == []


def test_a_copy_approved_by_its_stacks_policy_does_not_cascade(clients, files) -> None:
    with files["staging"].open("a", encoding="utf-8") as staging:
        staging.write("  mlops:pipeline:\n    approvalStatus: Approved\n")
    pin_model_package(files["dev"], dev_package(clients))
    copy = to_staging(clients, files).target
    assert copy.status == "Approved"  # registered approved: no person looked at it
    outcome = on_approval(clients, event(copy.arn, group=STAGING), files)
    assert outcome is not None and isinstance(outcome.promotion, NotPromoted)
    assert "not by a person" in outcome.promotion.reason
    assert registry.list_packages(clients.sagemaker, PROD) == []


def test_a_persons_approval_of_the_staging_copy_serves_it_and_offers_it_to_prod(
    clients, files
) -> None:
    pin_model_package(files["dev"], dev_package(clients))
    copy = to_staging(clients, files).target
    registry.approve(clients.sagemaker, copy.arn, "canary clean for a day")
    outcome = on_approval(clients, event(copy.arn, group=STAGING), files)
    assert outcome is not None and pinned(files["staging"]) == copy.arn
    done = outcome.promotion
    assert not isinstance(done, NotPromoted)
    assert done.stack == "prod" and done.source.arn == copy.arn
    assert done.target.status == "PendingManualApproval"
    assert "modelPackageArn" not in files["prod"].read_text(encoding="utf-8")


def test_the_prod_copys_own_approval_serves_it_and_promotes_nowhere(clients, files) -> None:
    pin_model_package(files["dev"], dev_package(clients))
    copy = to_staging(clients, files).target
    registry.approve(clients.sagemaker, copy.arn, "canary clean")
    prod = promote_package(clients, copy.arn, files)
    assert not isinstance(prod, NotPromoted)
    registry.approve(clients.sagemaker, prod.target.arn, "release")
    outcome = on_approval(clients, event(prod.target.arn, group=PROD), files)
    assert outcome is not None and pinned(files["prod"]) == prod.target.arn
    assert isinstance(outcome.promotion, NotPromoted)
    assert "prod is the last stack" in outcome.promotion.reason


def test_an_approval_in_a_group_of_no_stack_is_ignored(clients, files) -> None:
    clients.sagemaker.create_model_package_group(ModelPackageGroupName="someone-elses-models")
    arn = register_package(clients.sagemaker, group="someone-elses-models", status="Approved")
    assert on_approval(clients, event(arn, group="someone-elses-models"), files) is None


def test_deploying_a_package_of_another_stacks_group_is_refused(clients, files) -> None:
    arn = dev_package(clients)
    before = files["prod"].read_text(encoding="utf-8")
    with pytest.raises(PromotionError, match=r"is in mlops-dev-fraud-models, not in mlops-prod"):
        deploy(clients.sagemaker, "prod", files["prod"], arn=arn)
    assert files["prod"].read_text(encoding="utf-8") == before


# Pinning in the stack file.


def test_pinning_a_new_path_starts_from_the_stacks_own_file(tmp_path) -> None:
    arn = "arn:aws:sagemaker:us-east-1:123456789012:model-package/g/1"
    path = tmp_path / "out" / "Pulumi.staging.yaml"
    assert pin_model_package(path, arn, template=stack_file("staging"))
    config = yaml.safe_load(path.read_text(encoding="utf-8"))["config"]
    assert config["mlops:serving"]["modelPackageArn"] == arn
    template = stack_file("staging").read_text(encoding="utf-8")
    assert config == {
        **yaml.safe_load(template)["config"],
        "mlops:serving": {"modelPackageArn": arn},
    }
    assert path.read_text(encoding="utf-8").startswith(template)  # comments and all


def test_pinning_adds_a_serving_section_when_there_is_none() -> None:
    arn = "arn:aws:sagemaker:us-east-1:123456789012:model-package/g/1"
    text = "# prod\nconfig:\n  aws:region: us-east-1  # kept\n"
    updated = set_model_package_arn(text, arn)
    assert updated.startswith("# prod\nconfig:\n  aws:region: us-east-1  # kept\n")
    assert yaml.safe_load(updated)["config"]["mlops:serving"] == {"modelPackageArn": arn}


def test_inline_serving_config_gets_the_arn_in_its_own_style() -> None:
    updated = set_model_package_arn("config:\n  mlops:serving: {instanceCount: 2}\n", "arn")
    assert updated == "config:\n  mlops:serving: {instanceCount: 2, modelPackageArn: arn}\n"


def test_pinning_changes_the_one_line_and_keeps_comments_and_order(tmp_path) -> None:
    arn = "arn:aws:sagemaker:us-east-1:123456789012:model-package/g/2"
    before = (
        "# yaml-language-server: $schema=./stack.schema.json\n"
        "# staging: two instances\n"
        "config:\n"
        "  aws:region: us-east-1  # the provider's\n"
        "  mlops:serving:\n"
        "    # pinned by mlops promote\n"
        "    modelPackageArn: arn:aws:sagemaker:us-east-1:123456789012:model-package/g/1\n"
        "    instanceCount: 3\n"
        "  mlops:monitoring:\n"
        "    alarmEmails:\n"
        "      - oncall@example.com\n"
    )
    path = tmp_path / "Pulumi.staging.yaml"
    path.write_text(before, encoding="utf-8")
    assert pin_model_package(path, arn)
    after = path.read_text(encoding="utf-8").splitlines()
    changed = [
        (old, new) for old, new in zip(before.splitlines(), after, strict=True) if old != new
    ]
    assert changed == [
        (
            "    modelPackageArn: arn:aws:sagemaker:us-east-1:123456789012:model-package/g/1",
            f"    modelPackageArn: {arn}",
        )
    ]
    assert not pin_model_package(path, arn)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["Pulumi.staging.yaml"]  # no temp left


def test_a_stack_file_without_a_config_mapping_is_refused(tmp_path) -> None:
    path = tmp_path / "Pulumi.staging.yaml"
    path.write_text("# nothing here\n", encoding="utf-8")
    with pytest.raises(PromotionError, match="no top-level 'config:' mapping"):
        pin_model_package(path, "arn")
    assert path.read_text(encoding="utf-8") == "# nothing here\n"


def test_a_target_stack_without_its_artifacts_bucket_is_a_clear_error(clients, files) -> None:
    pin_model_package(files["dev"], dev_package(clients))
    clients.s3.delete_bucket(Bucket=STAGING_ARTIFACTS)
    with pytest.raises(PromotionError, match=f"artifacts bucket {STAGING_ARTIFACTS} of stack"):
        to_staging(clients, files)
