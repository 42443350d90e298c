"""Where an artifact's files live in the work tree: path planning, overlap checks, .gitignore."""

from __future__ import annotations

import os
from collections.abc import Sequence

from gitartifacts.core import manifest as mf
from gitartifacts.core.fsio import write_atomic
from gitartifacts.core.workspace import scan as wscan
from gitartifacts.errors import CacheError, ManifestError, UsageError
from gitartifacts.gitmodel.project import Project
from gitartifacts.settings import CONFIG_FILE


def plan_paths(
    project: Project, paths: Sequence[str], existing: mf.Manifest | None
) -> tuple[str, list[str]]:
    """(artifact path relative to the root, the top names under it) for the given paths."""
    if not paths:
        stored = (
            [p for p, e in (existing.entries or {}).items() if e.ref is None] if existing else []
        )
        if existing is None or existing.path is None or not stored:
            raise UsageError("no paths given", "name the files or folders to add")
        return existing.path, wscan.tops(stored)
    rels = list(dict.fromkeys(project.relpath(p) for p in paths))
    for r, p in zip(rels, paths, strict=False):
        if r == ".":
            raise UsageError("cannot add the whole repository", "add a folder or files inside it")
        if r.split("/")[0] in (mf.MANIFEST_DIR, CONFIG_FILE):
            raise UsageError(f"{p} is gitartifacts' own file", "add your data, not the manifests")
        if not os.path.lexists(project.root / r):
            raise UsageError(f"no such file or folder: {p}", "check the path")
    parents = {os.path.dirname(r) for r in rels}
    if len(parents) > 1:
        raise UsageError(
            f"the paths are in different folders ({', '.join(sorted(p or '.' for p in parents))})",
            "add paths from one folder into one artifact, or make one artifact per folder",
        )
    base = parents.pop() or "."
    mf.validate_workspace_path(base)
    return base, sorted(r.rsplit("/", 1)[-1] for r in rels)


def check_same_place(project: Project, m: mf.Manifest, base: str, top_names: list[str]) -> None:
    """Refuse a re-add that would move artifact `m` to another folder or drop one of its
    folders (`add .` from inside one of them, say): a slip, not a new version."""
    if m.path is None:
        return
    given = ", ".join(join_path(base, t) for t in top_names)
    if m.path != base:
        raise UsageError(
            f"{m.name} holds files under {m.path}/; adding {given} would move it to {base}/",
            f"add from {m.path} (git artifacts add --name {m.name} with no path re-adds it), "
            "or pass --force",
        )
    try:
        stored = [p for p, e in project.load_entries(m, keep=False).items() if e.ref is None]
    except CacheError:
        return  # its listing is not here: nothing to compare with
    dropped = sorted(set(wscan.tops(stored)) - set(top_names))
    if dropped:
        gone = sum(1 for p in stored if p == dropped[0] or p.startswith(dropped[0] + "/"))
        raise UsageError(
            f"adding {given} would drop {join_path(base, dropped[0])} ({gone} files) from {m.name}",
            f"name all its folders (git artifacts add --name {m.name} with no path re-adds "
            "them), or pass --force",
        )


def check_not_tracked(project: Project, base: str, top_names: list[str]) -> None:
    specs = [join_path(base, t) for t in top_names]
    out = project.repo.run("ls-files", "-z", "--", *specs)
    tracked = [p for p in out.split("\0") if p]
    if tracked:
        raise UsageError(
            f"{tracked[0]} is tracked by git",
            f"stop tracking it first: git rm -r --cached {specs[0]}",
        )


def check_no_overlap(project: Project, name: str, base: str, top_names: list[str]) -> None:
    mine = [join_path(base, t) for t in top_names]
    for other in project.names():
        if other == name:
            continue
        try:
            m = project.read_manifest(other)
        except (ManifestError, CacheError):
            continue
        if m is None or m.path is None or not m.entries:
            continue
        for theirs in (join_path(m.path, t) for t in wscan.tops(m.entries)):
            for p in mine:
                if p == theirs or p.startswith(theirs + "/") or theirs.startswith(p + "/"):
                    raise UsageError(
                        f"{p} overlaps {theirs}, which belongs to artifact {other!r}",
                        f"add it to {other!r} instead, or choose a folder of its own",
                    )


def ensure_ignored(project: Project, base: str, top_names: Sequence[str]) -> bool:
    """Add `/<path>` lines for the workspace data to the root .gitignore. True if changed.
    Read and written under the work-tree lock: concurrent adds never drop each other's line."""
    path = project.root / ".gitignore"
    with project.repo.worktree_lock():
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            text = ""
        lines = set(text.splitlines())
        new = [
            p
            for p in ("/" + _gitignore_escape(join_path(base, t)) for t in top_names)
            if p not in lines
        ]
        if not new:
            return False
        if text and not text.endswith("\n"):
            text += "\n"
        write_atomic(path, (text + "".join(p + "\n" for p in new)).encode())
        return True


def _gitignore_escape(p: str) -> str:
    out = "".join("\\" + c if c in "*?[\\" else c for c in p)
    if out.endswith(" "):
        out = out[:-1] + "\\ "
    return out


def join_path(base: str | None, rel: str) -> str:
    return rel if base in (None, ".", "") else f"{base}/{rel}"
