"""What ties a logged `Artifact` to runs and registry collections: `logged_by`, `used_by`,
`link` and, on an artifact read through a registry link, `unlink`."""

from __future__ import annotations

from typing import Any

from gitartifacts.errors import UsageError, own_errors
from gitartifacts.gitmodel import projects, registry
from gitartifacts.gitmodel.project import Project
from gitartifacts.sdk.base import ArtifactPart
from gitartifacts.sdk.records import version_ref
from gitartifacts.sdk.run import Run
from gitartifacts.tracking import lineage


@own_errors
class Linked(ArtifactPart):
    """Lineage and registry links of an artifact version."""

    type: str
    # (collection, link number) when read as `registry/<collection>:<vN or alias>`.
    _link: tuple[str, int] | None = None

    @property
    def collection_name(self) -> str:
        raise NotImplementedError  # the artifact's

    @property
    def version(self) -> str | None:
        raise NotImplementedError  # the artifact's

    @property
    def digest(self) -> str:
        raise NotImplementedError  # the artifact's

    @property
    def is_link(self) -> bool:
        """True when read through a registry link (`registry/<collection>:...`)."""
        return self._link is not None

    def logged_by(self) -> Run | None:
        """The run that logged this version first, or None (e.g. added from the command line)."""
        self._ensure_logged()
        home = self._runs_home()
        found = lineage.producers(home, self.digest)
        return Run(home, found[0].record, artifacts=type(self)) if found else None

    def used_by(self) -> list[Run]:
        """Runs that used this version (through any name, alias or registry link)."""
        self._ensure_logged()
        home = self._runs_home()
        found = lineage.consumers(home, self.digest)
        return [Run(home, r.record, artifacts=type(self)) for r in found]

    def _runs_home(self) -> Project:
        """Where the runs of this version are recorded: for another project's version (named
        `project/artifact`), that project's mirror; its runs were never this repository's."""
        origin = projects.origin_of(self.collection_name)
        if origin is None:
            return self.project
        return projects.open_mirror(self.project, projects.source_of(self.project.root, origin))

    def link(self, target_path: str, aliases: list[str] | None = None) -> Any:
        """Link this version into a registry collection (its own v0, v1, ... and aliases);
        returns the artifact as the link names it, as W&B does."""
        self._ensure_logged()
        n = registry.link(self.project, version_ref(self), target_path, aliases or [])
        spec = f"registry/{registry.collection_name(target_path)}:v{n}"
        return type(self)._named(self.project, spec, None)  # type: ignore[attr-defined]

    def unlink(self) -> None:
        """Remove the registry link this artifact was read through (the version stays)."""
        if self._link is None:
            raise UsageError(
                f"Artifact {self.name!r} is not a linked artifact and cannot be unlinked.  "
                "To delete it, use 'delete' instead.",
                "read it through its link: Api().artifact('registry/<collection>:vN')",
            )
        registry.unlink(self.project, *self._link)
        self._link = None
