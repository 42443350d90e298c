"""`init`: set up a repository for gitartifacts (idempotent)."""

from __future__ import annotations

import sys

from gitartifacts.core import manifest as mf
from gitartifacts.core.fsio import write_atomic
from gitartifacts.gitmodel.project import Project
from gitartifacts.gitmodel.refs import fetch_refspec
from gitartifacts.ops import merge
from gitartifacts.ops.hooks import ATTRIBUTES
from gitartifacts.settings import CONFIG_FILE

DEFAULT_CONFIG = (
    "# gitartifacts settings, committed with the repository. No secrets here.\nremotes: {}\n"
)


def init(project: Project, *, stage: bool = True) -> list[str]:
    """Set up the repository; idempotent. Returns what was done. A new config file is staged
    only with `stage`."""
    done = []
    cfg = project.root / CONFIG_FILE
    with project.repo.worktree_lock():
        if not cfg.exists():
            write_atomic(cfg, DEFAULT_CONFIG.encode())
            if stage:
                project.repo.stage([CONFIG_FILE])
            done.append(f"created {CONFIG_FILE}")
    for remote in project.repo.remotes():
        spec = fetch_refspec(remote)
        if (
            spec
            not in project.repo.run(
                "config", "--get-all", f"remote.{remote}.fetch", check=False
            ).split()
        ):
            project.repo.config_set(f"remote.{remote}.fetch", spec, add=True)
            done.append(f"git fetch from {remote} now brings published artifact versions")
    from gitartifacts.gitmodel import notes as run_notes

    done += run_notes.configure(project.repo)
    done += merge.install_driver(project)
    (project.root / mf.MANIFEST_DIR).mkdir(exist_ok=True)
    project.cache.objects.mkdir(parents=True, exist_ok=True)
    project.state  # noqa: B018 - creates the state database
    return done


def ensure_init(project: Project, *, stage: bool = True) -> None:
    """`init` when the config file is missing. Without `stage` (the Python flow, which leaves
    the index alone) the new file is left for the user to commit, and one line says so."""
    if (project.root / CONFIG_FILE).exists():
        return
    # `init` creates the file under the work-tree lock, after looking again.
    done = init(project, stage=stage)
    if stage:
        return
    written = [CONFIG_FILE] if f"created {CONFIG_FILE}" in done else []
    written += [ATTRIBUTES] if any(d.startswith(ATTRIBUTES + ":") for d in done) else []
    if written:
        files = " ".join(written)
        print(
            f"gitartifacts: wrote {' and '.join(written)}; commit to share the settings: "
            f"git add {files} && git commit -m 'gitartifacts settings'",
            file=sys.stderr,
        )
