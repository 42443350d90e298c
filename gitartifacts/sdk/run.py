"""Runs after W&B: `ga.init(...)` starts a job whose config, summary, inputs and outputs are
recorded as JSON lines in git notes on the run's code commit (HEAD when it started).

Every event is one line (`start`, `use`, `log`, `link`, `finish`, `resume`); readers fold the
lines of one run id, so records written in several clones merge without conflict.
"""

from __future__ import annotations

import atexit
import getpass
import os
import secrets
import socket
import sys
import time
from collections.abc import Callable, Iterator, MutableMapping
from pathlib import Path
from types import TracebackType
from typing import Any

from gitartifacts.core import manifest as mf
from gitartifacts.errors import NotFoundError, UsageError, own_errors
from gitartifacts.gitmodel import events, publish
from gitartifacts.gitmodel import notes as run_notes
from gitartifacts.gitmodel.project import Project
from gitartifacts.sdk.artifact import Api, Artifact

RUNNING, FINISHED, FAILED, CRASHED = "running", "finished", "failed", "crashed"
_ID_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"

run: Run | None = None  # the active run of this process, as `ga.run`


def init(
    job_type: str | None = None,
    config: dict[str, Any] | None = None,
    group: str | None = None,
    name: str | None = None,
    id: str | None = None,
    resume: str | bool | None = None,
    tags: list[str] | None = None,
    notes: str | None = None,
    *,
    dir: str | os.PathLike[str] | None = None,
) -> Run:
    """Start (or resume) a run; one is active per process. Use it as a context manager."""
    global run
    if run is not None and run.state == RUNNING:
        run.finish()
    project = Project.open(dir)
    publish.sync(project)
    if resume not in (None, False, True, "allow", "must", "never"):
        raise UsageError(f"resume={resume!r} is not supported", "use 'allow', 'must' or 'never'")
    previous = None
    if id is not None:
        _check_id(id)
        from gitartifacts.tracking import lineage

        previous = lineage.index(project).runs.get(id)
        if previous is not None and resume in (None, False, "never"):
            raise UsageError(
                f"run {id!r} already exists", "pass resume='allow' to continue it, or another id"
            )
        if previous is None and resume == "must":
            raise NotFoundError(
                f"run {id!r} does not exist, and resume='must'",
                "check the id, or use resume='allow'",
            )
    r = Run._start(project, id or _new_id(), job_type, config, group, name, tags, notes, previous)
    run = r
    return r


def finish(exit_code: int | None = None) -> None:
    """Finish the active run, if any."""
    if run is not None:
        run.finish(exit_code=exit_code)


class _Recorded(MutableMapping[str, Any]):
    """A dict whose changes are remembered for the run's next record line."""

    def __init__(self, data: dict[str, Any] | None = None) -> None:
        self._data: dict[str, Any] = dict(data or {})

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self._data[key] = value

    def __delitem__(self, key: str) -> None:
        del self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __getattr__(self, key: str) -> Any:
        try:
            return self.__dict__["_data"][key]
        except KeyError:
            raise AttributeError(key) from None

    def __setattr__(self, key: str, value: Any) -> None:
        if key == "_data":
            super().__setattr__(key, value)
        else:
            self._data[key] = value

    def as_dict(self) -> dict[str, Any]:
        return dict(self._data)

    def __repr__(self) -> str:
        return repr(self._data)


