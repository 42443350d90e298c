"""Writing a checkout's stored files a group at a time, with the objects read ahead of the
writes."""

from __future__ import annotations

import os

from gitartifacts.core.objects import SMALL, ObjectStore
from gitartifacts.core.parallel import batches, read_ahead_chunks
from gitartifacts.core.progress import Bar
from gitartifacts.core.state import State, StatKey, stat_key
from gitartifacts.core.workspace.plan import Checkout
from gitartifacts.core.workspace.status import state_key

# Object reads waiting on the disk at once during a checkout, at most.
READERS = 8
# Object bytes read ahead and not yet written during a checkout, at most (beyond one batch).
_READ_AHEAD_BYTES = 24 << 20

# Each file's object bytes as read ahead (None: written from the cache's file).
Read = list[bytes | None]


class FileWriter:
    """Writes the stored files of one checkout `job`, a group of files at a time (`run`)."""

    def __init__(self, state: State, store: ObjectStore, job: Checkout) -> None:
        self.state = state
        self.store = store
        self.base, self.path, self.link = job.base, job.path, job.link
        self.copying = job.link in ("copy", "reflink")
        self.bar = Bar("", 0, 0)
        self.stored: dict[str, tuple[str, int, bool]] = {}  # the group: (digest, size, replaces)
        self.made: set[str] = set()

    def run(self, group: dict[str, tuple[str, int, bool]], bar: Bar) -> None:
        """Write the files of `group` (path under base -> digest, size, whether a file is
        there now) and record their stat-cache rows."""
        self.stored, self.bar = group, bar
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
        """The bytes of the small objects to be copied into new files, read ahead (many
        reads wait on the disk at once)."""
        out: Read = []
        for rel in batch:
            digest, size, replaces = self.stored[rel]
            copy = self.copying and not replaces
            out.append(self.store.bytes_to_copy(digest, size) if copy else None)
        return out

    def write(self, batch: list[str], data: Read) -> list[tuple[str, StatKey, str]]:
        """Write the files of `batch`; their stat-cache rows."""
        res = []
        for rel, content in zip(batch, data, strict=True):
            self._make_parent(rel)
            digest, _, _ = self.stored[rel]
            st = self.store.materialize(digest, os.path.join(self.base, rel), self.link, content)
            res.append((state_key(self.path, rel), stat_key(st), digest))
        self.bar.advance(files=len(batch), bytes=sum(self.stored[r][1] for r in batch))
        return res

    def in_memory(self, batch: list[str]) -> int:
        """At most the bytes `read` holds for this batch (none of objects over SMALL)."""
        if not self.copying:
            return 0
        held = [size for _, size, replaces in map(self.stored.__getitem__, batch) if not replaces]
        return sum(size for size in held if size <= SMALL)

    def _make_parent(self, rel: str) -> None:
        parent = os.path.dirname(rel)
        if parent and parent not in self.made:
            os.makedirs(os.path.join(self.base, parent), exist_ok=True)
            self.made.add(parent)
