"""IAM: the SageMaker execution role and the pipeline role, least privilege by construction.

Trust policies carry confused-deputy conditions (this account, this region's
SageMaker resources). No statement uses a ``*`` action; resources are scoped
to this stack's name prefix. Other components add what they need through
``add_policy`` (or a grant helper of the resource they own, such as
``ProjectImage.grant_pull``).
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.components.context import StackContext, policy_json, service_trust
from infra.naming import EXECUTION_ROLE_SUFFIX
from infra.network import NetworkIds

ENI_ACTIONS = [
    "ec2:CreateNetworkInterface",
    "ec2:CreateNetworkInterfacePermission",
    "ec2:DeleteNetworkInterface",
    "ec2:DeleteNetworkInterfacePermission",
]
ENI_DESCRIBE_ACTIONS = [
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeVpcs",
    "ec2:DescribeDhcpOptions",
    "ec2:DescribeSubnets",
    "ec2:DescribeSecurityGroups",
]


@dataclass(frozen=True)
class PlatformRolesArgs:
    """The network the roles' jobs and endpoints run in, if the stack has one."""

    network: NetworkIds | None = None


def write_logs_statement(context: StackContext, sid: str, log_group: str) -> dict[str, object]:
    """Create and write the streams of ``log_group`` (a name or pattern) of this stack's region."""
    return {
        "Sid": sid,
        "Effect": "Allow",
        "Action": [
            "logs:CreateLogGroup",
            "logs:CreateLogStream",
            "logs:PutLogEvents",
            "logs:DescribeLogStreams",
        ],
        "Resource": [
            context.arn("logs", f"log-group:{log_group}"),
            context.arn("logs", f"log-group:{log_group}:log-stream:*"),
        ],
    }


