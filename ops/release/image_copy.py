"""Copy a container image between ECR repositories with the ECR API, keeping its digest.

A stack's execution role pulls only from its own stack's repositories, so a
promoted model's image is copied into the target stack's repository: the
manifest is read with BatchGetImage, each blob (config and layers) the target
lacks (BatchCheckLayerAvailability) is downloaded through
GetDownloadUrlForLayer and uploaded with InitiateLayerUpload, UploadLayerPart
and CompleteLayerUpload, then the same manifest bytes are put with PutImage
by digest (no tag), so the copy has the digest the package names. Image
indexes (multi-platform) copy their child manifests first.

API: https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_Operations.html
"""

from __future__ import annotations

import hashlib
import json
import re
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from pipelines.registry import RegistryError

MANIFEST_TYPES = [
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.index.v1+json",
]
INDEX_TYPES = set(MANIFEST_TYPES[2:])
IMAGE_URI = re.compile(
    r"^(?P<account>\d{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com/"
    r"(?P<repository>[a-z0-9][a-z0-9._/-]*)@(?P<digest>sha256:[0-9a-f]{64})$"
)
DOWNLOAD_SECONDS = 300

# (repository, blob digest) -> the blob's bytes.
LayerFetch = Callable[[str, str], bytes]


class ImageCopyError(RegistryError):
    """An image that cannot be copied (missing, or a blob that does not match its digest)."""


@dataclass(frozen=True)
class ImageRef:
    """``<account>.dkr.ecr.<region>.amazonaws.com/<repository>@sha256:<digest>``."""

    account: str
    region: str
    repository: str
    digest: str

    @property
    def uri(self) -> str:
        return f"{self.account}.dkr.ecr.{self.region}.amazonaws.com/{self.repository}@{self.digest}"


def parse_image_uri(uri: str) -> ImageRef | None:
    """An ECR image referenced by digest, or None for anything else (a tag, another registry)."""
    found = IMAGE_URI.match(uri)
    return ImageRef(**found.groupdict()) if found else None


def ecr_download(ecr: Any) -> LayerFetch:
    """Blobs through GetDownloadUrlForLayer: a pre-signed URL, fetched over HTTPS."""

    def fetch(repository: str, digest: str) -> bytes:
        url = ecr.get_download_url_for_layer(repositoryName=repository, layerDigest=digest)[
            "downloadUrl"
        ]
        if not url.startswith(("https://", "http://127.0.0.1")):
            raise ImageCopyError(f"refusing to download {digest} from {url.split('?')[0]}")
        with urllib.request.urlopen(url, timeout=DOWNLOAD_SECONDS) as response:  # noqa: S310
            data: bytes = response.read()
        return data

    return fetch


def copy_image(
    ecr: Any, image: ImageRef, target_repository: str, fetch: LayerFetch | None = None
) -> ImageRef:
    """``image`` in ``target_repository`` under the same digest; nothing moves if it is there."""
    target = replace(image, repository=target_repository)
    if _manifest(ecr, target_repository, image.digest) is None:
        _copy_manifest(
            ecr, image.repository, target_repository, image.digest, fetch or ecr_download(ecr)
        )
    return target


def _copy_manifest(ecr: Any, source: str, target: str, digest: str, fetch: LayerFetch) -> None:
    found = _manifest(ecr, source, digest)
    if found is None:
        raise ImageCopyError(f"image {digest} not found in repository {source}")
    manifest, media_type = found
    document = json.loads(manifest)
    if media_type in INDEX_TYPES:
        for child in document.get("manifests", []):
            if _manifest(ecr, target, child["digest"]) is None:
                _copy_manifest(ecr, source, target, child["digest"], fetch)
    else:
        blobs = [document["config"]["digest"], *(layer["digest"] for layer in document["layers"])]
        for blob in _missing(ecr, target, blobs):
            data = fetch(source, blob)
            if "sha256:" + hashlib.sha256(data).hexdigest() != blob:
                raise ImageCopyError(f"blob {blob} of {source} does not match its digest")
            _upload(ecr, target, data, blob)
    ecr.put_image(
        repositoryName=target,
        imageManifest=manifest,
        imageManifestMediaType=media_type,
        imageDigest=digest,
    )


def _manifest(ecr: Any, repository: str, digest: str) -> tuple[str, str] | None:
    """(manifest text, media type) of ``digest`` in ``repository``, None when absent."""
    from botocore.exceptions import ClientError

    try:
        found = ecr.batch_get_image(
            repositoryName=repository,
            imageIds=[{"imageDigest": digest}],
            acceptedMediaTypes=MANIFEST_TYPES,
        )
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "RepositoryNotFoundException":
            raise ImageCopyError(f"ECR repository {repository} not found") from None
        raise
    images = found.get("images") or []
    if not images:
        return None
    manifest = images[0]["imageManifest"]
    media_type = images[0].get("imageManifestMediaType") or json.loads(manifest).get("mediaType")
    return manifest, media_type


def _missing(ecr: Any, repository: str, digests: list[str]) -> list[str]:
    checked = ecr.batch_check_layer_availability(repositoryName=repository, layerDigests=digests)
    available = {
        layer["layerDigest"]
        for layer in checked.get("layers", [])
        if layer.get("layerAvailability") == "AVAILABLE"
    }
    return [digest for digest in dict.fromkeys(digests) if digest not in available]


def upload_blob(ecr: Any, repository: str, data: bytes) -> str:
    """Upload one blob in the parts ECR asks for; returns its digest."""
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    _upload(ecr, repository, data, digest)
    return digest


def _upload(ecr: Any, repository: str, data: bytes, digest: str) -> None:
    started = ecr.initiate_layer_upload(repositoryName=repository)
    upload_id, part_size = started["uploadId"], int(started.get("partSize") or len(data) or 1)
    for first in range(0, len(data), part_size):
        part = data[first : first + part_size]
        ecr.upload_layer_part(
            repositoryName=repository,
            uploadId=upload_id,
            partFirstByte=first,
            partLastByte=first + len(part) - 1,
            layerPartBlob=part,
        )
    done = ecr.complete_layer_upload(
        repositoryName=repository, uploadId=upload_id, layerDigests=[digest]
    )
    if done.get("layerDigest") != digest:
        raise ImageCopyError(f"ECR stored {done.get('layerDigest')} for blob {digest}")
