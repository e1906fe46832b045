"""The retrain gate: a small Lambda function that starts the pipeline at most once per cool-down.

The retrain rule invokes it instead of the pipeline (``pipelines/lambdas/retrain_gate.py``
holds the logic, tested against moto). Reserved concurrency 1 serialises the
deliveries of a flapping alarm, so two never check at the same time; its role
may list and start this stack's pipeline, nothing else. Failed asynchronous
invocations go to the stack's dead-letter queue, its logs to a log group
encrypted with the stack key.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.components.context import StackContext, policy_json
from infra.components.dead_letters import DeadLetterQueue
from infra.image_context import REPO_ROOT

RUNTIME = "python3.12"  # boto3 is part of the Lambda runtime
HANDLER = "pipelines.lambdas.retrain_gate.handler"
MAX_EVENT_AGE_SECONDS = 3600  # an alarm state change older than an hour retrains nothing
# The modules the handler imports, and nothing else: stdlib and boto3 beyond these.
GATE_FILES = (
    "ml/__init__.py",
    "ml/errors.py",
    "pipelines/__init__.py",
    "pipelines/lambdas/__init__.py",
    "pipelines/lambdas/start_pipeline.py",
    "pipelines/lambdas/retrain_gate.py",
)


@dataclass(frozen=True)
class GateTarget:
    """What the gate starts: the stack's training pipeline."""

    pipeline_arn: pulumi.Output[str]
    pipeline_name: str


class RetrainGate(pulumi.ComponentResource):
    """The function, its role, its log group and EventBridge's permission to invoke it."""

    function: aws.lambda_.Function

    def __init__(
        self,
        name: str,
        context: StackContext,
        target: GateTarget,
        cooldown_minutes: int,
        key: pulumi.Input[str],
        dead_letters: DeadLetterQueue,
        log_retention_days: int,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("mlops:monitoring:RetrainGate", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        function_name = context.name("retrain-gate")
        log_group = aws.cloudwatch.LogGroup(
            function_name,
            name=f"/aws/lambda/{function_name}",
            kms_key_id=key,
            retention_in_days=log_retention_days,
            tags=context.tags("monitoring"),
            opts=child,
        )
        role = aws.iam.Role(
            function_name,
            name=function_name,
            description=f"Lets {function_name} list and start {target.pipeline_name}, nothing else",
            assume_role_policy=policy_json(
                [
                    {
                        # Lambda of this account only; which function may use the role is
                        # decided by iam:PassRole, scoped to the stack by whoever deploys it.
                        "Sid": "LambdaOfThisAccountOnly",
                        "Effect": "Allow",
                        "Principal": {"Service": "lambda.amazonaws.com"},
                        "Action": "sts:AssumeRole",
                        "Condition": {"StringEquals": {"aws:SourceAccount": context.account_id}},
                    }
                ]
            ),
            tags=context.tags("monitoring"),
            opts=child,
        )
        grants = [
            aws.iam.RolePolicy(
                f"{function_name}-start-pipeline",
                role=role.id,
                name="start-pipeline-once-per-cooldown",
                policy=policy_json(self._statements(target, log_group)),
                opts=child,
            )
        ]
        dead_letter, dead_letter_grant = dead_letters.for_role(role, parent=self)
        self.function = aws.lambda_.Function(
            function_name,
            name=function_name,
            description=(
                f"Starts {target.pipeline_name} on an alarm unless a run started within "
                f"{cooldown_minutes} minutes"
            ),
            role=role.arn,
            runtime=RUNTIME,
            handler=HANDLER,
            code=pulumi.AssetArchive(
                {path: pulumi.FileAsset(str(REPO_ROOT / path)) for path in GATE_FILES}
            ),
            timeout=60,
            memory_size=128,
            reserved_concurrent_executions=1,
            environment={
                "variables": {
                    "PIPELINE_NAME": target.pipeline_name,
                    "RETRAIN_COOLDOWN_MINUTES": str(cooldown_minutes),
                }
            },
            kms_key_arn=key,
            dead_letter_config={"target_arn": dead_letter["arn"]},
            tracing_config={"mode": "Active"},
            logging_config={"log_format": "Text", "log_group": log_group.name},
            tags=context.tags("monitoring"),
            opts=pulumi.ResourceOptions(
                parent=self, depends_on=[*grants, dead_letter_grant, log_group]
            ),
        )
        self.register_outputs({"functionName": self.function.name})

    @staticmethod
    def _statements(
        target: GateTarget, log_group: aws.cloudwatch.LogGroup
    ) -> list[dict[str, object]]:
        return [
            {
                "Sid": "ListAndStartThisPipeline",
                "Effect": "Allow",
                "Action": [
                    "sagemaker:ListPipelineExecutions",
                    "sagemaker:StartPipelineExecution",
                ],
                "Resource": target.pipeline_arn,
            },
            {
                "Sid": "WriteItsOwnLogs",
                "Effect": "Allow",
                "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": pulumi.Output.concat(log_group.arn, ":*"),
            },
            {
                # X-Ray accepts trace segments on no resource narrower than "*".
                "Sid": "SendTraces",
                "Effect": "Allow",
                "Action": ["xray:PutTraceSegments", "xray:PutTelemetryRecords"],
                "Resource": "*",
            },
        ]

    def allow_invoke_from(self, rule: aws.cloudwatch.EventRule, context: StackContext) -> None:
        """Let EventBridge invoke the function for ``rule`` of this account only."""
        aws.lambda_.Permission(
            f"{context.name('retrain-gate')}-from-{rule._name}",
            action="lambda:InvokeFunction",
            function=self.function.name,
            principal="events.amazonaws.com",
            source_arn=rule.arn,
            source_account=context.account_id,
            opts=pulumi.ResourceOptions(parent=self),
        )


def retrain_on_alarms(
    context: StackContext,
    purpose: str,
    description: str,
    alarms: list[aws.cloudwatch.MetricAlarm],
    gate: RetrainGate,
    dead_letters: DeadLetterQueue,
    parent: pulumi.Resource,
) -> aws.cloudwatch.EventRule:
    """``<prefix>-<env>-retrain-on-<purpose>``: ``alarms`` entering ALARM invoke the gate.

    The rule never starts the pipeline itself, so every alarm shares the gate's cool-down.
    """
    child = pulumi.ResourceOptions(parent=parent)
    rule_name = context.name(f"retrain-on-{purpose}")
    rule = aws.cloudwatch.EventRule(
        rule_name,
        name=rule_name,
        description=description,
        event_pattern=pulumi.Output.json_dumps(
            {
                "source": ["aws.cloudwatch"],
                "detail-type": ["CloudWatch Alarm State Change"],
                "resources": [alarm.arn for alarm in alarms],
                "detail": {"state": {"value": ["ALARM"]}},
            }
        ),
        tags=context.tags("monitoring"),
        opts=child,
    )
    gate.allow_invoke_from(rule, context)
    aws.cloudwatch.EventTarget(
        f"{rule_name}-target",
        rule=rule.name,
        arn=gate.function.arn,
        retry_policy={
            "maximum_event_age_in_seconds": MAX_EVENT_AGE_SECONDS,
            "maximum_retry_attempts": 10,
        },
        dead_letter_config=dead_letters.for_rule(rule),
        opts=child,
    )
    return rule
