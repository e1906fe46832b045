"""dev -> staging -> prod against moto_server: prod's role may read everything prod's package names.

The role's permissions come from the prod plan (the synth of the prod stack
file that promotion pinned), evaluated with ``infra.plan.iam_eval`` because
moto has no policy simulator.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from infra.config import load_stack
from infra.plan.engine import Plan, synthesize
from infra.plan.iam_documents import parse_document
from infra.plan.iam_eval import (
    ALLOW,
    EXPLICIT_DENY,
    Request,
    evaluate,
    key_arn_of_alias,
    role_documents,
)
from ml.model_artifact import TARBALL
from ops.local.emulator import moto_server
from ops.local.stack_emulation import provision_stack, push_image
from ops.release.artifact_copy import COPIED_FIELDS, s3_uris
from ops.release.deploy import deploy
from ops.release.image_copy import parse_image_uri
from ops.release.promote import PromotionClients, promote
from pipelines import registry
from pipelines.s3 import split_s3_uri
from tests.factories import register_package

DEV_ARTIFACTS = "mlops-dev-artifacts-123456789012-us-east-1"
VIA_S3 = {"kms:ViaService": "s3.us-east-1.amazonaws.com"}
PULL = ("ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability")


@pytest.fixture(scope="module")
def chain(tmp_path_factory) -> Iterator[dict[str, Any]]:
    """One promotion of a dev model to prod, each copy approved by a person."""
    work = tmp_path_factory.mktemp("chain")
    files = {stack: work / f"Pulumi.{stack}.yaml" for stack in ("dev", "staging", "prod")}
    with moto_server() as endpoint:
        session = boto3.session.Session(region_name="us-east-1")
        clients = PromotionClients(
            *(
                session.client(name, endpoint_url=endpoint)
                for name in ("sagemaker", "s3", "kms", "sts", "ecr")
            )
        )
        for stack in files:
            provision_stack(clients, load_stack(stack))
        clients.s3.put_object(Bucket=DEV_ARTIFACTS, Key=f"runs/1/{TARBALL}", Body=b"model")
        clients.s3.put_object(Bucket=DEV_ARTIFACTS, Key="runs/1/evaluation.json", Body=b"{}")
        image = push_image(clients.ecr, "mlops-dev-image", [b"the project image"])
        source = register_package(
            clients.sagemaker,
            status="Approved",
            model_data_url=f"s3://{DEV_ARTIFACTS}/runs/1/{TARBALL}",
            metrics_uri=f"s3://{DEV_ARTIFACTS}/runs/1/evaluation.json",
            image=image.ref.uri,
        )
        deploy(clients.sagemaker, "dev", files["dev"])
        staging = promote(clients, "staging", files["staging"], files["dev"], image.fetch).target
        registry.approve(clients.sagemaker, staging.arn, "canary clean")
        deploy(clients.sagemaker, "staging", files["staging"], arn=staging.arn)  # its approval
        prod = promote(clients, "prod", files["prod"], files["staging"], image.fetch).target
        registry.approve(clients.sagemaker, prod.arn, "release")
        deploy(clients.sagemaker, "prod", files["prod"], arn=prod.arn)
        yield {
            "clients": clients,
            "source": clients.sagemaker.describe_model_package(ModelPackageName=source),
            "prod": clients.sagemaker.describe_model_package(ModelPackageName=prod.arn),
            "plan": synthesize("prod", config_file=files["prod"]),
        }


def uris(package: dict[str, Any]) -> list[str]:
    return s3_uris({name: package[name] for name in COPIED_FIELDS if name in package})


def object_arn(uri: str) -> str:
    bucket, key = split_s3_uri(uri)
    return f"arn:aws:s3:::{bucket}/{key}"


def plan_key_of(clients: PromotionClients, plan: Plan, uri: str) -> str:
    """The plan's ARN of the key an object is encrypted with, found through the key's alias."""
    bucket, key = split_s3_uri(uri)
    key_id = clients.s3.head_object(Bucket=bucket, Key=key)["SSEKMSKeyId"]
    aliases = clients.kms.list_aliases(KeyId=key_id)["Aliases"]
    assert len(aliases) == 1, f"{uri} is encrypted with a key that no stack alias names"
    return key_arn_of_alias(plan, aliases[0]["AliasName"])


def test_the_prod_plan_serves_the_promoted_package(chain) -> None:
    endpoint_model = chain["plan"].one("aws:sagemaker/model:Model")
    container = endpoint_model["inputs"]["primaryContainer"]
    assert container["modelPackageName"] == chain["prod"]["ModelPackageArn"]


def test_prod_may_read_every_object_its_package_names(chain) -> None:
    documents = role_documents(chain["plan"], "mlops-prod-execution")
    named = uris(chain["prod"])
    assert len(named) == 2  # model artifact and metrics report
    for uri in named:
        assert evaluate(documents, Request("s3:GetObject", object_arn(uri))) == ALLOW, uri


def test_prod_may_decrypt_every_object_its_package_names(chain) -> None:
    documents = role_documents(chain["plan"], "mlops-prod-execution")
    for uri in uris(chain["prod"]):
        key = plan_key_of(chain["clients"], chain["plan"], uri)
        assert evaluate(documents, Request("kms:Decrypt", key, VIA_S3)) == ALLOW, uri


def test_prod_may_not_read_what_the_dev_package_names(chain) -> None:
    documents = role_documents(chain["plan"], "mlops-prod-execution")
    for uri in uris(chain["source"]):
        assert evaluate(documents, Request("s3:GetObject", object_arn(uri))) != ALLOW, uri


def repository_arn(image_uri: str) -> str:
    ref = parse_image_uri(image_uri)
    assert ref is not None, image_uri
    return f"arn:aws:ecr:{ref.region}:{ref.account}:repository/{ref.repository}"


def test_prod_may_pull_the_image_its_package_names(chain) -> None:
    documents = role_documents(chain["plan"], "mlops-prod-execution")
    image = chain["prod"]["InferenceSpecification"]["Containers"][0]["Image"]
    assert "/mlops-prod-image@sha256:" in image
    for action in PULL:
        assert evaluate(documents, Request(action, repository_arn(image))) == ALLOW, action


def test_prod_may_not_pull_from_devs_repository(chain) -> None:
    documents = role_documents(chain["plan"], "mlops-prod-execution")
    image = chain["source"]["InferenceSpecification"]["Containers"][0]["Image"]
    assert evaluate(documents, Request("ecr:BatchGetImage", repository_arn(image))) != ALLOW


def test_a_second_promotion_replaces_the_first_ones_prefix(chain) -> None:
    container = chain["prod"]["InferenceSpecification"]["Containers"][0]
    assert container["ModelDataUrl"] == (
        f"s3://mlops-prod-artifacts-123456789012-us-east-1/promoted/staging/1/runs/1/{TARBALL}"
    )


def test_the_prod_artifacts_bucket_policy_accepts_the_copies_encryption(chain) -> None:
    plan = chain["plan"]
    policy = parse_document(
        plan.one("aws:s3/bucketPolicy:BucketPolicy", "mlops-prod-artifacts-policy")["inputs"][
            "policy"
        ]
    )
    assert policy is not None
    for uri in uris(chain["prod"]):
        put = {
            "aws:SecureTransport": "true",
            "s3:TlsVersion": "1.3",
            "s3:x-amz-server-side-encryption": "aws:kms",
            "s3:x-amz-server-side-encryption-aws-kms-key-id": plan_key_of(
                chain["clients"], plan, uri
            ),
        }
        assert evaluate([policy], Request("s3:PutObject", object_arn(uri), put)) != EXPLICIT_DENY
        by_alias = {
            **put,
            "s3:x-amz-server-side-encryption-aws-kms-key-id": "alias/mlops-prod-data",
        }
        assert evaluate([policy], Request("s3:PutObject", object_arn(uri), by_alias)) == (
            EXPLICIT_DENY
        )
