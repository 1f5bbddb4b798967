"""Deploy's error family: Airbyte could not be reached, refused the credentials, or refused a request."""

from __future__ import annotations

from ..errors import BmadGitopsError


class DeployError(BmadGitopsError):
    """An Airbyte API call failed; one line, no secret values."""


class CredentialsError(DeployError):
    """Airbyte credentials are missing or were refused; the message names the variables to set."""