@own_errors
class Run:
    """A job that uses and logs artifacts. Live while running; read-only from `Api().run(id)`."""

    def __init__(self, project: Project, record: dict[str, Any], live: bool = False) -> None:
        self.project = project
        self.id: str = record["id"]
        self.name: str = record.get("name") or self.id
        self.job_type: str | None = record.get("job_type")
        self.group: str | None = record.get("group")
        self.tags: list[str] = list(record.get("tags") or [])
        self.notes: str | None = record.get("notes")
        self.config = _Recorded(record.get("config"))
        self.summary = _Recorded(record.get("summary"))
        self.state: str = record.get("state", RUNNING)
        self.commit: str = record.get("commit", "")
        self.code: dict[str, Any] = record.get("code") or {}
        self.start_time: float | None = record.get("start")
        self.end_time: float | None = record.get("end")
        self.host: str | None = record.get("host")
        self.user: str | None = record.get("user")
        self.inputs: list[dict[str, Any]] = list(record.get("inputs") or [])
        self.outputs: list[dict[str, Any]] = list(record.get("outputs") or [])
        self._live = live
        self._failed = False

    # ------------------------------------------------------------------ lifecycle

    @classmethod
    def _start(
        cls,
        project: Project,
        run_id: str,
        job_type: str | None,
        config: dict[str, Any] | None,
        group: str | None,
        name: str | None,
        tags: list[str] | None,
        notes_: str | None,
        previous: Any,
    ) -> Run:
        if previous is not None:
            r = cls(project, previous.record, live=True)
            r.config.update(config or {})
            r.state = RUNNING
            r._write(
                {
                    "ev": "resume",
                    "config": r.config.as_dict(),
                    "pid": os.getpid(),
                    "host": socket.gethostname(),
                }
            )
            _activate(r)
            return r
        head = project.repo.head()
        if head is None:
            raise UsageError(
                "the repository has no commit yet",
                "commit your code first: a run is recorded on a commit",
            )
        code = _code_state(project, head)
        record = {
            "id": run_id,
            "name": name or run_id,
            "job_type": job_type,
            "group": group,
            "tags": list(tags or []),
            "notes": notes_,
            "config": dict(config or {}),
            "summary": {},
            "state": RUNNING,
            "commit": head,
            "code": code,
            "start": time.time(),
            "host": socket.gethostname(),
            "user": _user(),
        }
        r = cls(project, record, live=True)
        r._write(
            {"ev": "start", **{k: v for k, v in record.items() if k != "id"}, "pid": os.getpid()}
        )
        _activate(r)
        return r

    def __enter__(self) -> Run:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.finish(
            state=FAILED if exc_type is not None else FINISHED, exit_code=1 if exc_type else 0
        )

    def finish(self, exit_code: int | None = None, state: str | None = None) -> None:
        global run
        if not self._live or self.state != RUNNING:
            return
        self.state = state or (FAILED if (exit_code or self._failed) else FINISHED)
        self.end_time = time.time()
        self._write(
            {
                "ev": "finish",
                "state": self.state,
                "summary": self.summary.as_dict(),
                "config": self.config.as_dict(),
                "end": self.end_time,
                "exit_code": exit_code,
            }
        )
        if run is self:
            run = None

    def log(self, data: dict[str, Any]) -> None:
        """Metrics: the summary keeps the last value of each key."""
        self._ensure_live()
        self.summary.update(data)

    # ------------------------------------------------------------------ inputs

    def use_artifact(
        self, artifact_or_name: Artifact | str, use_as: str | None = None, type: str | None = None
    ) -> Artifact:
        """Mark an input. A draft Artifact is saved first (once), as in W&B."""
        self._ensure_live()
        if isinstance(artifact_or_name, Artifact):
            art = artifact_or_name
            if art.is_draft():
                art.save(
                    commit=True,
                    message=f"gitartifacts: {art.collection_name} used by run {self.id}",
                )
        else:
            art = Api(self.project.root).artifact(artifact_or_name, type=type)
            art._project = self.project
        self._write({"ev": "use", "artifact": _ref(art, use_as)})
        self.inputs.append(_ref(art, use_as))
        return art

    def use_model(self, name: str) -> str:
        art = self.use_artifact(name)
        if "model" not in art.type.lower():
            raise UsageError(
                "You can only use this method for 'model' artifacts. For an artifact to be a 'model' "
                "artifact, its type property must contain the substring 'model'.",
                f"{art.name} is of type {art.type!r}",
            )
        root = art.download()
        files = art.files()
        return os.path.join(root, files[0].path) if len(files) == 1 else root

    # ------------------------------------------------------------------ outputs

    def log_artifact(
        self,
        artifact_or_path: Artifact | str | os.PathLike[str],
        name: str | None = None,
        type: str | None = None,
        aliases: list[str] | None = None,
        tags: list[str] | None = None,
        commit: bool = True,
    ) -> Artifact:
        """Mark an output and store it: content into the cache, the manifest committed alone
        (so the version exists at once; `commit=False` only stages it). A version is made only
        when the digest changed; `latest` and the aliases move to it."""
        self._ensure_live()
        art = self._as_artifact(artifact_or_path, name, type or "unspecified")
        if art.is_draft():
            art.save(
                aliases or (),
                commit=commit,
                message=f"gitartifacts: {art.collection_name} logged by run {self.id}",
            )
        elif aliases:
            for a in aliases:
                if art.version:
                    events.set_alias(self.project, art.collection_name, int(art.version[1:]), a)
        ref = _ref(art, None, aliases, tags)
        self._write({"ev": "log", "artifact": ref})
        self.outputs.append(ref)
        return art

    def log_model(
        self,
        path: str | os.PathLike[str],
        name: str | None = None,
        aliases: list[str] | None = None,
    ) -> Artifact:
        return self.log_artifact(path, name=name, type="model", aliases=aliases)

    def link_artifact(
        self, artifact: Artifact, target_path: str, aliases: list[str] | None = None
    ) -> Artifact:
        """Link a version into registry collection `target_path`, with its own v0, v1, ..."""
        self._ensure_live()
        if artifact.is_draft():
            self.log_artifact(artifact)
        from gitartifacts.gitmodel import registry

        n = registry.link(self.project, artifact, target_path, aliases or [])
        self._write(
            {
                "ev": "link",
                "artifact": _ref(artifact, None),
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
    ) -> Artifact:
        if "/" in registered_model_name:
            raise UsageError(
                "Please provide only the name of the registered model. Do not append the entity or project name.",
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
    ) -> Artifact | None:
        """A `code` artifact pinning this run's commit: files listed by git blob id, no upload."""
        self._ensure_live()
        from gitartifacts.tracking import code

        art = code.code_artifact(
            self.project, root, name or f"source-{self.job_type or 'run'}", include_fn, exclude_fn
        )
        if art is None:
            print(
                "No relevant files were detected in the specified directory. No code will be logged to your run.",
                file=sys.stderr,
            )
            return None
        return self.log_artifact(art)

    def upsert_artifact(self, artifact: Artifact, distributed_id: str | None = None) -> Artifact:
        """Add this writer's part of a distributed artifact (many writers, one version)."""
        self._ensure_live()
        from gitartifacts.tracking import distributed

        distributed.upsert(self, artifact, self._distributed_id(distributed_id))
        return artifact

    def finish_artifact(self, artifact: Artifact, distributed_id: str | None = None) -> Artifact:
        """Merge every part upserted under the distributed id into one version, and log it."""
        self._ensure_live()
        from gitartifacts.tracking import distributed

        merged = distributed.finish(self, artifact, self._distributed_id(distributed_id))
        logged = self.log_artifact(merged)
        distributed.clear(merged)
        return logged

    def _distributed_id(self, given: str | None) -> str:
        did = given or self.group
        if not did:
            raise UsageError(
                "a distributed artifact needs a distributed_id or a run group",
                "pass distributed_id=... or start every writer with ga.init(group=...)",
            )
        return did

    def _as_artifact(
        self, obj: Artifact | str | os.PathLike[str], name: str | None, type: str
    ) -> Artifact:
        if isinstance(obj, Artifact):
            return obj
        path = Path(obj)
        art = Artifact(name or _safe_name(path.name), type, project=self.project)
        if path.is_dir():
            art.add_dir(path)
        else:
            art.add_file(path)
        return art

    # ------------------------------------------------------------------ lineage

    def logged_artifacts(self) -> list[Artifact]:
        from gitartifacts.tracking import lineage

        return lineage.artifacts_of(self.project, self.outputs)

    def used_artifacts(self) -> list[Artifact]:
        from gitartifacts.tracking import lineage

        return lineage.artifacts_of(self.project, self.inputs)

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
        run_notes.append(
            self.project.repo, self.commit, [{"run": self.id, "t": time.time_ns(), **event}]
        )

    def __repr__(self) -> str:
        return f"<Run {self.id} {self.job_type or ''} {self.state}>"


# ---------------------------------------------------------------- helpers


def _activate(r: Run) -> None:
    _install_hooks()


_hooks_installed = False


def _install_hooks() -> None:
    """An uncaught exception fails the active run; a normal exit finishes it."""
    global _hooks_installed
    if _hooks_installed:
        return
    _hooks_installed = True
    previous = sys.excepthook

    def excepthook(t: type[BaseException], v: BaseException, tb: TracebackType | None) -> None:
        if run is not None and run.state == RUNNING:
            run._failed = True
            run.finish(state=FAILED, exit_code=1)
        previous(t, v, tb)

    sys.excepthook = excepthook
    atexit.register(lambda: run.finish() if run is not None and run.state == RUNNING else None)


def _ref(
    art: Artifact,
    use_as: str | None,
    aliases: list[str] | None = None,
    tags: list[str] | None = None,
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": art.collection_name,
        "version": art.version,
        "digest": art.digest,
        "type": art.type,
    }
    if use_as:
        out["use_as"] = use_as
    if aliases:
        out["aliases"] = list(aliases)
    if tags:
        out["tags"] = list(tags)
    return out


def _code_state(project: Project, head: str) -> dict[str, Any]:
    """The commit, whether the tree was dirty, and the patch (a content object) if so."""
    diff = project.repo.run("diff", "HEAD", "--binary", "--no-color", check=False)
    if not diff:
        return {"commit": head, "dirty": False}
    digest = project.cache.add_bytes(diff.encode())
    return {"commit": head, "dirty": True, "patch": digest}


def _new_id() -> str:
    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(8))


def _check_id(run_id: str) -> None:
    if not mf.NAME_RE.match(run_id):
        raise UsageError(f"invalid run id {run_id!r}", "use letters, digits, '-', '_' or '.'")


def _safe_name(name: str) -> str:
    import re

    cleaned = re.sub(r"[^A-Za-z0-9_.-]", "_", name).lstrip("._-") or "artifact"
    return cleaned[:128]


def _user() -> str | None:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return None
