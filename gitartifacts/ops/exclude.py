"""Paths kept out of `git status` through `.git/info/exclude`: local to this clone, never a
tracked file, so the Python flow leaves the user's branch and index as they were."""

from __future__ import annotations

import os
from collections.abc import Iterable

from gitartifacts.core.fsio import write_atomic
from gitartifacts.gitmodel.project import Project
from gitartifacts.gitmodel.runner import flock

# Seconds to wait for another process appending to the exclude file (a few lines' write).
_LOCK_TIMEOUT = 30.0


def exclude(project: Project, rels: Iterable[str]) -> None:
    """Append a line anchoring each repository-relative path (a folder ends in '/') to
    `.git/info/exclude`, once: under a lock, the file replaced atomically. A path with a line
    break in its name is left out: it would write two patterns, not one."""
    wanted = [_pattern(r) for r in rels if "\n" not in r and "\r" not in r]
    if not wanted:
        return
    path = project.repo.common_dir / "info" / "exclude"
    with flock(project.repo.common_dir / "artifacts" / "locks" / "exclude", _LOCK_TIMEOUT):
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            text = ""
        have = set(text.splitlines())
        new = [p for p in dict.fromkeys(wanted) if p not in have]
        if not new:
            return
        if text and not text.endswith("\n"):
            text += "\n"
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, (text + "".join(p + "\n" for p in new)).encode("utf-8"))


def exclude_untracked(project: Project, paths: Iterable[str]) -> None:
    """Exclude those of `paths` (files or folders, absolute) in the work tree that hold files
    git neither tracks nor ignores: their bytes are in the cache once logged. A folder that
    also holds tracked files has its loose files excluded one by one, so files added to it
    later still show in `git status`."""
    root = os.path.normpath(str(project.root))
    rels: dict[str, bool] = {}
    for p in paths:
        full = os.path.normpath(os.path.abspath(p))
        if full.startswith(root + os.sep) and os.path.exists(full):
            rels[os.path.relpath(full, root).replace(os.sep, "/")] = os.path.isdir(full)
    if not rels:
        return
    out = project.repo.run(
        "ls-files", "-z", "-t", "--cached", "--others", "--exclude-standard", "--",
        *(f":(literal){r}" for r in rels),
    )  # fmt: skip
    listed = [(rec[0], rec[2:]) for rec in out.split("\0") if rec]
    lines = []
    for rel, is_dir in rels.items():
        under = [(tag, f) for tag, f in listed if f == rel or f.startswith(rel + "/")]
        loose = [f for tag, f in under if tag == "?"]
        if not loose:
            continue
        lines += [rel + "/"] if is_dir and len(loose) == len(under) else loose
    exclude(project, lines)


def _pattern(rel: str) -> str:
    """An exclude line matching exactly this path from the repository root."""
    special = "\\*?[!# "
    escaped = "".join("\\" + c if c in special else c for c in rel)
    return "/" + escaped.lstrip("/")
