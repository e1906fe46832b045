"""The Pulumi program: load the stack's config, build the platform, export its outputs."""

import pulumi

from infra.config import load_from_runtime
from infra.platform import build_platform

platform = build_platform(load_from_runtime())
for output_name, value in platform.outputs().items():
    pulumi.export(output_name, value)
