"""`Api` after W&B: read access to the artifact versions and runs of a repository."""

from __future__ import annotations

import os
from typing import Any, NamedTuple

from gitartifacts.errors import GitArtifactsError, NotFoundError, own_errors
from gitartifacts.gitmodel import lifecycle, publish
from gitartifacts.gitmodel import versions as ver
from gitartifacts.gitmodel.project import Project
from gitartifacts.sdk.artifact import Artifact
from gitartifacts.sdk.run import Run


class Sweep(NamedTuple):
    """W&B's sweep as this tool keeps it: the runs of one run group."""

    id: str
    runs: list[Run]


@own_errors
class Api:
    """Read access to the artifacts of a repository (the current one by default)."""

    def __init__(self, root: str | os.PathLike[str] | None = None) -> None:
        self._root = root
        self._project: Project | None = None

    @property
    def project(self) -> Project:
        if self._project is None:
            self._project = Project.open(self._root)
            publish.sync(self._project)
        return self._project

    def artifact(self, name: str, type: str | None = None) -> Artifact:
        """`name:vN`, `name:alias`, `name:<digest prefix>`, `<rev>:name`; bare `name` is latest."""
        return Artifact._named(self.project, name, type)

    def artifact_exists(self, name: str) -> bool:
        try:
            self.artifact(name)
        except GitArtifactsError:
            return False
        return True

    def run(self, path: str) -> Run:
        """A recorded run by id, or by W&B's `entity/project/id` (`run.path`; read-only)."""
        from gitartifacts.tracking import lineage

        record = lineage.run_record(self.project, path.rstrip("/").rsplit("/", 1)[-1]).record
        return Run(self.project, record, artifacts=Artifact)

    def runs(
        self,
        job_type: str | None = None,
        group: str | None = None,
        filters: dict[str, Any] | None = None,
        order: str | None = None,
        state: str | None = None,
    ) -> list[Run]:
        """Recorded runs, e.g. `runs(group="sweep-3", order="-summary.val_acc")[0]`."""
        from gitartifacts.tracking import lineage

        recs = lineage.select_runs(
            self.project, job_type=job_type, group=group, state=state, filters=filters, order=order
        )
        return [Run(self.project, r.record, artifacts=Artifact) for r in recs]

    def sweep(self, path: str) -> Sweep:
        """`sweep_id` or `entity/project/sweep_id`: the runs started with `group=sweep_id`."""
        sweep_id = path.rstrip("/").rsplit("/", 1)[-1]
        runs = self.runs(group=sweep_id)
        if not runs:
            raise NotFoundError(
                f"Could not find sweep {path}",
                "a sweep is the runs of one group: start each with ga.init(group=SWEEP_ID)",
            )
        return Sweep(sweep_id, runs)

    def artifact_versions(self, type_name: str, name: str | None = None) -> list[Artifact]:
        """Every version of `name` of type `type_name` still there (not deleted or expired),
        oldest first, as W&B's `artifact_versions(type_name, name)`. With one argument, that
        argument is the name and the type is not checked."""
        if name is None:
            type_name, name = "", type_name
        h = ver.histories(self.project).get(name)
        if h is None:
            raise NotFoundError(f"artifact {name!r} has no versions", "commit its manifest first")
        known = ver.type_from_history(self.project, h)
        if type_name and known is not None and known != type_name:
            raise NotFoundError(
                f"artifact {name!r} is of type {known!r}, not {type_name!r}",
                "pass the type it has, or only the name",
            )
        gone = lifecycle.gone_of(self.project, h)
        return [self.artifact(f"{name}:v{n}") for n in sorted(h.versions) if n not in gone]

    def artifacts(self, type_name: str, name: str) -> list[Artifact]:
        """W&B's `Api().artifacts(type_name, name)`: the same as `artifact_versions`."""
        return self.artifact_versions(type_name, name)
