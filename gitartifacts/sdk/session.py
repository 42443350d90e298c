"""The run of this process: `ga.init` starts or resumes it, `ga.finish` ends it, and hooks end
it at exit (finished, or failed after `sys.exit(n)` with n != 0) or on an uncaught exception
(failed)."""

from __future__ import annotations

import atexit
import os
import socket
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, NoReturn

from gitartifacts.core import manifest as mf
from gitartifacts.errors import NotFoundError, UsageError
from gitartifacts.gitmodel import publish
from gitartifacts.gitmodel.project import Project
from gitartifacts.ops import runs as run_ops
from gitartifacts.sdk import init_args
from gitartifacts.sdk.artifact import Artifact
from gitartifacts.sdk.config import Placeholder
from gitartifacts.sdk.disabled import DisabledRun
from gitartifacts.sdk.init_args import InitArgs
from gitartifacts.sdk.run import FAILED, RUNNING, Run, exit_code_of

_active: Run | DisabledRun | None = None  # the last run `init` started; `ga.run` while running
_live: list[Run] = []  # every run this process started (several with reinit="create_new")


def init(
    job_type: str | None = None,
    config: dict[str, Any] | None = None,
    group: str | None = None,
    name: str | None = None,
    id: str | None = None,
    resume: str | bool | None = None,
    tags: Sequence[str] | None = None,
    notes: str | None = None,
    *,
    project: str | None = None,
    entity: str | None = None,
    dir: str | os.PathLike[str] | None = None,
    reinit: bool | str | None = None,
    mode: str | None = None,
    save_code: bool | None = None,
    settings: Any = None,
    config_exclude_keys: Sequence[str] | None = None,
    config_include_keys: Sequence[str] | None = None,
    allow_val_change: bool | None = None,
    **wandb_only: Any,
) -> Run | DisabledRun:
    """Start (or resume) a run; use it as a context manager. Arguments W&B has and this tool
    has no use for (`anonymous=`, `sync_tensorboard=`, ...) are ignored with one warning
    line; see "Runs: init arguments and modes" in docs/design.md."""
    global _active
    given = {k: v for k, v in locals().items() if k not in ("settings", "wandb_only")}
    args = init_args.parse(given, settings, wandb_only)
    current = active()
    if current is not None:
        if args.reinit == "return_previous":
            return current
        if args.reinit == "finish_previous":
            current.finish()
    if args.mode == "disabled":
        _active = DisabledRun(args)
        return _active
    r = _start(_open_project(args.dir), args)
    _live[:] = [*_running(), r]  # a notebook's finished runs are let go
    _install_hooks()
    _active = r
    if args.save_code:
        _log_code(r)
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


def log_artifact(
    artifact_or_path: Any,
    name: str | None = None,
    type: str | None = None,
    aliases: list[str] | None = None,
    tags: list[str] | None = None,
) -> Any:
    """`run.log_artifact` of the active run (W&B's `wandb.log_artifact`)."""
    return _require("log_artifact()").log_artifact(artifact_or_path, name, type, aliases, tags)


def use_artifact(
    artifact_or_name: Any,
    type: str | None = None,
    aliases: list[str] | None = None,
    use_as: str | None = None,
) -> Any:
    """`run.use_artifact` of the active run (W&B's `wandb.use_artifact`)."""
    return _require("use_artifact()").use_artifact(artifact_or_name, type, aliases, use_as)


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


def active() -> Run | DisabledRun | None:
    """The run of this process while it is running (`ga.run`), else None."""
    return _active if _active is not None and _active.state == RUNNING else None


# ---------------------------------------------------------------- helpers


def _require(what: str) -> Run | DisabledRun:
    run = active()
    if run is None:
        raise UsageError(
            f"You must call gitartifacts.init() before gitartifacts.{what}",
            "start a run first: run = gitartifacts.init(...)",
        )
    return run


def _open_project(dir: str | None) -> Project:
    """The repository of `dir` when it is inside one (as before `dir` meant the run files'
    folder), else the repository of the current folder."""
    if dir is not None and os.path.isdir(dir):
        try:
            return _synced(Project.open(dir))
        except UsageError:
            pass
    try:
        project = Project.open()
    except UsageError:
        raise UsageError(
            f"gitartifacts.init() needs a git repository: {os.getcwd()} is not inside one",
            "run git init, or start the script inside your repository, "
            "or pass mode='disabled' to record nothing",
        ) from None
    return _synced(project)


