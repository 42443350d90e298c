"""An artifact's files against its manifest: each file's digest (from the stat cache, else
hashed, and stored in the cache on an add) and the files added, modified and deleted."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from typing import NamedTuple

from gitartifacts.core import manifest as mf
from gitartifacts.core.foldertree import TreeFolder, merge_folders
from gitartifacts.core.hashing import sha256_file
from gitartifacts.core.listing import ref_entry
from gitartifacts.core.objects import ObjectStore
from gitartifacts.core.parallel import batches, parallel
from gitartifacts.core.progress import Progress, phase
from gitartifacts.core.state import SIZE, State, StatKey
from gitartifacts.core.workspace.digest_walk import Digested
from gitartifacts.core.workspace.scan import tops


class Diff(NamedTuple):
    added: list[str]
    modified: list[str]
    deleted: list[str]

    @property
    def clean(self) -> bool:
        return not (self.added or self.modified or self.deleted)


def state_key(path: str | None, rel: str) -> str:
    return rel if path in (None, ".", "") else f"{path}/{rel}"


def digests(
    state: State,
    path: str | None,
    files: dict[str, StatKey],
    *,
    base: str,
    store: ObjectStore | None = None,
    progress: Progress | None = None,
) -> tuple[dict[str, tuple[str, int]], bool]:
    """Digest of every scanned file: from the stat cache, else hashed (and stored when
    `store` is given). Returns (digests, trusted): trusted is False when a file changed too
    recently for its stat to be trusted next time.
    """
    started = time.time_ns()
    known = (
        state.lookup_prefix(tops(files))
        if path in (None, ".", "")
        else state.lookup_prefix([state_key(path, t) for t in tops(files)])
    )
    out: dict[str, tuple[str, int]] = {}
    todo: list[str] = []
    for rel, st in files.items():
        hit = known.get(state_key(path, rel))
        if hit is not None and hit[0] == st and (store is None or store.has(hit[1])):
            out[rel] = (hit[1], st[SIZE])
        else:
            todo.append(rel)
    if not todo:
        return out, True
    rows = []
    total = sum(files[r][SIZE] for r in todo)
    with phase(progress, "Hashing", files=len(todo), bytes=total) as bar:

        def work(batch: list[str]) -> list[tuple[str, str, int]]:
            res = []
            for rel in batch:
                full = os.path.join(base, rel)
                if store is not None:
                    digest, size = store.add_file(full, files[rel][SIZE])
                else:
                    digest, size = sha256_file(full)
                res.append((rel, digest, size))
            bar.advance(files=len(batch), bytes=sum(files[r][SIZE] for r in batch))
            return res

        for rel, digest, size in parallel(work, batches(todo, lambda r: files[r][SIZE])):
            out[rel] = (digest, size)
            if size == files[rel][SIZE]:
                rows.append((state_key(path, rel), files[rel], digest))
    trusted = state.record(rows, started)
    return out, trusted


def compare(entries: dict[str, mf.Entry], current: dict[str, str]) -> Diff:
    added = [p for p in current if p not in entries]
    deleted = [p for p, e in entries.items() if p not in current and e.ref is None]
    modified = [p for p, d in current.items() if p in entries and entries[p].digest != d]
    return Diff(sorted(added), sorted(modified), sorted(deleted))


def compare_tree(files: Iterator[tuple[str, Digested]], tree: Iterator[TreeFolder]) -> Diff:
    """`compare` folder by folder: the work tree's files with their digests, against an
    artifact's listing tree, both in folder order; only the changed paths are held."""
    diff = Diff([], [], [])
    for folder, mine, theirs in merge_folders(files, ((t.path, t.lines) for t in tree)):
        stored = {name: _line_digest(kind, rest) for kind, name, rest in theirs or []}
        prefix = f"{folder}/" if folder else ""
        for name, digest, _ in mine or []:
            had = stored.pop(name, None)
            if had is None or had[1] is None:  # new, or a file where a folder was
                diff.added.append(prefix + name)
            elif had[0] != digest:
                diff.modified.append(prefix + name)
        diff.deleted.extend(prefix + n for n, (_, ref) in stored.items() if ref is False)
    return Diff(*(sorted(part, key=str.encode) for part in diff))


def _line_digest(kind: str, rest: list[str]) -> tuple[str, bool | None]:
    """A listing line's digest and whether it is a reference (None: a subfolder)."""
    if kind == "f":
        return rest[0], False
    if kind == "r":
        return ref_entry(rest[0]).digest, True
    return "", None
