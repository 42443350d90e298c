"""What the SDK objects share: an artifact's errors and file entries, and a version as a
registry link or a run record names it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from gitartifacts.errors import GitArtifactsError
from gitartifacts.gitmodel.registry import VersionRef


class ArtifactNotLoggedError(GitArtifactsError, RuntimeError):
    """A reader called on a draft that was never saved."""


class ArtifactFinalizedError(GitArtifactsError, RuntimeError):
    """A mutator called on a logged version."""


class RefURI(str):
    """A reference's URI. W&B code reads it both as `entry.ref` and as `entry.ref()`."""

    def __call__(self) -> str:
        return str(self)


@dataclass(frozen=True)
class ArtifactEntry:
    """One file or reference of an artifact (W&B's manifest entry)."""

    path: str
    digest: str
    size: int
    ref: RefURI | None = None
    version_id: str | None = None
    # Writes this entry's file under a folder and returns the file's path (set by the artifact).
    _fetch: Callable[[str, str | None], str] | None = field(default=None, compare=False, repr=False)

    @property
    def extra(self) -> dict[str, str]:
        """W&B's `extra` of a reference: its `etag` and `versionID` when the source gave them."""
        out: dict[str, str] = {}
        if self.digest.startswith("etag:"):
            out["etag"] = self.digest[len("etag:") :].strip('"')
        if self.version_id is not None:
            out["versionID"] = self.version_id
        return out

    def download(self, root: str | None = None) -> str:
        """Write this file into `root` (default: the version's download folder); its path."""
        if self._fetch is None:
            raise ArtifactNotLoggedError(
                f"entry {self.path!r} is of an artifact that is not logged",
                "save the artifact first, or get it with Api().artifact('name:vN')",
            )
        return self._fetch(self.path, root)


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
