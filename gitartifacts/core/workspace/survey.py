"""The first pass of a checkout: the version's listing tree and the work tree walked side by
side one folder at a time, each folder's changes decided and spooled to a temporary file,
so that a run of a million files holds one folder in memory, and a refused checkout has
changed nothing."""

from __future__ import annotations

import itertools
import os
import stat
import tempfile
import time
from collections.abc import Iterator
from typing import IO, NamedTuple

from gitartifacts.core import spool
from gitartifacts.core.foldertree import Line, TreeFolder, iter_tree, merge_folders
from gitartifacts.core.hashing import sha256_file
from gitartifacts.core.listing import ref_entry
from gitartifacts.core.objects import ObjectStore
from gitartifacts.core.shards import objects_present
from gitartifacts.core.state import State, StatKey
from gitartifacts.core.workspace.folders import Folders
from gitartifacts.core.workspace.plan import Checkout
from gitartifacts.core.workspace.scan import FolderWalk, Rows
from gitartifacts.core.workspace.status import state_key

# Digests asked of the cache (missing or used) at once.
_BATCH = 10_000
# Conflicts named in the error, at most; the rest are counted.
SHOWN = 5


class Change(NamedTuple):
    """One folder's changes: files to write (name, digest, size, whether a file is there
    now), references to fetch (name, entry JSON), files to delete, and paths in the way
    (under base) to remove first."""

    folder: str
    writes: list[tuple[str, str, int, bool]]
    refs: list[tuple[str, str]]
    deletes: list[str]
    clashes: list[str]


