"""The run of this process: `ga.init` starts or resumes it, `ga.finish` ends it, and hooks end
it at exit (finished) or on an uncaught exception (failed)."""

from __future__ import annotations

import atexit
import os
import socket
import sys
import time
from types import TracebackType
from typing import Any

from gitartifacts.core import manifest as mf
from gitartifacts.errors import NotFoundError, UsageError
from gitartifacts.gitmodel import publish
from gitartifacts.gitmodel.project import Project
from gitartifacts.ops import runs as run_ops
from gitartifacts.sdk.artifact import Artifact
from gitartifacts.sdk.config import Placeholder
from gitartifacts.sdk.run import FAILED, RUNNING, Run

_active: Run | None = None  # the last run `init` started; `ga.run` while it is running


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
    global _active
    current = active()
    if current is not None:
        current.finish()
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
    if previous is not None:
        r = _resume(project, previous.record, config)
    else:
        r = _begin(project, id or run_ops.new_run_id(), job_type, config, group, name, tags, notes)
    _install_hooks()
    _active = r
    return r


def finish(exit_code: int | None = None) -> None:
    """Finish the active run, if any."""
    current = active()
    if current is not None:
        current.finish(exit_code=exit_code)


def log(data: dict[str, Any], step: int | None = None, commit: bool | None = None) -> None:
    """`run.log` of the active run."""
    _require("log()").log(data, step=step, commit=commit)


def save(
    glob_str: str | os.PathLike[str],
    base_path: str | os.PathLike[str] | None = None,
    policy: str = "live",
) -> list[str]:
    """`run.save` of the active run."""
    return _require("save()").save(glob_str, base_path=base_path, policy=policy)


def define_metric(
    name: str,
    step_metric: str | None = None,
    step_sync: bool | None = None,
    hidden: bool | None = None,
    summary: str | None = None,
    goal: str | None = None,
    overwrite: bool | None = None,
) -> Any:
    """`run.define_metric` of the active run."""
    return _require("define_metric()").define_metric(
        name, step_metric, step_sync, hidden, summary, goal, overwrite
    )


def current(name: str) -> Any:
    """`ga.config` or `ga.summary`: the active run's, else a placeholder that asks for
    `ga.init()` when used (as W&B's does)."""
    run = active()
    return getattr(run, name) if run is not None else Placeholder(f"gitartifacts.{name}")


def active() -> Run | None:
    """The run of this process while it is running (`ga.run`), else None."""
    return _active if _active is not None and _active.state == RUNNING else None


# ---------------------------------------------------------------- helpers


def _require(what: str) -> Run:
    run = active()
    if run is None:
        raise UsageError(
            f"You must call gitartifacts.init() before gitartifacts.{what}",
            "start a run first: run = gitartifacts.init(...)",
        )
    return run


def _resume(project: Project, record: dict[str, Any], config: dict[str, Any] | None) -> Run:
    r = Run(project, record, live=True, artifacts=Artifact)
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
    return r


def _begin(
    project: Project,
    run_id: str,
    job_type: str | None,
    config: dict[str, Any] | None,
    group: str | None,
    name: str | None,
    tags: list[str] | None,
    notes: str | None,
) -> Run:
    head = project.repo.head()
    if head is None:
        raise UsageError(
            "the repository has no commit yet",
            "commit your code first: a run is recorded on a commit",
        )
    code = run_ops.code_state(project, head)
    record = {
        "id": run_id,
        "name": name or run_id,
        "job_type": job_type,
        "group": group,
        "tags": list(tags or []),
        "notes": notes,
        "config": dict(config or {}),
        "summary": {},
        "state": RUNNING,
        "commit": head,
        "code": code,
        "start": time.time(),
        "host": socket.gethostname(),
        "user": run_ops.user_name(),
    }
    r = Run(project, record, live=True, artifacts=Artifact)
    r._write({"ev": "start", **{k: v for k, v in record.items() if k != "id"}, "pid": os.getpid()})
    return r


_hooks_installed = False


def _install_hooks() -> None:
    """An uncaught exception fails the active run; a normal exit finishes it."""
    global _hooks_installed
    if _hooks_installed:
        return
    _hooks_installed = True
    previous = sys.excepthook

    def excepthook(t: type[BaseException], v: BaseException, tb: TracebackType | None) -> None:
        current = active()
        if current is not None:
            current._failed = True
            current.finish(state=FAILED, exit_code=1)
        previous(t, v, tb)

    sys.excepthook = excepthook
    atexit.register(_finish_at_exit)


def _finish_at_exit() -> None:
    """A normal exit finishes the active run."""
    current = active()
    if current is not None:
        current.finish()


def _check_id(run_id: str) -> None:
    if not mf.NAME_RE.match(run_id):
        raise UsageError(f"invalid run id {run_id!r}", "use letters, digits, '-', '_' or '.'")
