"""The retrain gate: a small Lambda function that starts the pipeline at most once per cool-down.

The retrain rules invoke it instead of the pipeline (``pipelines/lambdas/retrain_gate.py``
holds the logic, tested against moto). Deliveries of a flapping alarm may run
at the same time: the function has no reserved concurrency (AWS refuses a
reservation that leaves fewer than 100 unreserved executions, which is the
whole quota of a new account), so the cool-down is a lease in a DynamoDB table
taken by one conditional write (``pipelines/lambdas/cooldown_lock.py``). Its role
may start this stack's pipeline and read and write that table's items, nothing
else. Failed asynchronous invocations go to the stack's dead-letter queue, its
logs to a log group encrypted with the stack key, the table is encrypted with
the stack key too. An EventBridge Scheduler schedule invokes the function every
``SWEEP_MINUTES`` with a sweep: an alarm refused within the cool-down that is
still in ALARM when it ends starts one run then (CloudWatch sends no second
event for an alarm that stays in ALARM). The function may read the state of
this stack's alarms, nothing more.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.components.context import StackContext, policy_json, service_trust
from infra.components.dead_letters import DeadLetterQueue
from infra.components.pipeline import TrainingPipeline, scheduler_trust
from infra.image_context import REPO_ROOT
from pipelines.lambdas.cooldown_lock import KEY as LOCK_KEY
from pipelines.lambdas.cooldown_lock import TTL_ATTRIBUTE
from pipelines.lambdas.retrain_gate import SWEEP_MINUTES, SWEEP_SOURCE

RUNTIME = "python3.12"  # boto3 is part of the Lambda runtime
HANDLER = "pipelines.lambdas.retrain_gate.handler"
MAX_EVENT_AGE_SECONDS = 3600  # an alarm state change older than an hour retrains nothing
TIMEOUT_SECONDS = 60
# A lease without an execution this old was taken by an invocation that has surely ended.
LEASE_STALE_SECONDS = 2 * TIMEOUT_SECONDS
# The modules the handler imports, and nothing else: stdlib and boto3 beyond these.
GATE_FILES = (
    "ml/__init__.py",
    "ml/errors.py",
    "pipelines/__init__.py",
    "pipelines/lambdas/__init__.py",
    "pipelines/lambdas/cooldown_lock.py",
    "pipelines/lambdas/start_pipeline.py",
    "pipelines/lambdas/retrain_gate.py",
)


@dataclass(frozen=True)
class RetrainGateArgs:
    """The pipeline the gate starts, its cool-down, and the stack's key and dead letters."""

    pipeline: TrainingPipeline
    cooldown_minutes: int
    key: aws.kms.Key
    dead_letters: DeadLetterQueue
    log_retention_days: int


