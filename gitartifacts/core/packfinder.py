"""Finding digests among many pack indexes (`RecentFirst`): the few indexes that answered
last first, then one filter of all of them, and a batch located pack by pack. The local
cache's packs and a remote's view of its packs find objects through it."""

from __future__ import annotations

import threading
from collections.abc import Sequence

from gitartifacts.core.packformat import Filter, Located, PackIndex

# Lookups that no index answered before a finder builds one filter of all their digests.
UNION_AFTER = 1024


class _Union(Filter):
    """One filter of the digests of many indexes (16 bits and four probes: 0.25% false
    positives), so that a digest none of them holds costs four bit tests, not a filter
    per index. It may still hold the digests of an index since removed: a needless look."""

    def __init__(self, indexes: Sequence[PackIndex]) -> None:
        super().__init__(max(1 << 16, 2 * sum(i.count for i in indexes)), 16)
        self.members: set[str] = set()
        self.extend(indexes)

    def extend(self, indexes: Sequence[PackIndex]) -> _Union | None:
        """This filter, holding the digests of `indexes` too; None once it would pass its
        capacity (a new one is built when needed)."""
        new = [i for i in indexes if i.pack not in self.members]
        if self.count + sum(i.count for i in new) > self.capacity:
            return None
        for index in new:
            self.add(index)
            index.release()  # read whole: pages the kernel may drop (a pull adds hundreds)
            self.members.add(index.pack)
        return self


class RecentFirst:
    """Finds a digest among many indexes, trying first the few that answered last: objects
    are packed in the order a walk gives them and looked up in much the same order, so
    most lookups touch one index instead of all. An index that drops out of the few is
    released (`PackIndex.release`): a walk over a million objects keeps a few indexes'
    pages in memory, not every one.

    After `UNION_AFTER` digests that no index held (a fetch into a cache of hundreds of
    packs asks about every object it is about to bring), one filter of all the indexes'
    digests answers such lookups, and after a miss it is asked first: misses come in runs
    (in a fetch of a million objects, 3 s of recent indexes asked in vain). A finder made
    as packs come (`previous`) takes over that filter, adding the new indexes to it, or
    builds a larger one at once when they would overfill it."""

    KEEP = 4

    def __init__(
        self, indexes: Sequence[PackIndex] = (), previous: RecentFirst | None = None
    ) -> None:
        self.indexes = tuple(indexes)
        self._recent: tuple[PackIndex, ...] = ()
        self._misses = 0
        self.scans = 0  # lookups that went past the recent indexes to all of them
        self._union: _Union | None = None
        self._building = threading.Lock()
        self._missed = False  # the last lookup found nothing (a hint: threads may race)
        if previous is not None and previous._union is not None:
            self._union = previous._union.extend(self.indexes) or _Union(self.indexes)
            self._missed = previous._missed

    def find(self, raw: bytes) -> Located | None:
        union = self._union
        if self._missed and union is not None and not union.may_hold(raw):
            return None
        recent = self._recent  # one read: other threads may replace it meanwhile
        for index in recent:
            hit = index.find_raw(raw)
            if hit is not None:
                self._missed = False
                return hit
        if union is not None and not self._missed and not union.may_hold(raw):
            self._missed = True
            return None
        self.scans += 1
        for index in self.indexes:
            if index in recent:
                continue
            hit = index.find_raw(raw)
            if hit is not None:
                self._recent = (index, *recent[: self.KEEP - 1])
                for dropped in recent[self.KEEP - 1 :]:
                    dropped.release()
                self._missed = False
                return hit
        self._missed = True
        self._misses += 1
        if self._misses >= UNION_AFTER and union is None and len(self.indexes) > self.KEEP:
            self._build()
        return None

    def locate(self, order: Sequence[bytes]) -> dict[bytes, Located]:
        """Where each of `order` (raw digests) held in some index lies (any index holding
        it).

        Digests many next to all the indexes' records are located by one pass over every
        index. Fewer (a batch of 20,000 against a million) are located pack by pack: a
        digest looked up through `find`, which tries first the packs that answered last,
        names its pack, and one pass over that pack's records takes every digest of the
        batch it holds. A walk's batch lies in the few packs its writer made, so a fetch of
        a million objects looks up a few digests a pack where it looked up each one (7 s);
        however strewn a batch is, no pack is passed over twice."""
        out: dict[bytes, Located] = {}
        if not self.indexes or not order:
            return out
        wanted = set(order)
        if len(order) * 16 >= sum(index.count for index in self.indexes):
            for index in self.indexes:
                for raw, where in index.locate(wanted):
                    out.setdefault(raw, where)
                index.release()
            return out
        by_name = {index.pack: index for index in self.indexes}
        for raw in order:
            if raw not in wanted:
                continue  # taken by the pass over its pack
            hit = self.find(raw)
            if hit is None or (holder := by_name.get(hit.pack)) is None:
                continue
            found = list(holder.locate(wanted))
            holder.release()  # the pass read every page: `find` reads again what it uses
            out.update(found)
            wanted.difference_update(got for got, _ in found)
        for index in self.indexes:  # the lookups read a page of each index they went past
            index.release()
        return out

    def _build(self) -> None:
        if self._building.acquire(blocking=False):  # one thread builds, the others go on
            try:
                if self._union is None:
                    self._union = _Union(self.indexes)
            finally:
                self._building.release()
