"""Writing a checkout's stored files a group at a time: objects read ahead of the writes, and
fetched on the way when the checkout only creates files."""

from __future__ import annotations

import os

from gitartifacts.core.objects import SMALL, ObjectStore
from gitartifacts.core.parallel import batches, read_ahead_chunks
from gitartifacts.core.progress import Bar
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
    """Writes the stored files of one checkout `job`, a group of files at a time (`run`).
    When `fused`, the objects the cache lacks are fetched as their files are written; the
    folders made are noted for `undo_dirs` should a fetch fail."""

    def __init__(
        self,
        state: State,
        store: ObjectStore,
        job: Checkout,
        fetcher: Fetcher | None,
        fused: bool,
    ) -> None:
        self.state = state
        self.store = store
        self.base, self.path, self.link = job.base, job.path, job.link
        self.copying = job.link in ("copy", "reflink")
        self.fetcher = fetcher
        self.fused = fused
        self.bar = Bar("", 0, 0)
        self.stored: dict[str, tuple[str, int, bool]] = {}  # the group: (digest, size, replaces)
        self.absent: set[str] = set()
        self.made: set[str] = set()
        self.new_dirs: list[tuple[str, str | None]] = []  # (folder, outermost new one)

    def run(self, group: dict[str, tuple[str, int, bool]], bar: Bar) -> None:
        """Write the files of `group` (path under base -> digest, size, whether a file is
        there now) and record their stat-cache rows."""
        self.stored, self.bar = group, bar
        if self.fused:
            self.absent = set(self.store.missing(list({d for d, _, _ in group.values()})))
        os.makedirs(self.base, exist_ok=True)
        # Creating files is the kernel's work: two threads overlap it with ours; more only
        # contend. Reading the objects waits on the disk when they are not in memory (after
        # a while, or on a busy machine), so many reads run at once, ahead of the writes.
        rows_in = read_ahead_chunks(
            self.read,
            self.write,
            batches(list(group), lambda r: group[r][1]),
            readers=READERS,
            writers=2,
            weight=self.in_memory,
            budget=_READ_AHEAD_BYTES,
        )
        for rows in rows_in:
            # We wrote these bytes ourselves from verified objects: their stat is trusted.
            self.state.record(rows, started_ns=1 << 62)

    def read(self, batch: list[str]) -> Read:
        """The bytes of the objects to be written into new files, read ahead (many reads
        wait on the disk at once): from the cache, or from the remote for an object still
        to be fetched (True: not yet verified; `write` hashes them, stores them in the cache
        and writes the file from them, so that each object is read once)."""
        out: Read = []
        for rel in batch:
            digest, size, replaces = self.stored[rel]
            if digest in self.absent:
                assert self.fetcher is not None
                raw = self.fetcher.read(digest)
                out.append((raw, raw is not None))
            elif self.copying and not replaces:
                out.append((self.store.bytes_to_copy(digest, size), False))
            else:
                out.append((None, False))
        return out

    def write(self, batch: list[str], data: Read) -> list[tuple[str, StatKey, str]]:
        """Write the files of `batch`; their stat-cache rows."""
        res = []
        for rel, (content, unverified) in zip(batch, data, strict=True):
            self._make_parent(rel)
            digest, size, _ = self.stored[rel]
            if unverified or digest in self.absent:
                assert self.fetcher is not None
                got = self.fetcher.one(digest, content if unverified else None)  # hashed here
                self.absent.discard(digest)  # only now: a copy elsewhere may read the cache
                content = self.store.bytes_to_copy(digest, size, got) if self.copying else None
            st = self.store.materialize(digest, os.path.join(self.base, rel), self.link, content)
            res.append((state_key(self.path, rel), stat_key(st), digest))
        self.bar.advance(files=len(batch), bytes=sum(self.stored[r][1] for r in batch))
        return res

    def in_memory(self, batch: list[str]) -> int:
        """At most the bytes `read` holds for this batch (none of objects over SMALL)."""
        held = [
            self.stored[r][1]
            for r in batch
            if self.stored[r][0] in self.absent or (self.copying and not self.stored[r][2])
        ]
        return sum(size for size in held if size <= SMALL)

    def undo_dirs(self, first_new: str | None) -> None:
        """Remove the folders this checkout made, when empty (`first_new`: the outermost
        folder of `base` that did not exist before)."""
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
