"""A run after W&B (`Run`): a job whose config, summary, inputs and outputs are recorded as
JSON lines in git notes on the run's code commit (HEAD when it started; in a repository with
no commit yet, on the empty tree).

Every event is one line (`start`, `use`, `log`, `link`, `finish`, `resume`); readers fold the
lines of one run id, so records written in several clones merge without conflict. A run builds
the artifacts it uses and logs with the `Artifact` class it is given (`artifacts=`), so this
module does not import the artifact module, which imports it.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any

from gitartifacts.errors import UsageError, own_errors
from gitartifacts.gitmodel import events, projects, publish
from gitartifacts.gitmodel import notes as run_notes
from gitartifacts.gitmodel.project import Project
from gitartifacts.ops import runs as run_ops
from gitartifacts.sdk import files as saved_files
from gitartifacts.sdk import history as hist
from gitartifacts.sdk import outputs
from gitartifacts.sdk.config import Recorded
from gitartifacts.sdk.metrics import RunMetrics
from gitartifacts.sdk.records import run_ref, version_ref

RUNNING, FINISHED, FAILED = "running", "finished", "failed"


@own_errors
class Run(RunMetrics):
    """A job that uses and logs artifacts. Live while running; read-only from `Api().run(id)`."""

    def __init__(
        self, project: Project, record: dict[str, Any], live: bool = False, *, artifacts: type[Any]
    ) -> None:
        self._project = project
        self.id: str = record["id"]
        self.name: str = record.get("name") or self.id
        self.job_type: str | None = record.get("job_type")
        self.group: str | None = record.get("group")
        self.tags: list[str] = list(record.get("tags") or [])
        self.notes: str | None = record.get("notes")
        self.config = Recorded(record.get("config"))
        self.summary = Recorded(record.get("summary"))
        self.state: str = record.get("state", RUNNING)
        self.project: str = record.get("project") or project.root.name  # a name, as in W&B
        self.entity: str = record.get("entity") or record.get("user") or "local"
        self.mode: str = record.get("mode") or "online"
        self.commit: str = record.get("commit") or ""  # "" in a repository with no commit
        self.code: dict[str, Any] = record.get("code") or {}
        self.dir: str | None = None  # set on a live run (`init(dir=)`)
        self.resumed = False
        self.url: str | None = None  # no web page: W&B's run URL
        self.start_time: float | None = record.get("start")
        self.end_time: float | None = record.get("end")
        self.host: str | None = record.get("host")
        self.user: str | None = record.get("user")
        self.inputs: list[dict[str, Any]] = list(record.get("inputs") or [])
        self.outputs: list[dict[str, Any]] = list(record.get("outputs") or [])
        self.files: list[dict[str, Any]] = list(record.get("files") or [])
        self._history: str | None = record.get("history")  # the rows' content object
        self._metrics: dict[str, hist.Metric] = {}
        self._tracker: hist.Tracker | None = None
        self._saved: list[saved_files.Pattern] = []
        self._live = live
        self._failed = False
        self._artifacts = artifacts  # the Artifact class

    # ------------------------------------------------------------------ lifecycle

    def __enter__(self) -> Run:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        code = 0 if exc is None else exit_code_of(exc.code) if isinstance(exc, SystemExit) else 1
        self.finish(state=FAILED if code else FINISHED, exit_code=code)

    @property
    def path(self) -> str:
        """`entity/project/id`, W&B's form (`Api().run` takes it)."""
        return f"{self.entity}/{self.project}/{self.id}"

    @property
    def sweep_id(self) -> str | None:
        """The run group: a sweep here is the runs of one group (see `Api.sweep`)."""
        return self.group

    def finish(self, exit_code: int | None = None, state: str | None = None) -> None:
        if not self._live or self.state != RUNNING:
            return
        self.state = state or (FAILED if (exit_code or self._failed) else FINISHED)
        self.end_time = time.time()
        closed = self._close_history()  # first: its last step goes into the summary
        self._write(
            {
                "ev": "finish",
                "state": self.state,
                "summary": self.summary.as_dict(),
                "config": self.config.as_dict(),
                "name": self.name,
                "notes": self.notes,
                "tags": list(self.tags),
                "end": self.end_time,
                "exit_code": exit_code,
                **closed,
            }
        )

    # ------------------------------------------------------------------ inputs

    def use_artifact(
        self,
        artifact_or_name: Any,
        type: str | None = None,
        aliases: list[str] | None = None,
        use_as: str | None = None,
    ) -> Any:
        """Mark an input: `name:vN`, `name:alias` (or a bare name for latest), or an Artifact.
        A draft is saved first, once, with `aliases` (as in W&B, which applies them only to a
        draft). `use_as` is recorded; W&B no longer uses it."""
        self._ensure_live()
        if use_as is not None:
            print(outputs.USE_AS_DEPRECATED, file=sys.stderr)
        if isinstance(artifact_or_name, self._artifacts):
            art = artifact_or_name
            if art.is_draft():
                art._log(self.commit or None, aliases or ())
        else:
            # Looked up as `Api(root).artifact` does: in a freshly opened, synced project.
            project = Project.open(self._project.root)
            publish.sync(project)
            art = self._artifacts._named(project, artifact_or_name, None)
            art._project = self._project
        if type is not None and art.type != type:
            raise UsageError(
                f"Supplied type {type} does not match type {art.type} of artifact {art.name}",
                "drop the type argument or fix it",
            )
        ref = {
            **run_ref(art, use_as),
            **projects.record_fields(self._project.root, art.collection_name),
        }
        self._write({"ev": "use", "artifact": ref})
        self.inputs.append(ref)
        return art

    def use_model(self, name: str) -> str:
        art = self.use_artifact(name)
        if "model" not in art.type.lower():
            raise UsageError(
                "You can only use this method for 'model' artifacts. For an artifact to be a "
                "'model' artifact, its type property must contain the substring 'model'.",
                f"{art.name} is of type {art.type!r}",
            )
        root: str = art.download()
        files = art.files()
        return os.path.join(root, files[0].path) if len(files) == 1 else root

    # ------------------------------------------------------------------ outputs

    def log_artifact(
        self,
        artifact_or_path: Any,
        name: str | None = None,
        type: str | None = None,
        aliases: list[str] | None = None,
        tags: list[str] | None = None,
    ) -> Any:
        """Mark an output and make it a version now: a commit made with plumbing on this
        run's commit (its tree is the run's code with `.artifacts/<name>.yaml` written in),
        so the branch, index and work tree stay as they were. A path (file or folder) is read
        into the cache; untracked files logged from the work tree are listed in
        `.git/info/exclude`. New content gets the next version, `latest` and the aliases;
        content already a version is that version, and the aliases move to it.

        On a run read with `Api().run(id)`: records a version already logged as an output of
        that run (W&B's public `Run.log_artifact`); a draft or a path is refused."""
        if self._live:
            self._ensure_live()
            art = self._as_artifact(artifact_or_path, name, type or "unspecified")
        else:
            art = outputs.existing(self._artifacts, artifact_or_path)
        if art.is_draft():
            art._log(self.commit or None, aliases or ())
        elif aliases:
            for a in aliases:
                if art.version:
                    events.set_alias(self._project, art.collection_name, int(art.version[1:]), a)
        ref = run_ref(art, None, aliases, tags)
        self._write({"ev": "log", "artifact": ref})
        self.outputs.append(ref)
        return art

    def log_model(
        self,
        path: str | os.PathLike[str],
        name: str | None = None,
        aliases: list[str] | None = None,
    ) -> Any:
        return self.log_artifact(path, name=name, type="model", aliases=aliases)

    def link_artifact(
        self, artifact: Any, target_path: str, aliases: list[str] | None = None
    ) -> Any:
        """Link a version into registry collection `target_path`, with its own v0, v1, ..."""
        self._ensure_live()
        if artifact.is_draft():
            self.log_artifact(artifact)
        from gitartifacts.gitmodel import registry

        n = registry.link(self._project, version_ref(artifact), target_path, aliases or [])
        self._write(
            {
                "ev": "link",
                "artifact": run_ref(artifact, None),
                "collection": registry.collection_name(target_path),
                "version": f"v{n}",
            }
        )
        return artifact

    def link_model(
        self,
        path: str | os.PathLike[str],
        registered_model_name: str,
        name: str | None = None,
        aliases: list[str] | None = None,
    ) -> Any:
        if "/" in registered_model_name:
            raise UsageError(
                "Please provide only the name of the registered model. "
                "Do not append the entity or project name.",
                "e.g. link_model('model.pt', 'bike-detector')",
            )
        art = self.log_model(path, name=name)
        return self.link_artifact(art, registered_model_name, aliases)

    def log_code(
        self,
        root: str | os.PathLike[str] = ".",
        name: str | None = None,
        include_fn: Callable[..., bool] | None = None,
        exclude_fn: Callable[..., bool] | None = None,
    ) -> Any:
        """A `code` artifact pinning this run's commit: files listed by git blob id, no upload."""
        self._ensure_live()
        from gitartifacts.tracking import code

        draft = code.code_draft(
            self._project, root, name or f"source-{self.job_type or 'run'}", include_fn, exclude_fn
        )
        if draft is None:
            print(
                "No relevant files were detected in the specified directory. "
                "No code will be logged to your run.",
                file=sys.stderr,
            )
            return None
        art = self._artifacts._draft(
            self._project, draft.name, "code", draft.entries, metadata=draft.metadata
        )
        return self.log_artifact(art)

    def upsert_artifact(
        self,
        artifact_or_path: Any,
        name: str | None = None,
        type: str | None = None,
        aliases: list[str] | None = None,
        distributed_id: str | None = None,
    ) -> Any:
        """Stage this run's part of a distributed artifact (W&B's `upsert_artifact`; a path as
        in `log_artifact`) until `finish_artifact` under the same id (default: the run group);
        see `tracking.distributed` for where parts wait. This run becomes a producer."""
        self._ensure_live()
        from gitartifacts.tracking import distributed

        art = self._as_artifact(artifact_or_path, name, type or "unspecified")
        did = self._distributed_id(distributed_id)
        part = _part(art, aliases)
        distributed.upsert(self._project, self.id, part, did)
        self._write({"ev": "upsert", "artifact": distributed.part_summary(part, did)})
        return art

    def finish_artifact(
        self,
        artifact_or_path: Any,
        name: str | None = None,
        type: str | None = None,
        aliases: list[str] | None = None,
        distributed_id: str | None = None,
    ) -> Any:
        """Merge every part upserted under the distributed id, and this run's own entries,
        into one version and log it (W&B's `finish_artifact`). The run records which runs'
        parts went in, so the lineage lists every writer as a producer."""
        self._ensure_live()
        from gitartifacts.tracking import distributed

        art = self._as_artifact(artifact_or_path, name, type or "unspecified")
        did = self._distributed_id(distributed_id)
        done = distributed.finish(self._project, self.id, _part(art, aliases), did)
        part = done.part
        merged = self._artifacts._draft(
            self._project, part.name, part.type, part.entries, part.description, part.metadata
        )
        logged = self.log_artifact(merged, aliases=part.aliases or None)
        self._write(
            {
                "ev": "parts",
                "artifact": run_ref(logged, None),
                "distributed_id": did,
                "writers": done.writers,
            }
        )
        distributed.clear(done.staging)
        return logged

    def _distributed_id(self, given: str | None) -> str:
        did = given or self.group
        if not did:
            raise UsageError(
                "a distributed artifact needs a distributed_id or a run group",
                "pass distributed_id=... or start every writer with ga.init(group=...)",
            )
        return did

    def _as_artifact(self, obj: Any, name: str | None, type: str) -> Any:
        return outputs.as_artifact(self._artifacts, self._project, self.id, obj, name, type)

    # ------------------------------------------------------------------ lineage

    def logged_artifacts(self) -> list[Any]:
        from gitartifacts.tracking import lineage

        found = lineage.resolve_refs(self._project, self.outputs)
        return [self._artifacts._from_resolved(self._project, r) for r in found]

    def used_artifacts(self) -> list[Any]:
        from gitartifacts.tracking import lineage

        found = lineage.resolve_refs(self._project, self.inputs)
        return [self._artifacts._from_resolved(self._project, r) for r in found]

    # ------------------------------------------------------------------ records

    def _ensure_live(self) -> None:
        if not self._live:
            raise UsageError(
                f"run {self.id} is not active in this process",
                f"resume it: ga.init(id={self.id!r}, resume='allow')",
            )
        if self.state != RUNNING:
            raise UsageError(
                f"run {self.id} has finished", f"resume it: ga.init(id={self.id!r}, resume='allow')"
            )

    def _write(self, event: dict[str, Any]) -> None:
        target = run_ops.record_target(self._project, self.commit or None)
        run_notes.append(
            self._project.repo, target, [{"run": self.id, "t": time.time_ns(), **event}]
        )

    def __repr__(self) -> str:
        return f"<Run {self.id} {self.job_type or ''} {self.state}>"


# ---------------------------------------------------------------- helpers


def exit_code_of(status: object) -> int:
    """The process exit code of `SystemExit(status)`."""
    if status is None:
        return 0
    return status if isinstance(status, int) else 1


def _part(art: Any, aliases: list[str] | None) -> Any:
    from gitartifacts.tracking import distributed

    entries = dict(art._entries)
    return distributed.Part(
        art.collection_name, art.type, art.description, art.metadata, entries, aliases or []
    )