class RetrainGate(pulumi.ComponentResource):
    """The function, its lease table, role, log group and EventBridge's permission to invoke it."""

    function: aws.lambda_.Function
    lock_table: aws.dynamodb.Table

    def __init__(
        self,
        name: str,
        context: StackContext,
        args: RetrainGateArgs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("mlops:monitoring:RetrainGate", name, None, opts)
        self._context = context
        self._args = args
        self._function_name = function_name = context.name("retrain-gate")
        pipeline_name = args.pipeline.pipeline_name
        log_group = aws.cloudwatch.LogGroup(
            function_name,
            name=f"/aws/lambda/{function_name}",
            kms_key_id=args.key.arn,
            retention_in_days=args.log_retention_days,
            tags=context.tags("monitoring"),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.lock_table = self._lock_table()
        role = self._role()
        grant = aws.iam.RolePolicy(
            f"{function_name}-start-pipeline",
            role=role.id,
            name="start-pipeline-once-per-cooldown",
            policy=policy_json(self._statements(log_group)),
            opts=pulumi.ResourceOptions(parent=self),
        )
        dead_letter, dead_letter_grant = args.dead_letters.for_role(role, parent=self)
        self.function = aws.lambda_.Function(
            function_name,
            name=function_name,
            description=(
                f"Starts {pipeline_name} on an alarm unless an alarm started one within "
                f"{args.cooldown_minutes} minutes"
            ),
            role=role.arn,
            runtime=RUNTIME,
            handler=HANDLER,
            code=pulumi.AssetArchive(
                {path: pulumi.FileAsset(str(REPO_ROOT / path)) for path in GATE_FILES}
            ),
            timeout=TIMEOUT_SECONDS,
            memory_size=128,
            environment={
                "variables": {
                    "PIPELINE_NAME": pipeline_name,
                    "RETRAIN_COOLDOWN_MINUTES": str(args.cooldown_minutes),
                    "RETRAIN_LOCK_TABLE": self.lock_table.name,
                    "LEASE_STALE_SECONDS": str(LEASE_STALE_SECONDS),
                }
            },
            kms_key_arn=args.key.arn,
            dead_letter_config={"target_arn": dead_letter["arn"]},
            tracing_config={"mode": "Active"},
            logging_config={"log_format": "Text", "log_group": log_group.name},
            tags=context.tags("monitoring"),
            opts=pulumi.ResourceOptions(
                parent=self, depends_on=[grant, dead_letter_grant, log_group]
            ),
        )
        self.sweep = self._sweep_schedule()
        self.register_outputs(
            {"functionName": self.function.name, "lockTableName": self.lock_table.name}
        )

    def _lock_table(self) -> aws.dynamodb.Table:
        """One item per pipeline: who took the cool-down, when, and what it started.

        On demand (a few writes a month), encrypted with the stack key, point-in-time
        recovery on, and old leases deleted by DynamoDB's TTL.
        """
        context = self._context
        name = context.name("retrain-gate-lock")
        return aws.dynamodb.Table(
            name,
            name=name,
            billing_mode="PAY_PER_REQUEST",
            hash_key=LOCK_KEY,
            attributes=[{"name": LOCK_KEY, "type": "S"}],
            server_side_encryption={"enabled": True, "kms_key_arn": self._args.key.arn},
            point_in_time_recovery={"enabled": True},
            ttl={"attribute_name": TTL_ATTRIBUTE, "enabled": True},
            deletion_protection_enabled=context.config.protect,
            tags=context.tags("monitoring"),
            # Protected like every table in prod: a lost lease would let an alarm start again.
            opts=context.stateful(self),
        )

    def _sweep_schedule(self) -> aws.scheduler.Schedule:
        """``<prefix>-<env>-retrain-sweep``: invokes the gate with a sweep every few minutes.

        Its role may invoke this function only; what Scheduler cannot deliver is a
        dead letter. The input names the event as the gate's own (``SWEEP_SOURCE``).
        """
        context, args = self._context, self._args
        schedule_name = context.name("retrain-sweep")
        role = aws.iam.Role(
            f"{schedule_name}-scheduler",
            name=f"{schedule_name}-scheduler",
            description=f"Lets EventBridge Scheduler invoke {self._function_name} with a sweep",
            assume_role_policy=scheduler_trust(context, schedule_name),
            tags=context.tags("monitoring"),
            opts=pulumi.ResourceOptions(parent=self),
        )
        grant = aws.iam.RolePolicy(
            f"{schedule_name}-invoke",
            role=role.id,
            name="invoke-the-retrain-gate",
            policy=policy_json(
                [
                    {
                        "Sid": "InvokeTheGateOnly",
                        "Effect": "Allow",
                        "Action": "lambda:InvokeFunction",
                        "Resource": self.function.arn,
                    },
                    {
                        "Sid": "ReadTheScheduleEncryptedWithTheStackKey",
                        "Effect": "Allow",
                        "Action": "kms:Decrypt",
                        "Resource": args.key.arn,
                    },
                ]
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        dead_letter, dead_letter_grant = args.dead_letters.for_role(role, parent=self)
        return aws.scheduler.Schedule(
            schedule_name,
            name=schedule_name,
            description=(
                f"Starts a run for alarms that waited out the {args.cooldown_minutes}-minute "
                "cool-down in ALARM"
            ),
            schedule_expression=f"rate({SWEEP_MINUTES} minutes)",
            schedule_expression_timezone="UTC",
            state="ENABLED",
            flexible_time_window={"mode": "OFF"},
            kms_key_arn=args.key.arn,
            target={
                "arn": self.function.arn,
                "role_arn": role.arn,
                "input": json.dumps(
                    {"source": SWEEP_SOURCE, "detail-type": "Retrain Sweep", "detail": {}}
                ),
                "retry_policy": {"maximum_retry_attempts": 3, "maximum_event_age_in_seconds": 900},
                "dead_letter_config": dead_letter,
            },
            opts=pulumi.ResourceOptions(parent=self, depends_on=[grant, dead_letter_grant]),
        )

    def _role(self) -> aws.iam.Role:
        """Lambda of this account assumes it; what it may do is ``_statements``."""
        context, function_name = self._context, self._function_name
        return aws.iam.Role(
            function_name,
            name=function_name,
            description=(
                f"Lets {function_name} start {self._args.pipeline.pipeline_name} and hold "
                "its cool-down lease, nothing else"
            ),
            # Lambda of this account only; which function may use the role is decided by
            # iam:PassRole, scoped to the stack by whoever deploys it.
            assume_role_policy=service_trust(
                context, "LambdaOfThisAccountOnly", "lambda.amazonaws.com"
            ),
            tags=context.tags("monitoring"),
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _statements(self, log_group: aws.cloudwatch.LogGroup) -> list[dict[str, object]]:
        return [
            {
                "Sid": "StartThisPipeline",
                "Effect": "Allow",
                "Action": "sagemaker:StartPipelineExecution",
                "Resource": self._args.pipeline.pipeline.arn,
            },
            {
                "Sid": "HoldTheCooldownLease",
                "Effect": "Allow",
                "Action": ["dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"],
                "Resource": self.lock_table.arn,
            },
            {
                # DynamoDB decrypts the table key with the caller's rights (cached 5 minutes).
                "Sid": "UseTheStackKeyThroughDynamoDbOnly",
                "Effect": "Allow",
                "Action": ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey"],
                "Resource": self._args.key.arn,
                "Condition": {
                    "StringEquals": {
                        "kms:ViaService": f"dynamodb.{self._context.region}.amazonaws.com"
                    }
                },
            },
            {
                "Sid": "ReadTheStateOfThisStacksAlarms",
                "Effect": "Allow",
                "Action": "cloudwatch:DescribeAlarms",
                "Resource": self._context.arn("cloudwatch", f"alarm:{self._context.name('*')}"),
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

    def retrain_on(
        self,
        purpose: str,
        description: str,
        alarms: list[aws.cloudwatch.MetricAlarm],
        parent: pulumi.Resource,
        aliases: Sequence[pulumi.Input[str | pulumi.Alias]] | None = None,
    ) -> aws.cloudwatch.EventRule:
        """``<prefix>-<env>-retrain-on-<purpose>``: ``alarms`` entering ALARM invoke the gate.

        The rule and its target are children of ``parent``, the component that owns
        the alarms (``aliases`` name where they were before). The rule never starts
        the pipeline itself, so every alarm shares the gate's cool-down.
        """
        context = self._context
        child = pulumi.ResourceOptions(parent=parent, aliases=aliases)
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
        self._allow_invoke_from(rule)
        aws.cloudwatch.EventTarget(
            f"{rule_name}-target",
            rule=rule.name,
            arn=self.function.arn,
            retry_policy={
                "maximum_event_age_in_seconds": MAX_EVENT_AGE_SECONDS,
                "maximum_retry_attempts": 10,
            },
            dead_letter_config=self._args.dead_letters.for_rule(rule),
            opts=child,
        )
        return rule

    def _allow_invoke_from(self, rule: aws.cloudwatch.EventRule) -> None:
        """Let EventBridge invoke the function for ``rule`` of this account only."""
        aws.lambda_.Permission(
            f"{self._function_name}-from-{rule._name}",
            action="lambda:InvokeFunction",
            function=self.function.name,
            principal="events.amazonaws.com",
            source_arn=rule.arn,
            source_account=self._context.account_id,
            opts=pulumi.ResourceOptions(parent=self),
        )
