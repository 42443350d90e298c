"""The digest of every file of a folder walk, one folder at a time: from the stat cache,
else hashed (and stored in the cache on an add) on a pool fed a bounded queue of batches, the
new stat rows recorded as they come. Memory is the batches in flight, not the files."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from typing import NamedTuple

from gitartifacts.core.hashing import sha256_file
from gitartifacts.core.objects import ObjectStore
from gitartifacts.core.parallel import ordered_map
from gitartifacts.core.progress import Bar, Progress, phase
from gitartifacts.core.state import State, StatKey
from gitartifacts.core.workspace.scan import FolderWalk, Rows

# A batch for one thread: this many files, or files to hash of this many bytes, at most.
_BATCH_FILES = 512
_BATCH_MISS_FILES = 256
_BATCH_MISS_BYTES = 4 << 20
_RECORD_EVERY = 5000  # stat rows written to the state at once

# One folder's files with their digests: (name, digest, size), sorted by name bytes.
Digested = list[tuple[str, str, int]]


class _Part(NamedTuple):
    folder: str
    rows: Rows
    known: list[str | None]  # the stat cache's digest of each row, None for a miss


# Below this mean size of the files to hash, a batch is hashed on the walking thread.
_THREADED_MEAN = 64 * 1024


class DigestWalk:
    """(folder, digested files) for each folder of `walk`, in its order. `path` is the
    artifact's workspace path (the stat cache's keys are under it), `base` the folder on
    disk. After the walk, `trusted` is False when some file changed too recently for its
    stat to be trusted next time."""

    def __init__(
        self,
        walk: FolderWalk,
        state: State,
        path: str | None,
        base: str,
        store: ObjectStore | None = None,
        progress: Progress | None = None,
    ) -> None:
        self.walk = walk
        self.state = state
        self.prefix = "" if path in (None, ".", "") else f"{path}/"
        self.base = base
        self.store = store
        self.progress = progress
        self.trusted = True
        self._bar: Bar | None = None

    def __iter__(self) -> Iterator[tuple[str, Digested]]:
        started = time.time_ns()
        rows: list[tuple[str, StatKey, str]] = []
        folder: str | None = None
        files: Digested = []
        with contextlib.ExitStack() as bars:
            batches = self._batches(bars)
            for part, out, new in ordered_map(self._digest, batches, threaded=_worth_threads):
                rows += new
                if len(rows) >= _RECORD_EVERY:
                    self.trusted &= self.state.record(rows, started)
                    rows = []
                for f, got in zip(part, out, strict=True):
                    if f != folder and folder is not None:
                        yield folder, files
                        files = []
                    folder = f
                    files += got
            if folder is not None:
                yield folder, files
            self.trusted &= self.state.record(rows, started)

    def _batches(self, bars: contextlib.ExitStack) -> Iterator[list[_Part]]:
        """The walk's folders with their stat cache digests, cut into batches (a large
        folder into several; a big file to hash alone): runs in the caller's thread, the
        one that holds the state."""
        batch: list[_Part] = []
        n = misses = miss_bytes = 0
        for folder, rows in self.walk:
            known = self._looked_up(folder, rows)
            start = 0
            for i, row in enumerate(rows):
                n += 1
                if known[i] is None:
                    misses += 1
                    miss_bytes += row[3]
                    self._grow(bars, 1, row[3])
                if (
                    n >= _BATCH_FILES
                    or misses >= _BATCH_MISS_FILES
                    or miss_bytes >= _BATCH_MISS_BYTES
                ):
                    batch.append(_Part(folder, rows[start : i + 1], known[start : i + 1]))
                    yield batch
                    batch, n, misses, miss_bytes, start = [], 0, 0, 0, i + 1
            if start < len(rows):
                batch.append(_Part(folder, rows[start:], known[start:]))
        if batch:
            yield batch

    def _looked_up(self, folder: str, rows: Rows) -> list[str | None]:
        """The stat cache's digest of each row, None for a miss."""
        keys = [f"{self.prefix}{folder}/{r[0]}" if folder else self.prefix + r[0] for r in rows]
        hits = self.state.lookup_paths(keys)
        known: list[str | None] = []
        for key, (_, ino, mtime, size, ctime) in zip(keys, rows, strict=True):
            hit = hits.get(key)
            known.append(
                hit[1] if hit is not None and hit[0] == (ino, mtime, size, ctime) else None
            )
        return known

    def _grow(self, bars: contextlib.ExitStack, files: int, size: int) -> None:
        """Count more files to hash: the bar opens at the first and grows with the walk."""
        if self._bar is None:
            self._bar = bars.enter_context(phase(self.progress, "Hashing", files=files, bytes=size))
            return
        self._bar.grow(files, size)

    def _digest(
        self, batch: list[_Part]
    ) -> tuple[list[str], list[Digested], list[tuple[str, StatKey, str]]]:
        """One batch on a worker thread: the cache's digests checked, the misses hashed."""
        folders, out, new = [], [], []
        for folder, rows, known in batch:
            got: Digested = []
            for (name, ino, mtime, size, ctime), digest in zip(rows, known, strict=True):
                if digest is not None and (self.store is None or self.store.has(digest)):
                    got.append((name, digest, size))
                    continue
                rel = f"{folder}/{name}" if folder else name
                full = os.path.join(self.base, rel)
                if self.store is not None:
                    digest, got_size = self.store.add_file(full, size)
                else:
                    digest, got_size = sha256_file(full)
                if self._bar is not None:
                    self._bar.advance(files=1, bytes=got_size)
                got.append((name, digest, got_size))
                if got_size == size:
                    new.append((self.prefix + rel, (ino, mtime, size, ctime), digest))
            folders.append(folder)
            out.append(got)
        return folders, out, new


def _worth_threads(batch: list[_Part]) -> bool:
    """Whether a batch's hashing is worth the pool's threads: files large enough on average
    that hashing and copying (which let go of the interpreter lock) outweigh the handing
    over of that lock at every system call (measured: 20,000 files of 100-1,000 bytes take
    2.2 s on one thread, 3.2 s on four)."""
    misses = size = 0
    for part in batch:
        for row, digest in zip(part.rows, part.known, strict=True):
            if digest is None:
                misses += 1
                size += row[3]
    return misses > 0 and size >= misses * _THREADED_MEAN
