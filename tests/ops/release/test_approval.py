"""Approval events: the approved package served in its stack and offered to the next, once."""

from __future__ import annotations

import pytest

from ops.release.approval import on_approval
from ops.release.deploy import deploy
from ops.release.pinning import pin_model_package
from ops.release.promote import NotPromoted, promote_package
from ops.release.stacks import PromotionError
from pipelines import registry
from tests.factories import register_package
from tests.ops.release.promotion_helpers import (
    PROD,
    STAGING,
    dev_package,
    event,
    pinned,
    to_staging,
)


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
