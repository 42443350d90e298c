"""The digest of every file of a folder walk, one folder at a time: from the stat cache,
else hashed (and stored in the cache on an add), the new stat rows recorded as they come.

On the command line, batches of files to hash are shared with a fork of the process
(`forkstream`); elsewhere big files are hashed on a pool of threads fed a bounded queue of
batches. Memory is the batches in flight, not the files.

A walk without stat data (`FolderWalk(stat=False)`: the first add of files the stat cache
knows nothing of, which are all hashed anyway) leaves each file to be stat'ed where it is
read, on the descriptor it is read through: in the process that hashes it, not in the one
that walks, builds the listing and writes the state, which is the one that cannot share.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import time
from collections.abc import Callable, Iterator

from gitartifacts.core import forked
from gitartifacts.core.forkstream import streamed
from gitartifacts.core.hashing import sha256_file
from gitartifacts.core.objects import SMALL, ObjectStore
from gitartifacts.core.parallel import ordered_map
from gitartifacts.core.progress import Bar, Progress, phase
from gitartifacts.core.state import State, StatKey, stat_key
from gitartifacts.core.workspace.scan import Fingerprint, FolderWalk, Rows

# A batch: this many files, or files to hash of this many bytes, at most.
_BATCH_FILES = 512
_BATCH_MISS_FILES = 256
_BATCH_MISS_BYTES = 4 << 20
_RECORD_EVERY = 5000  # stat rows written to the state at once
# Below this mean size of the files to hash, a batch is hashed on the walking thread.
_THREADED_MEAN = 64 * 1024

# One folder's files with their digests: (name, digest, size), sorted by name bytes.
Digested = list[tuple[str, str, int]]
# Part of a folder: its name, rows, and the digest of each row the cache holds (None: to
# hash).
_Part = tuple[str, Rows, list[str | None]]
# Files to hash, as (path under the base, size; -1 when not stat'ed): plain tuples, as
# they may go to another process (marshal); and what hashing each gives: digest, size,
# whether the cache held it already, and its stat data when the walk had none.
_Todo = list[tuple[str, int]]
_Hashed = list[tuple[str, int, bool, StatKey | None]]
_NewRows = list[tuple[str, StatKey, str]]


class DigestWalk:
    """(folder, digested files) for each folder of `walk`, in its order. `path` is the
    artifact's workspace path (the stat cache's keys are under it), `base` the folder on
    disk. After the walk, `trusted` is False when some file changed too recently for its
    stat to be trusted next time, and `fingerprint` is the walk's (see `Fingerprint`). On
    an add (a `store`), `held` is given the digests of the objects the cache held
    already, a batch at a time: the ones a writer renews. With `share` (many small files)
    the hashing is shared with a fork where the command line allows it."""

    def __init__(
        self,
        walk: FolderWalk,
        state: State,
        path: str | None,
        base: str,
        store: ObjectStore | None = None,
        progress: Progress | None = None,
        held: Callable[[list[str]], None] | None = None,
        share: bool = False,
    ) -> None:
        self.walk = walk
        self.share = share
        self.state = state
        self.prefix = "" if path in (None, ".", "") else f"{path}/"
        self.base = base
        self.store = store
        self.progress = progress
        self.held = held
        self.trusted = True
        self._bar: Bar | None = None
        self._fp = Fingerprint()  # of the stat data found while hashing (no stat walk)

    @property
    def fingerprint(self) -> str:
        return self.walk.fingerprint if self.walk.stat else self._fp.hexdigest()

    def __iter__(self) -> Iterator[tuple[str, Digested]]:
        started = time.time_ns()
        new: _NewRows = []
        folder: str | None = None
        files: Digested = []
        seen: Rows = []  # the folder's stat data, when the walk had none
        with contextlib.ExitStack() as bars:
            for batch, hashed in self._hashed(self._batches(bars)):
                self._advance(hashed)
                for f, got, stats in self._digested(batch, hashed, new):
                    if f != folder and folder is not None:
                        yield folder, files
                        if not self.walk.stat:
                            self._fp.update((folder, seen))
                        files, seen = [], []
                    folder = f
                    files += got
                    seen += stats
                if len(new) >= _RECORD_EVERY:
                    self.trusted &= self.state.record(new, started)
                    new = []
            if folder is not None:
                yield folder, files
                if not self.walk.stat:
                    self._fp.update((folder, seen))
            self.trusted &= self.state.record(new, started)

    def _hashed(
        self, batches: Iterator[tuple[list[_Part], _Todo]]
    ) -> Iterator[tuple[list[_Part], _Hashed]]:
        """Each batch with its files hashed, in order: with `share`, on the command line,
        shared with a fork (which packs what it stores into a pack of its own, sealed
        before the walk ends), else on threads where the files are large enough to pay."""
        if self.share and forked.ALLOWED and forked.CAN_FORK:
            store = self.store
            yield from streamed(
                self._hash,
                batches,
                setup=store.packs.leave_pending if store is not None else _nothing,
                finish=store.flush if store is not None else _nothing,
            )
            return
        yield from ordered_map(
            lambda b: (b[0], self._hash(b[1])), batches, threaded=lambda b: _worth_threads(b[1])
        )

    def _digested(
        self, batch: list[_Part], hashed: _Hashed, new: _NewRows
    ) -> Iterator[tuple[str, Digested, Rows]]:
        """Each part of `batch`: its folder, the digests of its files (those to hash from
        `hashed`) and, when the walk had no stat data, the files' stat rows as a walk with
        them would have found. Stat rows to record go to `new`."""
        results = iter(hashed)
        held: list[str] = []
        for folder, part, known in batch:
            got: Digested = []
            stats: Rows = []
            for row, digest in zip(part, known, strict=True):
                name, ino, mtime, size, ctime = row
                if digest is not None:
                    got.append((name, digest, size))
                    held.append(digest)
                    continue
                digest, got_size, was_held, key = next(results)
                got.append((name, digest, got_size))
                if was_held:
                    held.append(digest)
                if key is None:
                    key = (ino, mtime, size, ctime)
                else:
                    stats.append((name, *key))
                if got_size == key[2]:
                    rel = f"{folder}/{name}" if folder else name
                    new.append((self.prefix + rel, key, digest))
            yield folder, got, stats
        if self.held is not None and held:
            self.held(held)

    def _batches(self, bars: contextlib.ExitStack) -> Iterator[tuple[list[_Part], _Todo]]:
        """The walk's folders with the digests the stat cache and the cache hold, cut into
        batches (a large folder into several; a big file to hash alone), each with its
        files to hash: runs in the caller's thread, the one that holds the state."""
        batch: list[_Part] = []
        todo: _Todo = []
        n = miss_bytes = 0
        stat = self.walk.stat
        for folder, rows in self.walk:
            known = self._looked_up(folder, rows)
            prefix = f"{folder}/" if folder else ""
            start = 0
            for i, row in enumerate(rows):
                n += 1
                if known[i] is None:
                    size = row[3] if stat else -1
                    todo.append((prefix + row[0], size))
                    miss_bytes += max(size, 0)
                if (
                    n >= _BATCH_FILES
                    or len(todo) >= _BATCH_MISS_FILES
                    or miss_bytes >= _BATCH_MISS_BYTES
                ):
                    batch.append((folder, rows[start : i + 1], known[start : i + 1]))
                    self._grow(bars, todo)
                    yield batch, todo
                    batch, todo, n, miss_bytes, start = [], [], 0, 0, i + 1
            if start < len(rows):
                batch.append((folder, rows[start:], known[start:]))
        if batch:
            self._grow(bars, todo)
            yield batch, todo

    def _looked_up(self, folder: str, rows: Rows) -> list[str | None]:
        """The stat cache's digest of each row, None for a miss (or, on an add, for an
        object the cache no longer holds). Without stat data, all are misses."""
        if not self.walk.stat:
            return [None] * len(rows)
        keys = [f"{self.prefix}{folder}/{r[0]}" if folder else self.prefix + r[0] for r in rows]
        hits = self.state.lookup_paths(keys)
        store = self.store
        known: list[str | None] = []
        for key, (_, ino, mtime, size, ctime) in zip(keys, rows, strict=True):
            hit = hits.get(key)
            if hit is None or hit[0] != (ino, mtime, size, ctime):
                known.append(None)
            else:
                known.append(hit[1] if store is None or store.has(hit[1]) else None)
        return known

    def _grow(self, bars: contextlib.ExitStack, todo: _Todo) -> None:
        """Count a batch's files to hash in the bar: it opens at the first and grows with
        the walk (a batch at a time: a lock and a call per file cost 0.1 s in 100,000)."""
        if todo:
            size = sum(max(s, 0) for _, s in todo)
            if self._bar is None:
                self._bar = bars.enter_context(
                    phase(self.progress, "Hashing", files=len(todo), bytes=size)
                )
            else:
                self._bar.grow(len(todo), size)

    def _advance(self, hashed: _Hashed) -> None:
        if self._bar is not None and hashed:
            size = sum(h[1] for h in hashed)
            if not self.walk.stat:  # sizes learnt only now
                self._bar.grow(0, size)
            self._bar.advance(files=len(hashed), bytes=size)

    def _hash(self, todo: _Todo) -> _Hashed:
        """Hash (and on an add, store) files, in any thread or process."""
        store = self.store
        out: _Hashed = []
        with _Folders(self.base) as folders:
            for rel, size in todo:
                if size < 0:
                    assert store is not None  # only an add walks without stat data
                    out.append(_store_unseen(store, folders, rel))
                elif store is not None:
                    out.append((*store.store_file(os.path.join(self.base, rel), size), None))
                else:
                    out.append((*sha256_file(os.path.join(self.base, rel)), False, None))
        return out


