"""Copying an image between ECR repositories keeps its digest and moves only missing blobs.

moto implements BatchGetImage, BatchCheckLayerAvailability, the layer upload
calls and PutImage, but not GetDownloadUrlForLayer (and keeps no blob bytes):
the copy tests hand the pushed blobs to the copy, and the download itself is
tested with botocore's Stubber and a loopback HTTP server.
"""

from __future__ import annotations

import hashlib
import http.server
import json
import threading
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from ops.local.stack_emulation import push_image
from ops.release.image_copy import (
    ImageCopyError,
    copy_image,
    ecr_download,
    parse_image_uri,
    upload_blob,
)

SOURCE, TARGET = "mlops-dev-image", "mlops-staging-image"


@pytest.fixture
def ecr() -> Iterator[Any]:
    from moto import mock_aws

    with mock_aws():
        client = boto3.client("ecr", region_name="us-east-1")
        for name in (SOURCE, TARGET):
            client.create_repository(repositoryName=name, imageTagMutability="IMMUTABLE")
        yield client


def manifest_of(ecr: Any, repository: str, digest: str) -> str:
    images = ecr.batch_get_image(repositoryName=repository, imageIds=[{"imageDigest": digest}])
    return images["images"][0]["imageManifest"]


def test_a_copy_has_the_same_digest_and_manifest_in_the_target_repository(ecr) -> None:
    pushed = push_image(ecr, SOURCE, [b"layer one", b"layer two"])
    copied = copy_image(ecr, pushed.ref, TARGET, pushed.fetch)
    assert copied.digest == pushed.ref.digest and copied.repository == TARGET
    assert copied.uri == f"123456789012.dkr.ecr.us-east-1.amazonaws.com/{TARGET}@{copied.digest}"
    assert manifest_of(ecr, TARGET, copied.digest) == manifest_of(ecr, SOURCE, copied.digest)


def test_every_blob_of_the_image_becomes_available_in_the_target(ecr) -> None:
    pushed = push_image(ecr, SOURCE, [b"layer one", b"layer two"])
    copy_image(ecr, pushed.ref, TARGET, pushed.fetch)
    checked = ecr.batch_check_layer_availability(
        repositoryName=TARGET, layerDigests=list(pushed.blobs)
    )
    assert not checked["failures"] and len(checked["layers"]) == 3  # config and two layers


def test_only_blobs_the_target_lacks_are_downloaded(ecr) -> None:
    pushed = push_image(ecr, SOURCE, [b"shared base", b"new code"])
    upload_blob(ecr, TARGET, b"shared base")
    fetched: list[str] = []

    def fetch(repository: str, digest: str) -> bytes:
        fetched.append(digest)
        return pushed.fetch(repository, digest)

    copy_image(ecr, pushed.ref, TARGET, fetch)
    assert "sha256:" + hashlib.sha256(b"shared base").hexdigest() not in fetched
    assert len(fetched) == 2


def test_an_image_already_in_the_target_is_left_alone(ecr) -> None:
    pushed = push_image(ecr, SOURCE, [b"layer"])
    copy_image(ecr, pushed.ref, TARGET, pushed.fetch)

    def refuse(repository: str, digest: str) -> bytes:
        raise AssertionError("nothing should be downloaded")

    assert copy_image(ecr, pushed.ref, TARGET, refuse).digest == pushed.ref.digest


def test_a_blob_that_does_not_match_its_digest_stops_the_copy(ecr) -> None:
    pushed = push_image(ecr, SOURCE, [b"layer"])
    with pytest.raises(ImageCopyError, match="does not match its digest"):
        copy_image(ecr, pushed.ref, TARGET, lambda repository, digest: b"tampered")
    assert not ecr.describe_images(repositoryName=TARGET)["imageDetails"]


def test_a_missing_image_is_a_clear_error(ecr) -> None:
    ref = parse_image_uri(
        f"123456789012.dkr.ecr.us-east-1.amazonaws.com/{SOURCE}@sha256:{'a' * 64}"
    )
    assert ref is not None
    with pytest.raises(ImageCopyError, match=f"not found in repository {SOURCE}"):
        copy_image(ecr, ref, TARGET, lambda repository, digest: b"")


def test_an_image_index_copies_its_platform_manifests_first(ecr) -> None:
    platform = push_image(ecr, SOURCE, [b"amd64 layer"])
    index = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": [
                {
                    "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                    "digest": platform.ref.digest,
                    "size": len(manifest_of(ecr, SOURCE, platform.ref.digest)),
                    "platform": {"architecture": "amd64", "os": "linux"},
                }
            ],
        }
    )
    digest = "sha256:" + hashlib.sha256(index.encode()).hexdigest()
    ecr.put_image(
        repositoryName=SOURCE,
        imageManifest=index,
        imageManifestMediaType="application/vnd.oci.image.index.v1+json",
        imageDigest=digest,
    )
    ref = parse_image_uri(platform.ref.uri.replace(platform.ref.digest, digest))
    assert ref is not None
    copy_image(ecr, ref, TARGET, platform.fetch)
    assert manifest_of(ecr, TARGET, digest) == index
    assert manifest_of(ecr, TARGET, platform.ref.digest)


def test_only_ecr_images_named_by_digest_are_parsed() -> None:
    assert parse_image_uri("683313688378.dkr.ecr.us-east-1.amazonaws.com/sk:1.2-1") is None
    assert parse_image_uri("ghcr.io/org/image@sha256:" + "a" * 64) is None
    ref = parse_image_uri(f"123456789012.dkr.ecr.eu-west-1.amazonaws.com/a/b@sha256:{'b' * 64}")
    assert ref is not None and (ref.region, ref.repository) == ("eu-west-1", "a/b")


@pytest.fixture
def blob_server() -> Iterator[str]:
    """A loopback HTTP server answering with b'layer bytes', standing in for S3's pre-signed URL."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"layer bytes")

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/blob?X-Amz-Signature=s"
    server.shutdown()
    server.server_close()


def test_blobs_download_from_the_url_ecr_hands_out(blob_server) -> None:
    client = boto3.client("ecr", region_name="us-east-1")
    digest = "sha256:" + hashlib.sha256(b"layer bytes").hexdigest()
    with Stubber(client) as stub:
        stub.add_response(
            "get_download_url_for_layer",
            {"downloadUrl": blob_server, "layerDigest": digest},
            {"repositoryName": SOURCE, "layerDigest": digest},
        )
        assert ecr_download(client)(SOURCE, digest) == b"layer bytes"
        stub.assert_no_pending_responses()


def test_a_download_url_that_is_not_https_is_refused() -> None:
    client = boto3.client("ecr", region_name="us-east-1")
    digest = "sha256:" + "c" * 64
    with Stubber(client) as stub:
        stub.add_response(
            "get_download_url_for_layer",
            {"downloadUrl": "http://example.com/blob", "layerDigest": digest},
            {"repositoryName": SOURCE, "layerDigest": digest},
        )
        with pytest.raises(ImageCopyError, match="refusing to download"):
            ecr_download(client)(SOURCE, digest)
