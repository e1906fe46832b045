"""The training pipeline's definition: version, validate, features, train, evaluate, gate, register.

Every execution starts by versioning the input prefix (``pipelines.jobs.dataset``,
never cached) and reads the data through that version's manifest, so the job
steps after it are served from SageMaker's cache exactly when the data is
unchanged; after Train, ``pipelines.jobs.champion`` (never cached) scores the
current champion on the same split, so every run, scheduled, alarm-started or
manual, is gated against it with no parameter to fill in.

``build_definition`` is pure: the same ``TrainingPipelineSpec`` gives byte-identical
JSON, with no timestamp, random id or AWS call, so ``pulumi up`` updates the
pipeline only when something in it changed. Outputs of each execution land
under ``pipeline-runs/<execution id>/`` in the artifacts bucket; bad input files
land in the data bucket's ``quarantine/`` prefix with their reasons. Each job
step has its builder in ``training_jobs.py``; the gate steps are in ``gates.py``.
"""

from __future__ import annotations

import json

from pipelines.definitions.blocks import Json
from pipelines.definitions.gates import gate_conditions, gate_steps, register_step
from pipelines.definitions.training_jobs import JOB_STEP_BUILDERS, job_settings
from pipelines.definitions.training_spec import (
    EVALUATION_REPORT,
    FEATURES_REPORT,
    PR_AUC_PATH,
    RECALL_PATH,
    VALIDATION_REPORT,
    Gates,
    TrainingPipelineSpec,
    gates_of,
)
from pipelines.lambdas.start_pipeline import MANUAL, RUN_KIND_PARAMETER, RUN_KINDS

__all__ = [
    "EVALUATION_REPORT",
    "FEATURES_REPORT",
    "PR_AUC_PATH",
    "RECALL_PATH",
    "VALIDATION_REPORT",
    "Gates",
    "TrainingPipelineSpec",
    "build_definition",
    "build_steps",
    "definition_json",
    "flatten_steps",
    "gate_conditions",
    "gates_of",
    "parameters",
    "register_step",
]

DEFINITION_VERSION = "2020-12-01"
STEP_ORDER = (
    "Dataset",
    "Validate",
    "Features",
    "Train",
    "Evaluate",
    "Champion",
    "CheckNewModel",
    "CheckGates",
    "Register",
    "GateFailed",
)
# Job steps SageMaker may serve from its cache; Dataset and Champion run on every execution.
JOB_STEPS = ("Validate", "Features", "Train", "Evaluate")
UNCACHED_STEPS = ("Dataset", "Champion")


def parameters(spec: TrainingPipelineSpec) -> list[Json]:
    """Pipeline parameters with the stack's defaults; a run may override any of them.

    ``RunKind`` says who started the run (the schedule's target input, the retrain
    gate, ``mlops pipeline start``; a start that says nothing is ``manual``). Only the
    uncached Dataset step reads it, so a scheduled and an alarm-started run on the same
    data share every cache entry.
    """
    return [
        {"Name": "InputDataUri", "Type": "String", "DefaultValue": spec.raw_uri},
        {
            "Name": "ProcessingInstanceType",
            "Type": "String",
            "DefaultValue": spec.processing_instance_type,
        },
        {
            "Name": "TrainingInstanceType",
            "Type": "String",
            "DefaultValue": spec.training_instance_type,
        },
        {"Name": "ModelApprovalStatus", "Type": "String", "DefaultValue": spec.approval_status},
        {
            "Name": RUN_KIND_PARAMETER,
            "Type": "String",
            "DefaultValue": MANUAL,
            "EnumValues": list(RUN_KINDS),
        },
    ]


def build_steps(spec: TrainingPipelineSpec) -> list[Json]:
    """The steps in execution order (data dependencies order them in SageMaker too)."""
    settings = job_settings(spec)
    return [*(build(spec, settings) for build in JOB_STEP_BUILDERS), *gate_steps(spec)]


def build_definition(spec: TrainingPipelineSpec) -> Json:
    """The whole definition as a dict, in the SDK's layout."""
    return {
        "Version": DEFINITION_VERSION,
        "Metadata": {},
        "Parameters": parameters(spec),
        "PipelineExperimentConfig": {
            "ExperimentName": {"Get": "Execution.PipelineName"},
            "TrialName": {"Get": "Execution.PipelineExecutionId"},
        },
        "MlflowConfig": None,
        "Steps": build_steps(spec),
    }


def definition_json(spec: TrainingPipelineSpec) -> str:
    """The definition as compact JSON with sorted keys: the bytes SageMaker stores."""
    return json.dumps(build_definition(spec), sort_keys=True, separators=(",", ":"))


def flatten_steps(definition: Json) -> list[Json]:
    """Every step, the condition's branches included, in definition order."""
    found: list[Json] = []
    for step in definition["Steps"]:
        found.append(step)
        if step["Type"] == "Condition":
            found += flatten_steps({"Steps": step["Arguments"]["IfSteps"]})
            found += flatten_steps({"Steps": step["Arguments"]["ElseSteps"]})
    return found
