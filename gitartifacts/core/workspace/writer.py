"""Writing a checkout's stored files: objects read ahead of the writes, fetched on the way
when the checkout only creates files, and everything made taken back should a fetch fail."""

from __future__ import annotations

import os

from gitartifacts.core.fsio import unlink_quiet
from gitartifacts.core.objects import SMALL, ObjectStore
from gitartifacts.core.parallel import batches, read_ahead_chunks
from gitartifacts.core.progress import Bar, Progress, phase
from gitartifacts.core.state import State, StatKey, stat_key
from gitartifacts.core.workspace.folders import first_missing_dir, remove_empty_up_to
from gitartifacts.core.workspace.plan import Checkout, Fetcher
from gitartifacts.core.workspace.status import state_key

# Object reads waiting on the disk at once during a checkout, at most.
READERS = 8
# Object bytes read ahead and not yet written during a checkout, at most (beyond one batch).
_READ_AHEAD_BYTES = 24 << 20

# Each file's object bytes as read ahead, and whether they still need verifying.
Read = list[tuple[bytes | None, bool]]


class FileWriter:
    """Writes the stored entries' files of one checkout `job`. Objects in `absent` are fetched as
    their files are written (then every file and folder made is taken back should a fetch
    fail); `current` holds the files already there (path -> digest)."""

    def __init__(
        self,
        state: State,
        store: ObjectStore,
        job: Checkout,
        current: dict[str, str],
        absent: set[str],
        fetcher: Fetcher | None,
        progress: Progress | None,
    ) -> None:
        self.state = state
        self.store = store
        self.stored = {p: e for p, e in job.entries.items() if e.ref is None}
        self.base, self.path, self.link = job.base, job.path, job.link
        self.copying = job.link in ("copy", "reflink")
        self.current = current
        self.absent = absent
        self.fetcher = fetcher
        self.progress = progress
        self.bar = Bar("", 0, 0)  # the phase's bar once `run` starts
        self.fused = bool(absent)
        self.made: set[str] = set()
        self.created: list[str] = []  # new files, removed again should a fetch fail
        self.new_dirs: list[tuple[str, str | None]] = []  # (folder, outermost new one)

    def run(self, write: list[str]) -> None:
        """Write the files `write` (stored entries)."""
        base = self.base
        first_new = first_missing_dir(base)
        if write:
            os.makedirs(base, exist_ok=True)
        # Creating files is the kernel's work: two threads overlap it with ours; more only
        # contend. Reading the objects waits on the disk when they are not in memory (after
        # a while, or on a busy machine), so many reads run at once, ahead of the writes.
        rows_in = read_ahead_chunks(
            self.read,
            self.write,
            batches(write, lambda r: self.stored[r].size),
            readers=READERS,
            writers=2,
            weight=self.in_memory,
            budget=_READ_AHEAD_BYTES,
        )
        total = sum(self.stored[p].size for p in write)
        try:
            with phase(self.progress, "Checking out", files=len(write), bytes=total) as bar:
                self.bar = bar
                for rows in rows_in:
                    # We wrote these bytes ourselves from verified objects: their stat is
                    # trusted.
                    self.state.record(rows, started_ns=1 << 62)
        except Exception:
            if self.fused:  # a fetch failed: take back what this checkout made
                self.undo(first_new)
            raise

    def read(self, batch: list[str]) -> Read:
        """The bytes of the objects to be written into new files, read ahead (many reads
        wait on the disk at once): from the cache, or from the remote for an object still
        to be fetched (True: not yet verified; `write` hashes them, stores them in the cache
        and writes the file from them, so that each object is read once)."""
        out: Read = []
        for rel in batch:
            e = self.stored[rel]
            if e.digest in self.absent:
                assert self.fetcher is not None
                raw = self.fetcher.read(e.digest)
                out.append((raw, raw is not None))
            elif self.copying and rel not in self.current:
                out.append((self.store.bytes_to_copy(e.digest, e.size), False))
            else:
                out.append((None, False))
        return out

    def write(self, batch: list[str], data: Read) -> list[tuple[str, StatKey, str]]:
        """Write the files of `batch`; their stat-cache rows."""
        res = []
        for rel, (content, unverified) in zip(batch, data, strict=True):
            self._make_parent(rel)
            digest = self.stored[rel].digest
            if unverified or digest in self.absent:
                assert self.fetcher is not None
                got = self.fetcher.one(digest, content if unverified else None)  # hashed here
                self.absent.discard(digest)  # only now: a copy elsewhere may read the cache
                size = self.stored[rel].size
                content = self.store.bytes_to_copy(digest, size, got) if self.copying else None
            st = self.store.materialize(digest, os.path.join(self.base, rel), self.link, content)
            if self.fused:
                self.created.append(rel)
            res.append((state_key(self.path, rel), stat_key(st), digest))
        self.bar.advance(files=len(batch), bytes=sum(self.stored[r].size for r in batch))
        return res

    def in_memory(self, batch: list[str]) -> int:
        """At most the bytes `read` holds for this batch (none of objects over SMALL)."""
        held = [
            r
            for r in batch
            if self.stored[r].digest in self.absent or (self.copying and r not in self.current)
        ]
        return sum(self.stored[r].size for r in held if self.stored[r].size <= SMALL)

    def undo(self, first_new: str | None) -> None:
        """Remove the files and folders this checkout made (`first_new`: the outermost
        folder of `base` that did not exist before)."""
        for rel in self.created:
            unlink_quiet(os.path.join(self.base, rel))
        for folder, top in sorted(self.new_dirs, key=lambda d: len(d[0]), reverse=True):
            remove_empty_up_to(folder, top)
        remove_empty_up_to(self.base, first_new)

    def _make_parent(self, rel: str) -> None:
        parent = os.path.dirname(rel)
        if parent and parent not in self.made:
            full = os.path.join(self.base, parent)
            if self.fused:  # what a failed fetch must take back, even with no file in it
                self.new_dirs.append((full, first_missing_dir(full)))
            os.makedirs(full, exist_ok=True)
            self.made.add(parent)
