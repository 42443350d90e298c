"""The `run` verb: a command recorded as a run, its inputs checked out first, its outputs
added after a zero exit. The run's events are the ones `ga.init` writes (see sdk/run.py)."""

from __future__ import annotations

import getpass
import os
import secrets
import socket
import subprocess
import time
from collections.abc import Sequence
from typing import Any, NamedTuple

from gitartifacts.core import manifest as mf
from gitartifacts.errors import UsageError
from gitartifacts.gitmodel import notes as run_notes
from gitartifacts.gitmodel import refs
from gitartifacts.gitmodel import versions as ver
from gitartifacts.gitmodel.project import Project
from gitartifacts.gitmodel.resolve import Resolved, resolve
from gitartifacts.ops import add as ops_add
from gitartifacts.ops import checkout as ops_checkout

RUNNING, FINISHED, FAILED = "running", "finished", "failed"
_ID_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"
NO_COMMIT = "no commit yet"


class Output(NamedTuple):
    """`-o NAME=PATH[:TYPE]`: a path to save as an artifact after a zero exit."""

    name: str
    path: str
    type: str | None


class RunResult(NamedTuple):
    run_id: str
    exit_code: int


def record_command(
    project: Project,
    command: Sequence[str],
    *,
    job_type: str | None = None,
    name: str | None = None,
    group: str | None = None,
    inputs: Sequence[str] = (),
    outputs: Sequence[Output] = (),
    config: dict[str, Any] | None = None,
) -> RunResult:
    """Run COMMAND as a run; on a zero exit, log OUTPUTS as its versions, each a commit on
    the run's commit (the branch, index and work tree stay as they were). A non-zero exit
    finishes the run as failed and makes no version."""
    run = _Recorder(project, job_type, name, group, config or {})
    try:
        for spec in inputs:
            resolved = _resolve_input(project, spec)
            run.event("use", artifact=_reference(resolved))
            _fetch_input(project, spec, resolved)
        proc = subprocess.run(list(command), check=False)
        run.summary["exit_code"] = proc.returncode
        if proc.returncode != 0:
            run.finish(FAILED, proc.returncode)
            return RunResult(run.id, proc.returncode)
        for ref in _save_outputs(project, outputs, run.commit):
            run.event("log", artifact=ref)
        run.finish(FINISHED, 0)
    except BaseException:
        if run.state == RUNNING:
            run.finish(FAILED, 1)
        raise
    return RunResult(run.id, 0)


def code_state(project: Project, head: str | None) -> dict[str, Any]:
    """The commit, whether the tree was dirty, and the patch (a content object) if so; in a
    repository with no commit yet, that it has none."""
    if head is None:
        return {"commit": None, "dirty": True, "note": NO_COMMIT}
    diff = project.repo.run("diff", "HEAD", "--binary", "--no-color", check=False)
    if not diff:
        return {"commit": head, "dirty": False}
    digest = project.cache.add_bytes(diff.encode())
    return {"commit": head, "dirty": True, "patch": digest}


def record_target(project: Project, commit: str | None) -> str:
    """The object whose note holds a run's events: the run's commit, or in a repository with
    no commit yet the empty tree (written, so the object exists)."""
    if commit:
        return commit
    return project.repo.run("hash-object", "-w", "-t", "tree", "--stdin", input="").strip()


def read_object(project: Project, digest: str) -> bytes:
    """A content object a run record names (its history, a saved file): from the cache, or
    else from the default remote, as a fresh clone needs."""
    if not mf.SHA256_RE.match(digest):
        raise UsageError(f"a run record names a bad object {digest[:80]!r}", "report this run")
    if not project.cache.has(digest):
        from gitartifacts.remote.remotes import resolve as resolve_remote
        from gitartifacts.remote.transfer import open_store

        store = open_store(resolve_remote(project), project)
        store.download(project.cache, [digest], jobs=1)
    return project.cache.read(digest)


def new_run_id() -> str:
    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(8))


def user_name() -> str | None:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return None


# ---------------------------------------------------------------- helpers


class _Recorder:
    """One live run: its events appended to the notes of the commit it started on."""

    def __init__(
        self,
        project: Project,
        job_type: str | None,
        name: str | None,
        group: str | None,
        config: dict[str, Any],
    ) -> None:
        head = project.repo.head()
        self.project = project
        self.id = new_run_id()
        self.commit = head
        self.target = record_target(project, head)
        self.config = config
        self.summary: dict[str, Any] = {}
        self.state = RUNNING
        start: dict[str, Any] = {
            "name": name or self.id,
            "job_type": job_type,
            "group": group,
            "tags": [],
            "notes": None,
            "config": dict(config),
            "summary": {},
            "state": RUNNING,
            "commit": head,
            "code": code_state(project, head),
            "start": time.time(),
            "host": socket.gethostname(),
            "user": user_name(),
        }
        self.event("start", **start, pid=os.getpid())

    def event(self, ev: str, **fields: Any) -> None:
        record = {"run": self.id, "t": time.time_ns(), "ev": ev, **fields}
        run_notes.append(self.project.repo, self.target, [record])

    def finish(self, state: str, exit_code: int) -> None:
        self.state = state
        self.event(
            "finish",
            state=state,
            summary=self.summary,
            config=self.config,
            end=time.time(),
            exit_code=exit_code,
        )


def _resolve_input(project: Project, spec: str) -> Resolved:
    """NAME:SPEC, or a bare NAME for its latest version."""
    if ":" not in spec and spec in ver.histories(project):
        spec = f"{spec}:{refs.LATEST}"
    return resolve(project, spec)


def _fetch_input(project: Project, spec: str, r: Resolved) -> None:
    """Check out an input that has a workspace folder; download one that has none."""
    if r.manifest.path is not None:
        ops_checkout.checkout(project, [spec])
    else:
        name = r.manifest.name
        ops_checkout.get(project, f"{name}:v{r.version}" if r.version is not None else name, None)


def _save_outputs(
    project: Project, outputs: Sequence[Output], commit: str | None
) -> list[dict[str, Any]]:
    """Log each output as a version whose commit's parent is the run's commit (off the
    branch), and return their references."""
    found = []
    for o in outputs:
        h = ver.histories(project).get(o.name)
        type = o.type or ver.type_from_history(project, h)
        if type is None:
            raise UsageError(
                f"artifact {o.name!r} is new and needs a type", f"write -o {o.name}=PATH:TYPE"
            )
        path = os.path.abspath(o.path)
        entries = ops_add.entries_of(project, path)
        m = mf.build(o.name, type, entries)
        done = ops_add.log_draft(project, m, parent=commit, sources=[path])
        found.append(
            {"name": m.name, "version": f"v{done.version}", "digest": m.digest, "type": type}
        )
    return found


def _reference(r: Resolved) -> dict[str, Any]:
    m = r.manifest
    version = f"v{r.version}" if r.version is not None else None
    return {"name": m.name, "version": version, "digest": m.digest, "type": m.type}
