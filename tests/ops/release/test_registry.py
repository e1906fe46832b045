"""Registry operations against moto: champion lookup, idempotent decisions, metadata kept."""

from __future__ import annotations

import pytest

from pipelines import registry
from pipelines.registry import RegistryError
from tests.factories import GROUP, register_package


def test_latest_approved_is_the_newest_approved_version(sagemaker) -> None:
    first = register_package(sagemaker, status="Approved")
    second = register_package(sagemaker, status="Approved")
    register_package(sagemaker)  # newer, but pending
    champion = registry.latest_approved(sagemaker, GROUP)
    assert champion is not None and champion.arn == second != first


def test_no_approved_package_means_no_champion(sagemaker) -> None:
    register_package(sagemaker)
    assert registry.latest_approved(sagemaker, GROUP) is None


def test_approve_keeps_the_custom_metadata_and_records_the_reason(sagemaker) -> None:
    arn = register_package(sagemaker)
    change = registry.approve(sagemaker, arn, "reviewed the PR curve")
    assert change.changed and change.package.status == "Approved"
    assert change.package.approval_description == "reviewed the PR curve"
    assert change.package.metadata["DataSha256"] == "d" * 64
    assert change.package.metric("PrAuc") == pytest.approx(0.6)


def test_repeating_an_approval_changes_nothing(sagemaker) -> None:
    arn = register_package(sagemaker)
    registry.approve(sagemaker, arn, "first")
    again = registry.approve(sagemaker, arn, "second delivery of the same event")
    assert not again.changed
    assert again.package.approval_description == "first"


def test_reject_records_why(sagemaker) -> None:
    arn = register_package(sagemaker)
    change = registry.reject(sagemaker, arn, "recall collapsed on the holdout")
    assert change.package.status == "Rejected"
    assert change.package.approval_description == "recall collapsed on the holdout"
    assert registry.list_packages(sagemaker, GROUP, "Rejected")[0].arn == arn


def test_a_decision_needs_a_reason_and_a_known_package(sagemaker) -> None:
    arn = register_package(sagemaker)
    with pytest.raises(RegistryError, match="give a reason"):
        registry.approve(sagemaker, arn, "  ")
    with pytest.raises(RegistryError, match="not found"):
        registry.approve(sagemaker, arn.replace("/1", "/99"), "ok")


def test_list_refuses_an_unknown_status(sagemaker) -> None:
    with pytest.raises(RegistryError, match="unknown approval status 'approved'"):
        registry.list_packages(sagemaker, GROUP, "approved")
