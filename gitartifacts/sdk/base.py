"""What the parts of `Artifact` (reading, editing, linking) rely on; `Artifact` provides it."""

from __future__ import annotations

from gitartifacts.gitmodel.project import Project


class ArtifactPart:
    """The members every part of `Artifact` uses and only `Artifact` defines."""

    @property
    def project(self) -> Project:
        raise NotImplementedError  # the artifact's

    @property
    def name(self) -> str:
        raise NotImplementedError  # the artifact's

    def _ensure_logged(self) -> None:
        raise NotImplementedError  # the artifact's