class PlatformRoles(pulumi.ComponentResource):
    """The roles SageMaker assumes for this stack: jobs and endpoints, and the pipeline."""

    execution_role: aws.iam.Role
    pipeline_role: aws.iam.Role

    def __init__(
        self,
        name: str,
        context: StackContext,
        args: PlatformRolesArgs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("mlops:iam:PlatformRoles", name, None, opts)
        self._context = context
        network_ids = args.network.as_output() if args.network is not None else None
        self._network_ids = network_ids
        self.execution_role = self._sagemaker_role(
            EXECUTION_ROLE_SUFFIX, "Runs this stack's SageMaker jobs and endpoints"
        )
        self.pipeline_role = self._sagemaker_role(
            "pipeline", "Runs this stack's SageMaker pipeline"
        )
        self._grant_logs_and_metrics(self.execution_role)
        self._grant_pipeline_jobs()
        if network_ids is not None:
            self._grant_vpc_access(network_ids)
        self.register_outputs(
            {
                "executionRoleArn": self.execution_role.arn,
                "pipelineRoleArn": self.pipeline_role.arn,
            }
        )

    def _sagemaker_role(self, purpose: str, description: str) -> aws.iam.Role:
        context = self._context
        trust = service_trust(
            context,
            "SageMakerOfThisAccountOnly",
            "sagemaker.amazonaws.com",
            context.arn("sagemaker", "*"),
            arn_match="ArnLike",
        )
        return aws.iam.Role(
            context.name(purpose),
            name=context.name(purpose),
            description=description,
            assume_role_policy=trust,
            max_session_duration=3600,
            tags=context.tags("iam"),
            opts=pulumi.ResourceOptions(parent=self),
        )

    def job_role(self, purpose: str, description: str) -> aws.iam.Role:
        """A role for one kind of SageMaker job, with the stack's trust and network access.

        It starts with no permissions but the VPC's (when the stack has a VPC);
        the component that runs the job grants the rest.
        """
        role = self._sagemaker_role(purpose, description)
        if self._network_ids is not None:
            self._vpc_policy(role, self._network_ids)
        return role

    def add_policy(
        self,
        role: aws.iam.Role,
        label: str,
        statements: list[dict[str, object]],
        parent: pulumi.Resource | None = None,
    ) -> aws.iam.RolePolicy:
        """Attach inline policy ``label`` to ``role``; ``parent`` is the owning component."""
        return aws.iam.RolePolicy(
            f"{role._name}-{label}",
            role=role.id,
            name=label,
            policy=policy_json(statements),
            opts=pulumi.ResourceOptions(parent=parent or self),
        )

    def grant_pass_execution_role(
        self, role: aws.iam.Role, label: str, parent: pulumi.Resource | None = None
    ) -> aws.iam.RolePolicy:
        """Let ``role`` hand the execution role to SageMaker, and to nothing else."""
        return self.add_policy(
            role,
            label,
            [
                {
                    "Sid": "PassTheExecutionRoleToSageMaker",
                    "Effect": "Allow",
                    "Action": "iam:PassRole",
                    "Resource": self.execution_role.arn,
                    "Condition": {
                        "StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}
                    },
                }
            ],
            parent=parent,
        )

    def _grant_logs_and_metrics(self, role: aws.iam.Role) -> None:
        context = self._context
        self.add_policy(
            role,
            "logs-and-metrics",
            [
                write_logs_statement(context, "WriteSageMakerLogs", "/aws/sagemaker/*"),
                {
                    "Sid": "PublishMetricsToOurNamespaces",
                    "Effect": "Allow",
                    "Action": "cloudwatch:PutMetricData",
                    "Resource": "*",
                    "Condition": {
                        "StringLike": {"cloudwatch:namespace": ["/aws/sagemaker/*", "mlops/*"]}
                    },
                },
            ],
        )

    def _grant_pipeline_jobs(self) -> None:
        context = self._context
        jobs = [
            context.arn("sagemaker", f"{kind}/{context.name()}-*")
            for kind in ("processing-job", "training-job", "pipeline", "model")
        ]
        self.add_policy(
            self.pipeline_role,
            "run-jobs",
            [
                {
                    "Sid": "RunThisStacksJobs",
                    "Effect": "Allow",
                    "Action": [
                        "sagemaker:AddTags",
                        "sagemaker:CreateModel",
                        "sagemaker:CreateProcessingJob",
                        "sagemaker:CreateTrainingJob",
                        "sagemaker:DescribeModel",
                        "sagemaker:DescribeProcessingJob",
                        "sagemaker:DescribeTrainingJob",
                        "sagemaker:StopProcessingJob",
                        "sagemaker:StopTrainingJob",
                        "sagemaker:DescribePipeline",
                        "sagemaker:DescribePipelineExecution",
                        "sagemaker:ListPipelineExecutionSteps",
                    ],
                    "Resource": jobs,
                },
            ],
        )
        self.grant_pass_execution_role(self.pipeline_role, "pass-execution-role")
        self._grant_logs_and_metrics(self.pipeline_role)

    def _grant_vpc_access(self, network_ids: pulumi.Output[dict[str, list[str]]]) -> None:
        for role in (self.execution_role, self.pipeline_role):
            self._vpc_policy(role, network_ids)

    def _vpc_policy(
        self, role: aws.iam.Role, network_ids: pulumi.Output[dict[str, list[str]]]
    ) -> None:
        context = self._context
        interfaces = context.arn("ec2", "network-interface/*")
        scoped = pulumi.Output.all(network_ids, context.account_id, interfaces).apply(
            lambda values: [
                *(
                    f"arn:aws:ec2:{context.region}:{values[1]}:subnet/{subnet}"
                    for subnet in values[0]["subnet_ids"]
                ),
                *(
                    f"arn:aws:ec2:{context.region}:{values[1]}:security-group/{group}"
                    for group in values[0]["security_group_ids"]
                ),
                values[2],
            ]
        )
        self.add_policy(
            role,
            "vpc-access",
            [
                {
                    "Sid": "NetworkInterfacesInTheStacksSubnets",
                    "Effect": "Allow",
                    "Action": ENI_ACTIONS,
                    "Resource": scoped,
                    "Condition": {"StringEquals": {"aws:RequestedRegion": context.region}},
                },
                {
                    "Sid": "DescribeTheNetwork",
                    "Effect": "Allow",
                    "Action": ENI_DESCRIBE_ACTIONS,
                    "Resource": "*",
                },
            ],
        )
