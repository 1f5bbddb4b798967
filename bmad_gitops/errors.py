"""The one family of errors a user can fix: a message and a hint, caught in one place by each front end.

Anything else that escapes is a bug and is reported as one ("internal error"). Messages never hold secret values
or data contents, so a front end may print them as they are.
"""

from __future__ import annotations


class BmadGitopsError(Exception):
    """Base of every user-facing failure: `message` says what went wrong, `hint` what to do about it."""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message}; {self.hint}" if self.hint else self.message


class ProjectError(BmadGitopsError):
    """The project itself is unusable: no project here, or bmad-gitops.yaml is wrong."""


class ConfigError(BmadGitopsError):
    """A definition cannot be used as written (unknown source, invalid definition, bad option)."""


class EnvError(BmadGitopsError):
    """A `${VAR}` reference names a variable that is not set."""


class ConnectorError(BmadGitopsError):
    """A connector could not be installed, reached or run. One line, no secret values, no data contents."""


class StateError(BmadGitopsError):
    """A state file cannot be read, checked or written; only its own source is blocked."""


class StateLockedError(BmadGitopsError):
    """Another apply holds the lock."""


class PlanFileError(BmadGitopsError):
    """A saved plan cannot be read or was not made by this version."""


class StalePlanError(PlanFileError):
    """A saved plan no longer matches the project it was made for."""


class LineageError(BmadGitopsError):
    """Lineage docs, stories or OpenLineage events could not be written or sent."""


class UsageError(BmadGitopsError):
    """The command was asked for something it cannot do as given (a bad name, an existing file): exit 2."""
