"""Continuous delivery: approvals in the stack's registry start the promotion workflow on GitHub.

The registry's approval rule gets one more target: an EventBridge API destination
that POSTs GitHub's "create a repository dispatch event" request
(https://docs.github.com/en/rest/repos/repos#create-a-repository-dispatch-event):
``{"event_type": ..., "client_payload": {...}}``, at most 10 top-level payload
properties. The body is built by an input transformer from the documented
``SageMaker Model Package State Change`` event
(https://docs.aws.amazon.com/sagemaker/latest/dg/automating-sagemaker-with-eventbridge.html).
The token is a Pulumi secret, stored by EventBridge in Secrets Manager under the
stack key; what GitHub does not accept in a day lands in the stack's dead-letter queue.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.components.context import StackContext, policy_json, service_trust
from infra.components.dead_letters import DeadLetterQueue
from infra.components.registry import ModelRegistry
from infra.components.storage import StackStorage
from infra.config import GitHubDispatch as GitHubDispatchSettings
from infra.config.delivery import GITHUB_TOKEN_KEY

GITHUB_API_VERSION = "2022-11-28"
GITHUB_MEDIA_TYPE = "application/vnd.github+json"
MAX_EVENT_AGE_SECONDS = 24 * 3600
MAX_RETRY_ATTEMPTS = 20
# Event fields the payload carries (EventBridge JSONPath into the event).
INPUT_PATHS = {
    "arn": "$.detail.ModelPackageArn",
    "group": "$.detail.ModelPackageGroupName",
    "version": "$.detail.ModelPackageVersion",
    "event": "$.id",
}


def dispatch_template(event_type: str, stack: str) -> str:
    """The input template of the dispatch body; ``<name>`` placeholders come from INPUT_PATHS."""
    payload = {
        "model_package_arn": "<arn>",
        "model_package_group": "<group>",
        "model_package_version": "__VERSION__",
        "stack": stack,
        "event_id": "<event>",
    }
    body = json.dumps({"event_type": event_type, "client_payload": payload}, sort_keys=True)
    # The version is a number in the event: unquoted, so it stays one.
    return body.replace('"__VERSION__"', "<version>")


@dataclass(frozen=True)
class GitHubDispatchArgs:
    """The repository to dispatch to, its token, and the approvals it hears about."""

    settings: GitHubDispatchSettings
    registry: ModelRegistry
    storage: StackStorage
    dead_letters: DeadLetterQueue
    token: pulumi.Output[str]


class GitHubDispatch(pulumi.ComponentResource):
    """Sends this stack's model approvals to a GitHub repository as repository dispatches."""

    connection: aws.cloudwatch.EventConnection
    destination: aws.cloudwatch.EventApiDestination

    def __init__(
        self,
        name: str,
        context: StackContext,
        args: GitHubDispatchArgs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("mlops:delivery:GitHubDispatch", name, None, opts)
        self._context = context
        self._args = args
        self.connection = self._connection()
        self.destination = aws.cloudwatch.EventApiDestination(
            context.name("github-dispatch"),
            name=context.name("github-dispatch"),
            description=f"repository_dispatch of {args.settings.repository}",
            connection_arn=self.connection.arn,
            invocation_endpoint=args.settings.dispatch_url,
            http_method="POST",
            invocation_rate_limit_per_second=args.settings.invocations_per_second,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.role = self._role()
        self.target = self._target()
        self.register_outputs({"apiDestinationArn": self.destination.arn})

    def _connection(self) -> aws.cloudwatch.EventConnection:
        """GitHub's API with the token as a bearer header, kept under the stack key."""
        context, args = self._context, self._args
        return aws.cloudwatch.EventConnection(
            context.name("github"),
            name=context.name("github"),
            description=f"GitHub API for {args.settings.repository}",
            authorization_type="API_KEY",
            auth_parameters={
                "api_key": {
                    "key": "Authorization",
                    # require_secret's Output: what is derived from it stays secret.
                    "value": args.token.apply(lambda value: f"Bearer {value}"),
                },
                "invocation_http_parameters": {
                    "headers": [
                        {"key": "Accept", "value": GITHUB_MEDIA_TYPE, "is_value_secret": False},
                        {
                            "key": "X-GitHub-Api-Version",
                            "value": GITHUB_API_VERSION,
                            "is_value_secret": False,
                        },
                    ]
                },
            },
            kms_key_identifier=args.storage.key.arn,
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _role(self) -> aws.iam.Role:
        """Assumed by the approval rule only; may invoke this API destination only."""
        context, rule = self._context, self._args.registry.approval_rule
        child = pulumi.ResourceOptions(parent=self)
        role = aws.iam.Role(
            context.name("github-dispatch"),
            name=context.name("github-dispatch"),
            description="Lets the approval rule call the GitHub API destination, nothing else",
            assume_role_policy=service_trust(
                context, "ApprovalRuleOfThisStackOnly", "events.amazonaws.com", rule.arn
            ),
            tags=context.tags("delivery"),
            opts=child,
        )
        aws.iam.RolePolicy(
            f"{context.name('github-dispatch')}-invoke",
            role=role.id,
            name="invoke-github-dispatch",
            policy=policy_json(
                [
                    {
                        "Sid": "InvokeThisApiDestination",
                        "Effect": "Allow",
                        "Action": "events:InvokeApiDestination",
                        "Resource": self.destination.arn,
                    }
                ]
            ),
            opts=child,
        )
        return role

    def _target(self) -> aws.cloudwatch.EventTarget:
        """The approval rule's dispatch; what GitHub does not accept in a day is a dead letter."""
        context, args = self._context, self._args
        rule = args.registry.approval_rule
        return aws.cloudwatch.EventTarget(
            context.name("model-package-approved-github"),
            rule=rule.name,
            target_id="github-dispatch",
            arn=self.destination.arn,
            role_arn=self.role.arn,
            input_transformer={
                "input_paths": INPUT_PATHS,
                "input_template": dispatch_template(
                    args.settings.event_type, context.config.environment.value
                ),
            },
            retry_policy={
                "maximum_event_age_in_seconds": MAX_EVENT_AGE_SECONDS,
                "maximum_retry_attempts": MAX_RETRY_ATTEMPTS,
            },
            dead_letter_config=args.dead_letters.for_rule(rule),
            opts=pulumi.ResourceOptions(parent=self),
        )


def build_github_dispatch(
    context: StackContext,
    registry: ModelRegistry,
    storage: StackStorage,
    dead_letters: DeadLetterQueue,
) -> GitHubDispatch | None:
    """The dispatch of this stack's approvals when ``delivery.github.repository`` is set."""
    settings = context.config.delivery.github
    if not settings.enabled:
        return None
    token = pulumi.Config("mlops").require_secret(GITHUB_TOKEN_KEY)
    return GitHubDispatch(
        context.name("delivery"),
        context,
        GitHubDispatchArgs(settings, registry, storage, dead_letters, token),
    )