class Survey:
    """Decides a checkout's changes folder by folder (`run`), counting what is to write and
    fetch and naming the local files in the way; `changes()` reads them back in order."""

    def __init__(
        self, state: State, store: ObjectStore, job: Checkout, folders: Folders, with_refs: bool
    ) -> None:
        self.state, self.store, self.job, self.folders = state, store, job, folders
        self.with_refs = with_refs
        self.owned: list[str] = []
        self.files = self.bytes = self.refs = self.deletes = 0
        self.missing = 0
        self.first_missing = ""
        self.conflicts: list[str] = []  # the first SHOWN
        self.conflict_count = 0
        self.temps: list[str] = []
        self.fingerprint = ""
        self._spool: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 (closed by close())
        self._wanted: list[str] = []  # digests to write, not yet asked of the cache
        self._used: list[str] = []

    def close(self) -> None:
        self._spool.close()

    def run(self, base_exists: bool) -> None:
        job = self.job
        target = iter_tree(job.tree.root, job.tree.fetch, job.tree.files)
        root = next(target)
        tops = {name for _, name, _ in root.lines}
        self.owned = sorted(tops | set(job.manage), key=str.encode)
        walk = FolderWalk(job.base, self.owned, job.what, job.ignore)
        folders = itertools.chain([root], target)
        pairs = merge_folders(
            ((f.path, f) for f in folders), iter(walk) if base_exists else iter(())
        )
        for folder, tf, rows in pairs:
            self._folder(folder, tf, rows or [])
        self._ask_cache()
        if base_exists:
            self.temps, self.fingerprint = walk.temps, walk.fingerprint

    def changes(self) -> Iterator[Change]:
        """The changes spooled by `run`, in folder order."""
        for change in spool.load(self._spool):
            yield Change(*change)

    def _folder(self, folder: str, tf: TreeFolder | None, rows: Rows) -> None:
        prefix = f"{folder}/" if folder else ""
        have = {row[0]: row[1:] for row in rows}
        found = self._digests(prefix, have)
        change = Change(folder, [], [], [], [])
        names = self._targets(prefix, tf.lines if tf else [], have, found, change)
        if self.job.delete_extra:
            change.deletes.extend(name for name in have if name not in names)
        if not (change.writes or change.refs or change.deletes or change.clashes):
            return
        blocked = len(self.folders.blocked)
        real = self.folders.real(folder)  # a symlink on the way refuses the checkout
        change.clashes.extend(self.folders.blocked[blocked:])  # a file where this folder goes
        for name in [w[0] for w in change.writes] + [r[0] for r in change.refs]:
            if name not in have and real:
                self._in_the_way(prefix + name, change)
        for name in change.deletes:
            if prefix + name not in change.clashes and not self.store.has(found[name]):
                self._conflict(prefix + name)
        for rel in change.clashes:
            self._conflict(rel)
        self.deletes += len(change.deletes)
        spool.dump(self._spool, tuple(change))

    def _targets(
        self,
        prefix: str,
        lines: list[Line],
        have: dict[str, StatKey],
        found: dict[str, str],
        change: Change,
    ) -> set[str]:
        """Fill `change` with this folder's entries that differ from the work tree; the
        names of its entries."""
        names = set()
        for kind, name, rest in lines:
            if kind == "t":
                if name in have:  # a file where a folder goes
                    change.clashes.append(prefix + name)
                continue
            names.add(name)
            if kind == "f":
                digest, size = rest[0], int(rest[1])
                self._used.append(digest)
            else:
                entry = ref_entry(rest[0])
                digest, size = entry.digest, entry.size
                if not self.with_refs:
                    continue
            if found.get(name) == digest:
                continue
            replaces = name in have
            if kind == "f":
                change.writes.append((name, digest, size, replaces))
                self._wanted.append(digest)
                self.files += 1
                self.bytes += size
            else:
                change.refs.append((name, rest[0]))
                self.refs += 1
            if replaces and not self.store.has(found[name]):
                self._conflict(prefix + name)
        if len(self._wanted) >= _BATCH or len(self._used) >= _BATCH:
            self._ask_cache()
        return names

    def _digests(self, prefix: str, have: dict[str, StatKey]) -> dict[str, str]:
        """Each work tree file's digest: from the stat cache, else hashed (and remembered)."""
        if not have:
            return {}
        started = time.time_ns()
        path = self.job.path
        known = self.state.lookup_paths([state_key(path, prefix + name) for name in have])
        out: dict[str, str] = {}
        rows = []
        for name, st in have.items():
            key = state_key(path, prefix + name)
            hit = known.get(key)
            if hit is not None and hit[0] == st:
                out[name] = hit[1]
                continue
            digest, size = sha256_file(os.path.join(self.job.base, prefix + name))
            out[name] = digest
            if size == st[2]:
                rows.append((key, st, digest))
        if rows:
            self.state.record(rows, started)
        return out

    def _in_the_way(self, rel: str, change: Change) -> None:
        """A target the walk did not report may still be taken: by a folder (a clash), an
        ignored file or a link to a folder (local files all the same)."""
        full = os.path.join(self.job.base, rel)
        try:
            mode = os.lstat(full).st_mode
        except FileNotFoundError:
            return
        if stat.S_ISDIR(mode):
            change.clashes.append(rel)
        elif not _saved(self.store, full):
            self._conflict(rel)

    def _conflict(self, rel: str) -> None:
        if rel in self.conflicts:
            return
        self.conflict_count += 1
        if len(self.conflicts) < SHOWN:
            self.conflicts.append(rel)

    def _ask_cache(self) -> None:
        """Count the objects to write that the cache lacks; note the objects used."""
        if self._wanted:
            missing = self.store.missing(list(dict.fromkeys(self._wanted)))
            self.first_missing = self.first_missing or (missing[0] if missing else "")
            self.missing += len(missing)
            self._wanted = []
        if self._used:
            # Of loose objects only: the cache cap reads no other (it evicts packs whole, by
            # their age), and a million rows of random keys cost a checkout 4 s.
            self.state.record_use(objects_present(f"{self.store.objects}/", self._used))
            self._used = []


def _saved(store: ObjectStore, full: str) -> bool:
    """Whether the regular file at `full` holds bytes the cache has (a link never counts)."""
    try:
        if not stat.S_ISREG(os.lstat(full).st_mode):
            return False
        return store.has(sha256_file(full)[0])
    except OSError:
        return False
