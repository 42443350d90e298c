"""Where an artifact's files live in the work tree: path planning, overlap checks, .gitignore.

`add data/bikes` (one folder) stores the folder's content: `path: data/bikes`, entries
`cat.png`, `sub/s.txt`, as W&B's `add_dir` does, and git-ignores `/data/bikes/`; that line
(with its final slash) says the artifact owns the whole folder, so status and a re-add with
no path see new files in it. Several paths from one folder, or single files, are stored by
their own names under their common folder (`add data/a.csv data/b.csv`: `path: data`,
entries `a.csv`, `b.csv`); such an artifact owns `P/<t>` for each first segment `t` of its
entries. An artifact stored the earlier way (`path: data`, entries `bikes/...`) keeps that
layout when its folder is added again, so the same bytes give the same digest and no new
version.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import NamedTuple

from gitartifacts.core import manifest as mf
from gitartifacts.core.foldertree import iter_tree
from gitartifacts.core.fsio import WORK_TMP, write_atomic
from gitartifacts.core.textsafe import count
from gitartifacts.core.workspace import scan as wscan
from gitartifacts.errors import CacheError, ManifestError, UsageError
from gitartifacts.gitmodel.project import Project
from gitartifacts.settings import CONFIG_FILE


class Placement(NamedTuple):
    """Where an add reads files from and where its artifact lives."""

    path: str | None  # the artifact's workspace path; None when --prefix renames the entries
    source: str  # the folder the files are read from, relative to the repository root
    tops: list[str]  # the names under `source` to snapshot
    prefix: str  # put before every entry path: "" or "NAME/"
    folder: bool  # one folder given: the artifact is its whole content

    @property
    def owned(self) -> list[str]:
        """Repository-relative paths this add claims in the work tree."""
        if self.folder:
            return [self.source]
        return [join_path(self.source, t) for t in self.tops]


def plan_paths(
    project: Project,
    paths: Sequence[str],
    existing: mf.Manifest | None,
    prefix: str = "",
    stored_tops: Sequence[str] | None = None,
) -> Placement:
    """Where the given paths go (see the module docstring); no paths: the artifact's own
    (`stored_tops`, when given, are the first segments of its stored files)."""
    if not paths:
        if prefix:
            raise UsageError("--prefix needs the paths to add", "name the files or folders")
        if stored_tops is not None:
            stored = list(stored_tops)
        else:
            stored = (
                [p for p, e in (existing.entries or {}).items() if e.ref is None]
                if existing
                else []
            )
        if existing is None or existing.path is None or not stored:
            raise UsageError("no paths given", "name the files or folders to add")
        if owns_folder(project, existing.path):
            names = folder_names(project, existing.path)
            return Placement(existing.path, existing.path, names, "", True)
        return Placement(existing.path, existing.path, wscan.tops(stored), "", False)
    rels = _checked_rels(project, paths)
    prefix = prefix.strip("/")
    if prefix:
        mf.validate_entry_path(prefix, what="--prefix")
    if len(rels) == 1 and os.path.isdir(project.root / rels[0]):
        return _one_folder(project, rels[0], existing, prefix)
    parents = {os.path.dirname(r) for r in rels}
    if len(parents) > 1:
        raise UsageError(
            f"the paths are in different folders ({', '.join(sorted(p or '.' for p in parents))})",
            "add paths from one folder into one artifact, or make one artifact per folder",
        )
    base = parents.pop() or "."
    mf.validate_workspace_path(base)
    names = sorted(r.rsplit("/", 1)[-1] for r in rels)
    return Placement(None if prefix else base, base, names, prefix + "/" if prefix else "", False)


def check_same_place(project: Project, m: mf.Manifest, where: Placement) -> None:
    """Refuse a re-add that would move artifact `m` to another folder or drop one of its
    folders (`add .` from inside one of them, say): a slip, not a new version."""
    if m.path is None or where.path is None:
        return
    given = ", ".join(where.owned)
    if m.path != where.path:
        raise UsageError(
            f"{m.name} holds files under {m.path}/; adding {given} would move it to {where.path}/",
            f"add from {m.path} (git artifacts add --name {m.name} with no path re-adds it), "
            "or pass --force",
        )
    if where.folder:
        return  # the folder is the artifact: files come and go with it
    try:
        stored = [p for p, e in project.load_entries(m, keep=False).items() if e.ref is None]
    except CacheError:
        return  # its listing is not here: nothing to compare with
    dropped = sorted(set(wscan.tops(stored)) - set(where.tops))
    if dropped:
        gone = sum(1 for p in stored if p == dropped[0] or p.startswith(dropped[0] + "/"))
        raise UsageError(
            f"adding {given} would drop {join_path(m.path, dropped[0])} ({count(gone, 'file')})"
            f" from {m.name}",
            f"name all its folders (git artifacts add --name {m.name} with no path re-adds "
            "them), or pass --force",
        )


def check_not_tracked(project: Project, where: Placement) -> None:
    """Refuse files git already tracks: the artifact would fight git over them."""
    out = project.repo.run("ls-files", "-z", "--", *where.owned)
    tracked = [p for p in out.split("\0") if p]
    if tracked:
        raise UsageError(
            f"{tracked[0]} is tracked by git",
            f"stop tracking it first: git rm -r --cached {where.owned[0]}",
        )


def check_no_overlap(project: Project, name: str, where: Placement) -> None:
    """Refuse work-tree paths that another artifact owns, inside or around them."""
    if where.path is None:
        return  # nothing of it will live in the work tree
    mine = where.owned
    for other in project.names():
        if other == name:
            continue
        try:
            m = project.read_manifest(other, entries=False)
            if m is None or m.path is None or not m.files:
                continue
            if owns_folder(project, m.path):
                owned = [m.path]
            else:
                owned = [join_path(m.path, t) for t in _tops(project, m)]
        except (ManifestError, CacheError):
            continue
        for theirs in owned:
            for p in mine:
                if p == theirs or p.startswith(theirs + "/") or theirs.startswith(p + "/"):
                    raise UsageError(
                        f"{p} overlaps {theirs}, which belongs to artifact {other!r}",
                        f"add it to {other!r} instead, or choose a folder of its own",
                    )


def ensure_ignored(project: Project, paths: Sequence[str], whole_folder: bool = False) -> bool:
    """Add `/<path>` lines for workspace data to the root .gitignore, but for paths a line
    already covers (one for their folder, say). With `whole_folder`, each path is written
    `/<path>/`, the mark of an artifact that owns the whole folder (see `owns_folder`).
    True if changed. Read and written under the work-tree lock: concurrent adds never drop
    each other's line."""
    path = project.root / ".gitignore"
    with project.repo.worktree_lock():
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            text = ""
        lines = set(text.splitlines())
        new: list[str] = []
        for p in paths:
            line = "/" + _gitignore_escape(p) + ("/" if whole_folder else "")
            if line in lines or (not whole_folder and _covered(p, lines)):
                continue
            lines.add(line)
            new.append(line)
        if not new:
            return False
        if text and not text.endswith("\n"):
            text += "\n"
        write_atomic(path, (text + "".join(p + "\n" for p in new)).encode())
        return True


