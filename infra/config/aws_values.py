"""Values AWS or Kubernetes would refuse at deploy time, refused here with AWS's documented rule.

- Regions: the regions of botocore's partition data (``endpoints.json``, shipped
  with botocore, read offline); a region botocore does not know is refused, and
  a newer botocore knows newer regions.
- Tags: "Maximum key length - 128 Unicode characters in UTF-8; maximum value
  length - 256", letters, numbers, spaces and ``_ . : / = + - @``, and keys
  must not start with the reserved ``aws:`` prefix; 50 tags per resource
  (https://docs.aws.amazon.com/general/latest/gr/aws_tagging.html; SageMaker's
  Tag shape, https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_Tag.html,
  has the same lengths and the pattern ``[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*``).
- Model package ARNs: ``arn:<partition>:sagemaker:<region>:<account>:model-package/``
  ``<group>/<version>`` (the API's ModelPackageArn shape); a stack serves a
  versioned package of its own region (and, where ``aws:allowedAccountIds``
  names them, of its own accounts).
- Feature group names: 1-64 characters, ``[a-zA-Z0-9]([_-]*[a-zA-Z0-9]){0,63}``
  (the API's FeatureGroupName shape,
  https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_CreateFeatureGroup.html).
- Ingress hosts: a DNS name of lowercase RFC 1123 labels, optionally behind one
  ``*.`` wildcard label, never an IP address (the Kubernetes API's IngressRule.host,
  https://kubernetes.io/docs/reference/kubernetes-api/service-resources/ingress-v1/).
"""

from __future__ import annotations

import functools
import ipaddress
import re
import unicodedata
from dataclasses import dataclass

MAX_TAGS = 50
TAG_KEY_LENGTH, TAG_VALUE_LENGTH = 128, 256
TAG_SYMBOLS = frozenset("_.:/=+-@")
RESERVED_TAG_PREFIX = "aws:"
FEATURE_GROUP_NAME = re.compile(r"^[a-zA-Z0-9]([_-]*[a-zA-Z0-9]){0,63}$")
FEATURE_GROUP_NAME_LENGTH = 64
_ARN = re.compile(
    r"^arn:(?P<partition>aws[a-z-]*):sagemaker:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):"
    r"model-package/(?P<group>[A-Za-z0-9](-*[A-Za-z0-9]){0,62})(/(?P<version>[0-9]+))?$"
)
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
HOST_HINT = "a DNS name such as fraud.example.com (lowercase letters, digits, '-', '.')"


@functools.cache
def region_partitions() -> dict[str, str]:
    """Every region botocore's partition data names, with its partition (``aws``, ``aws-cn``)."""
    from botocore.loaders import create_loader

    endpoints = create_loader().load_data("endpoints")
    return {
        region: partition["partition"]
        for partition in endpoints["partitions"]
        for region in partition.get("regions", {})
    }


def region_problem(region: str) -> str | None:
    """Why ``region`` is no AWS region botocore knows, or None."""
    if region in region_partitions():
        return None
    import botocore

    return (
        f"not an AWS region botocore {botocore.__version__} knows; "
        "use one such as us-east-1 or eu-west-1"
    )


def tags_problem(tags: dict[str, str]) -> tuple[str, str, str] | None:
    """(key path, shown value, why) for the first user tag AWS would refuse, or None.

    The platform adds three tags of its own, so a user may give 47.
    """
    if len(tags) > MAX_TAGS - 3:
        return (
            "tags",
            f"{len(tags)} tags",
            f"at most {MAX_TAGS - 3}: a resource takes 50, 3 are ours",
        )
    for key, value in tags.items():
        shown = value if len(value) <= 40 else f"{value[:40]}..."
        if key.lower().startswith(RESERVED_TAG_PREFIX):
            return "tags", key, "tag keys must not start with the reserved prefix 'aws:'"
        if not 1 <= len(key) <= TAG_KEY_LENGTH:
            return "tags", key[:40], f"a tag key takes 1-{TAG_KEY_LENGTH} characters"
        if len(value) > TAG_VALUE_LENGTH:
            why = f"{len(value)} characters; a tag value takes at most {TAG_VALUE_LENGTH}"
            return f"tags.{key}", shown, why
        bad = next((c for c in key + value if not _tag_character(c)), None)
        if bad is not None:
            why = f"{bad!r} is not allowed: tags take letters, digits, spaces and _ . : / = + - @"
            return f"tags.{key}", shown, why
    return None


def _tag_character(character: str) -> bool:
    """``[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]``: a letter, separator, number or one of the symbols."""
    return unicodedata.category(character)[0] in "LZN" or character in TAG_SYMBOLS


@dataclass(frozen=True)
class PackageArn:
    """The parts of a model package ARN."""

    partition: str
    region: str
    account: str
    group: str
    version: int | None


def parse_package_arn(arn: str) -> PackageArn | None:
    """The parts of a model package ARN, or None when ``arn`` is none."""
    found = _ARN.match(arn)
    if found is None:
        return None
    version = found.group("version")
    return PackageArn(
        found.group("partition"),
        found.group("region"),
        found.group("account"),
        found.group("group"),
        int(version) if version is not None else None,
    )


def package_arn_problem(arn: str, region: str) -> str | None:
    """Why a stack in ``region`` cannot serve the package ``arn``, or None."""
    parts = parse_package_arn(arn)
    if parts is None:
        return None  # the field's pattern names the format
    if parts.version is None:
        return (
            "names a model package group, not a package: add the version, "
            f"arn:...:model-package/{parts.group}/<version>"
        )
    if parts.region != region:
        return (
            f"is in {parts.region}, the stack in {region}: a stack serves a package of its own "
            f"region; promote it there ('mlops promote') or register it in {region}"
        )
    partition = region_partitions().get(region)
    if partition is not None and parts.partition != partition:
        return f"is in partition {parts.partition}; {region} is in {partition}"
    return None


def feature_group_problem(full_name: str) -> str | None:
    """Why SageMaker would refuse the feature group name the stack builds, or None."""
    if len(full_name) > FEATURE_GROUP_NAME_LENGTH:
        return (
            f"makes the feature group name {full_name!r} ({len(full_name)} characters); "
            f"SageMaker allows {FEATURE_GROUP_NAME_LENGTH}: shorten it or namePrefix"
        )
    if not FEATURE_GROUP_NAME.match(full_name):
        return f"makes the feature group name {full_name!r}, which SageMaker's pattern refuses"
    return None


def host_problem(host: str) -> str | None:
    """Why Kubernetes would refuse ``host`` as an Ingress rule's host, or None."""
    name = host.removeprefix("*.")
    try:
        ipaddress.ip_address(name)
    except ValueError:
        pass
    else:
        return "an Ingress host cannot be an IP address; use a DNS name"
    labels = name.split(".")
    if len(name) > 253 or not all(_DNS_LABEL.match(label) for label in labels):
        return f"expected {HOST_HINT}, optionally *.example.com"
    return None
