"""Continuous delivery settings: where the stack announces approved models.

An approval in the stack's model registry is sent to GitHub as a
``repository_dispatch`` event, which starts the promotion workflow. The GitHub
token is not part of this model: it is the Pulumi secret ``mlops:githubToken``
(``pulumi config set --secret githubToken ...``), so it never appears in plain text.
"""

from __future__ import annotations

from pydantic import Field

from infra.config.base import Section

GITHUB_TOKEN_KEY = "githubToken"  # noqa: S105 - the name of the config key, not a token
REPOSITORY_HINT = "a GitHub repository as owner/name"


class GitHubDispatch(Section):
    """The repository whose ``repository_dispatch`` API receives approvals; unset: disabled."""

    repository: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}$",
        description=REPOSITORY_HINT,
    )
    event_type: str = Field(default="model-approved", pattern=r"^[a-z0-9][a-z0-9-]{0,99}$")
    invocations_per_second: int = Field(default=1, ge=1, le=300)

    @property
    def enabled(self) -> bool:
        return self.repository is not None

    @property
    def dispatch_url(self) -> str:
        """GitHub's "create a repository dispatch event" endpoint of the repository."""
        return f"https://api.github.com/repos/{self.repository}/dispatches"


class Delivery(Section):
    github: GitHubDispatch = GitHubDispatch()