def owns_folder(project: Project, path: str | None) -> bool:
    """Whether the artifact at `path` owns the whole folder: the root .gitignore holds the
    line `/<path>/` that `add` writes for one folder."""
    if path in (None, ".", ""):
        return False
    assert path is not None
    try:
        text = (project.root / ".gitignore").read_text(encoding="utf-8")
    except (FileNotFoundError, UnicodeDecodeError):
        return False
    return "/" + _gitignore_escape(path) + "/" in text.splitlines()


def folder_names(project: Project, rel: str) -> list[str]:
    """The names in a work-tree folder but our temporary files; none when it is missing."""
    try:
        names = os.listdir(project.root / rel)
    except (FileNotFoundError, NotADirectoryError):
        return []
    return sorted(n for n in names if not n.startswith(WORK_TMP))


def join_path(base: str | None, rel: str) -> str:
    return rel if base in (None, ".", "") else f"{base}/{rel}"


def _checked_rels(project: Project, paths: Sequence[str]) -> list[str]:
    """Repository-relative paths, each an existing file or folder that is not ours."""
    rels = list(dict.fromkeys(project.relpath(p) for p in paths))
    for r, p in zip(rels, paths, strict=False):
        if r == ".":
            raise UsageError("cannot add the whole repository", "add a folder or files inside it")
        if r.split("/")[0] in (mf.MANIFEST_DIR, CONFIG_FILE):
            raise UsageError(f"{p} is gitartifacts' own file", "add your data, not the manifests")
        if not os.path.lexists(project.root / r):
            raise UsageError(f"no such file or folder: {p}", "check the path")
    return rels


def _one_folder(project: Project, rel: str, existing: mf.Manifest | None, prefix: str) -> Placement:
    parent, _, leaf = rel.rpartition("/")
    parent = parent or "."
    if prefix == leaf or (not prefix and existing is not None and existing.path == parent):
        # The entries keep the folder's name: today's layout, or a prefix that names it.
        mf.validate_workspace_path(parent)
        return Placement(parent, parent, [leaf], "", False)
    mf.validate_workspace_path(rel)
    names = folder_names(project, rel)
    return Placement(None if prefix else rel, rel, names, prefix + "/" if prefix else "", True)


def _covered(p: str, lines: set[str]) -> bool:
    """Whether a line for `p` or one of its folders is in `lines`."""
    parts = p.split("/")
    for i in range(1, len(parts) + 1):
        line = "/" + _gitignore_escape("/".join(parts[:i]))
        if line in lines or line + "/" in lines:
            return True
    return False


def _gitignore_escape(p: str) -> str:
    out = "".join("\\" + c if c in "*?[\\" else c for c in p)
    if out.endswith(" "):
        out = out[:-1] + "\\ "
    return out


def _tops(project: Project, m: mf.Manifest) -> list[str]:
    """The first path segments of `m`'s entries: its root listing object's names."""
    if m.entries is not None:
        return wscan.tops(m.entries)
    assert m.listing is not None
    root = next(iter_tree(m.listing, project.read_listing_object, m.files))
    return [name for _, name, _ in root.lines]
