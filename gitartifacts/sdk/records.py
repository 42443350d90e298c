"""What the SDK objects share: an artifact's errors and file entries, and a version as a
registry link or a run record names it."""

from __future__ import annotations

from typing import Any, NamedTuple, Protocol

from gitartifacts.errors import GitArtifactsError
from gitartifacts.gitmodel.registry import VersionRef


class ArtifactNotLoggedError(GitArtifactsError, RuntimeError):
    """A reader called on a draft that was never saved."""


class ArtifactFinalizedError(GitArtifactsError, RuntimeError):
    """A mutator called on a logged version."""


class ArtifactEntry(NamedTuple):
    path: str
    digest: str
    size: int
    ref: str | None = None
    version_id: str | None = None


class Versioned(Protocol):
    """What a record needs of an artifact: `Artifact` has it."""

    type: str

    @property
    def collection_name(self) -> str: ...

    @property
    def version(self) -> str | None: ...

    @property
    def digest(self) -> str: ...


def version_ref(art: Versioned) -> VersionRef:
    """The artifact as a registry link names its source."""
    return VersionRef(art.collection_name, art.version, art.digest, art.type)


def run_ref(
    art: Versioned,
    use_as: str | None,
    aliases: list[str] | None = None,
    tags: list[str] | None = None,
) -> dict[str, Any]:
    """The artifact as a run record's `use`, `log` or `link` line names it."""
    out: dict[str, Any] = version_ref(art)._asdict()
    if use_as:
        out["use_as"] = use_as
    if aliases:
        out["aliases"] = list(aliases)
    if tags:
        out["tags"] = list(tags)
    return out
