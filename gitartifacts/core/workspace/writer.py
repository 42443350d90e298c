"""Writing a checkout's stored files a group at a time, the batches of a group shared
between this process and a forked one (see `forked`)."""

from __future__ import annotations

import os

from gitartifacts.core.forked import shared_map
from gitartifacts.core.objects import ObjectStore
from gitartifacts.core.parallel import batches
from gitartifacts.core.progress import Bar
from gitartifacts.core.state import State, StatKey, stat_key
from gitartifacts.core.workspace.plan import Checkout
from gitartifacts.core.workspace.status import state_key

# Stat-cache rows recorded at once, at most.
_RECORD_ROWS = 20_000


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

    def run(self, group: dict[str, tuple[str, int, bool]], bar: Bar) -> dict[str, StatKey]:
        """Write the files of `group` (path under base -> digest, size, whether a file is
        there now) and record their stat-cache rows; their stat data, by path."""
        self.stored, self.bar = group, bar
        os.makedirs(self.base, exist_ok=True)
        stats: dict[str, StatKey] = {}
        rows: list[tuple[str, StatKey, str]] = []
        work = batches(list(group), lambda rel: group[rel][1])
        for written in shared_map(self.write, work, done=self.done):
            for rel, st, digest in written:
                stats[rel] = st
                rows.append((state_key(self.path, rel), st, digest))
            if len(rows) >= _RECORD_ROWS:
                self._record(rows)
                rows = []
        self._record(rows)
        return stats

    def write(self, batch: list[str]) -> list[tuple[str, StatKey, str]]:
        """Write the files of `batch` (in this process or a forked one); (path under base,
        stat data, digest) of each."""
        res = []
        for rel in batch:
            self._make_parent(rel)
            digest, size, replaces = self.stored[rel]
            # A small packed object is read and verified here, then written from memory.
            data = self.store.bytes_to_copy(digest, size) if self.copying and not replaces else None
            st = self.store.materialize(digest, os.path.join(self.base, rel), self.link, data)
            res.append((rel, stat_key(st), digest))
        return res

    def done(self, batch: list[str]) -> None:
        """A batch is written (by either process): the bar moves."""
        self.bar.advance(files=len(batch), bytes=sum(self.stored[rel][1] for rel in batch))

    def _record(self, rows: list[tuple[str, StatKey, str]]) -> None:
        # We wrote these bytes ourselves from verified objects: their stat is trusted.
        self.state.record(rows, started_ns=1 << 62)

    def _make_parent(self, rel: str) -> None:
        parent = os.path.dirname(rel)
        if parent and parent not in self.made:
            os.makedirs(os.path.join(self.base, parent), exist_ok=True)
            self.made.add(parent)
