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

from gitartifacts.errors import UsageError
from gitartifacts.gitmodel import notes as run_notes
from gitartifacts.gitmodel import publish, refs
from gitartifacts.gitmodel import versions as ver
from gitartifacts.gitmodel.project import Project
from gitartifacts.gitmodel.resolve import Resolved, resolve
from gitartifacts.ops import add as ops_add
from gitartifacts.ops import checkout as ops_checkout

RUNNING, FINISHED, FAILED = "running", "finished", "failed"
_ID_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"


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
    """Run COMMAND as a run; on a zero exit, add and commit OUTPUTS as its logged versions.
    A non-zero exit finishes the run as failed and makes no version."""
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
        for ref in _save_outputs(project, outputs, run.id):
            run.event("log", artifact=ref)
        run.finish(FINISHED, 0)
    except BaseException:
        if run.state == RUNNING:
            run.finish(FAILED, 1)
        raise
    return RunResult(run.id, 0)


def code_state(project: Project, head: str) -> dict[str, Any]:
    """The commit, whether the tree was dirty, and the patch (a content object) if so."""
    diff = project.repo.run("diff", "HEAD", "--binary", "--no-color", check=False)
    if not diff:
        return {"commit": head, "dirty": False}
    digest = project.cache.add_bytes(diff.encode())
    return {"commit": head, "dirty": True, "patch": digest}


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
        if head is None:
            raise UsageError(
                "the repository has no commit yet",
                "commit your code first: a run is recorded on a commit",
            )
        self.project = project
        self.id = new_run_id()
        self.commit = head
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
        run_notes.append(self.project.repo, self.commit, [record])

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


def _save_outputs(project: Project, outputs: Sequence[Output], run_id: str) -> list[dict[str, Any]]:
    """Add the outputs, commit their manifests alone, and return their references."""
    added = [ops_add.add(project, [o.path], name=o.name, type=o.type) for o in outputs]
    changed = [
        p
        for p in [*(a.manifest for a in added), ".gitignore"]
        if project.repo.run("status", "--porcelain", "--", p).strip()
    ]
    if changed:
        ops_add.commit_only(project, changed, f"gitartifacts: outputs of run {run_id}")
        publish.sync(project)
    return [_reference(resolve(project, f"{a.name}:{a.digest}")) for a in added]


def _reference(r: Resolved) -> dict[str, Any]:
    m = r.manifest
    version = f"v{r.version}" if r.version is not None else None
    return {"name": m.name, "version": version, "digest": m.digest, "type": m.type}