class _Folders:
    """The folder of the files being read, open: each file is then opened by its name in
    it, one name looked up rather than its whole path (measured: a fifth of the time of
    opening 100,000 small files by path)."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.folder: str | None = None
        self.fd = -1

    def __enter__(self) -> _Folders:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.fd >= 0:
            os.close(self.fd)

    def open(self, rel: str) -> int:
        folder, _, name = rel.rpartition("/")
        if folder != self.folder:
            if self.fd >= 0:
                os.close(self.fd)
                self.fd = -1
            self.fd = os.open(os.path.join(self.base, folder), os.O_RDONLY | os.O_DIRECTORY)
            self.folder = folder
        return os.open(name, os.O_RDONLY, dir_fd=self.fd)


def _store_unseen(
    store: ObjectStore, folders: _Folders, rel: str
) -> tuple[str, int, bool, StatKey]:
    """Store a file the walk did not stat; stat'ed on the descriptor it is read through."""
    fd = folders.open(rel)
    try:
        st = os.fstat(fd)
        data = os.read(fd, st.st_size + 1) if st.st_size <= SMALL else None
    finally:
        os.close(fd)
    if data is not None and len(data) == st.st_size:
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        return digest, len(data), store.put(digest, data), stat_key(st)
    # Large, or it changed since the fstat: read again, as any file.
    full = os.path.join(folders.base, rel)
    return (*store.store_file(full, st.st_size), stat_key(st))


def _nothing() -> None:
    pass


def _worth_threads(todo: _Todo) -> bool:
    """Whether hashing `todo` is worth the pool's threads: files large enough on average
    that hashing and copying (which let go of the interpreter lock) outweigh the handing
    over of that lock at every system call (measured: 20,000 files of 100-1,000 bytes take
    2.2 s on one thread, 3.2 s on four)."""
    return bool(todo) and sum(size for _, size in todo) >= len(todo) * _THREADED_MEAN
