"""One error hierarchy: every failure a user can cause or fix is a GitArtifactsError.

The CLI prints ``error: <message> (<fix>)`` on one line and exits non-zero.
"""

from __future__ import annotations


class GitArtifactsError(Exception):
    """Base of every error the tool reports to a user."""

    exit_code = 2

    def __init__(self, message: str, fix: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fix = fix

    def __str__(self) -> str:
        return f"{self.message} ({self.fix})" if self.fix else self.message


class UsageError(GitArtifactsError, ValueError):
    """Bad input: a name, a path, an option."""


class ManifestError(GitArtifactsError, ValueError):
    """A manifest file that does not follow schema 1."""


class NotFoundError(GitArtifactsError, KeyError):
    """An artifact, version, alias or entry that does not exist."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return GitArtifactsError.__str__(self)


class GitError(GitArtifactsError):
    """A git command failed."""


class CacheError(GitArtifactsError):
    """Content missing from, or corrupt in, a cache."""


class ConflictError(GitArtifactsError):
    """An operation would lose data or contradict recorded history."""