def _synced(project: Project) -> Project:
    publish.sync(project)
    return project


def _start(project: Project, args: InitArgs) -> Run:
    """Resume the run `args.id` names (as `resume` allows) or begin a new one."""
    previous = None
    if args.id is not None:
        _check_id(args.id)
        from gitartifacts.tracking import lineage

        previous = lineage.index(project).runs.get(args.id)
        if previous is not None and args.resume in (None, False, "never"):
            raise UsageError(
                f"run {args.id!r} already exists",
                "pass resume='allow' to continue it, or another id",
            )
        if previous is None and args.resume == "must":
            raise NotFoundError(
                f"run {args.id!r} does not exist, and resume='must'",
                "check the id, or use resume='allow'",
            )
    if previous is not None:
        r = _resume(project, previous.record, args.config)
    else:
        r = _begin(project, args.id or run_ops.new_run_id(), args)
    r.dir = _run_dir(project, r.id, args.dir)
    return r


def _resume(project: Project, record: dict[str, Any], config: dict[str, Any]) -> Run:
    r = Run(project, record, live=True, artifacts=Artifact)
    r.config.update(config)
    r.state = RUNNING
    r.resumed = True
    r._write(
        {
            "ev": "resume",
            "config": r.config.as_dict(),
            "pid": os.getpid(),
            "host": socket.gethostname(),
        }
    )
    return r


def _begin(project: Project, run_id: str, args: InitArgs) -> Run:
    head = project.repo.head()
    user = run_ops.user_name()
    record = {
        "id": run_id,
        "name": args.name or run_id,
        "job_type": args.job_type,
        "group": args.group,
        "tags": args.tags,
        "notes": args.notes,
        "project": args.project or project.root.name,
        "entity": args.entity or user or "local",
        "mode": args.mode,
        "config": args.config,
        "summary": {},
        "state": RUNNING,
        "commit": head,
        "code": run_ops.code_state(project, head),
        "start": time.time(),
        "host": socket.gethostname(),
        "user": user,
    }
    r = Run(project, record, live=True, artifacts=Artifact)
    r._write({"ev": "start", **{k: v for k, v in record.items() if k != "id"}, "pid": os.getpid()})
    return r


def _run_dir(project: Project, run_id: str, given: str | None) -> str:
    """`run.dir`: the folder `dir=` names, else one under the repository's git folder."""
    folder = Path(given) if given else project.repo.common_dir / "artifacts" / "runs" / run_id
    folder = folder.resolve() / ("" if given else "files")
    folder.mkdir(parents=True, exist_ok=True)
    return str(folder)


def _log_code(r: Run) -> None:
    """`save_code=True`: the run's code as a `code` artifact, when there is a commit."""
    if not r.commit:
        print(
            "warning: save_code: the repository has no commit yet, so no code was logged",
            file=sys.stderr,
        )
        return
    r.log_code(r._project.root)


_hooks_installed = False
_exit_status: list[int] = []  # the code `sys.exit` was called with, once it was


def _install_hooks() -> None:
    """An uncaught exception or `sys.exit(n)` with n != 0 fails the running runs; a normal
    exit finishes them."""
    global _hooks_installed
    if _hooks_installed:
        return
    _hooks_installed = True
    previous = sys.excepthook
    original_exit = sys.exit

    def excepthook(t: type[BaseException], v: BaseException, tb: TracebackType | None) -> None:
        for run in _running():
            run._failed = True
            run.finish(state=FAILED, exit_code=1)
        previous(t, v, tb)

    def exit(status: str | int | None = None) -> NoReturn:
        _exit_status.append(exit_code_of(status))
        original_exit(status)

    sys.excepthook = excepthook
    sys.exit = exit
    atexit.register(_finish_at_exit)


def _finish_at_exit() -> None:
    """At exit, the running runs finish; failed if `sys.exit` was given a non-zero code."""
    code = _exit_status[-1] if _exit_status else 0
    for run in _running():
        run.finish(exit_code=code)


def _running() -> list[Run]:
    return [r for r in _live if r.state == RUNNING]


def _check_id(run_id: str) -> None:
    if not mf.NAME_RE.match(run_id):
        raise UsageError(f"invalid run id {run_id!r}", "use letters, digits, '-', '_' or '.'")
