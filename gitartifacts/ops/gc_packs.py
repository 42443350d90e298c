"""`gc --remote` of packs: drop packs with no live object, repack those mostly dead.

Only packs older than the grace period are touched (a pack is as old as its objects). A pack
whose live objects are under `REPACK_SHARE` of its bytes is repacked: its live objects are
fetched into the local cache (verified), sent as a new pack and index, and only then is the
old index removed, then the old pack. Every step leaves each live object in some complete
pack: a crash before the old index goes leaves duplicates (harmless; the next gc repacks
again), one between the index and the pack leaves a pack with no index (garbage after the
grace period). A pack with no index and an index with no pack are removed once old.
"""

from __future__ import annotations

from typing import NamedTuple

from gitartifacts.core.objects import ObjectStore
from gitartifacts.errors import CacheError
from gitartifacts.remote import packs
from gitartifacts.remote.packindex import PackIndex
from gitartifacts.remote.store import RemoteStore

# A pack whose live bytes fall under this share of its size is rewritten.
REPACK_SHARE = 0.5


class PackPlan(NamedTuple):
    """What gc does to a remote's packs."""

    drop: list[str]  # packs with no live object: index, then pack
    repack: list[PackIndex]  # packs mostly dead
    strays: list[str]  # keys of old packs with no index and old indexes with no pack
    removed: int  # dead objects that go
    freed: int  # their bytes
    kept: int  # objects in packs that stay, or move to a new pack

    @property
    def work(self) -> bool:
        return bool(self.drop or self.repack or self.strays)


def plan(store: RemoteStore, keep: set[str], before: float) -> PackPlan:
    """Decide, from the remote's pack listing and indexes, what goes."""
    view = store.pack_view()
    out = PackPlan([], [], [], 0, 0, 0)
    removed = freed = kept = 0
    for index in view.indexes:
        live_bytes = live = 0
        for digest, _, length in index:
            if digest in keep:
                live_bytes += length
                live += 1
        dead = index.count - live
        old = _mtime(view.listing, index.pack) < before
        if not old or (dead == 0) or (live and live_bytes >= REPACK_SHARE * index.pack_size):
            kept += index.count
            continue
        if live:
            out.repack.append(index)
        else:
            out.drop.append(index.pack)
        removed += dead
        freed += index.pack_size - live_bytes
        kept += live
    listing = view.listing
    out.strays.extend(
        packs.pack_key(n)
        for n, info in listing.packs.items()
        if n not in listing.indexes and info.mtime < before
    )
    out.strays.extend(
        packs.index_key(n)
        for n, info in listing.indexes.items()
        if n not in listing.packs and info.mtime < before
    )
    return out._replace(removed=removed, freed=freed, kept=kept)


def apply(store: RemoteStore, cache: ObjectStore, todo: PackPlan, keep: set[str], jobs: int) -> int:
    """Carry out `todo`; the number of packs left as they were because a live object in
    them did not verify (what verified is in the local cache now; the pack stays)."""
    failed = 0
    for index in todo.repack:
        live = [d for d, _, _ in index if d in keep]
        try:
            store.download(cache, live, jobs=jobs)
        except CacheError:
            failed += 1
            continue
        sizes = {d: length for d, _, length in index if d in keep}
        store.send_pack_of(cache, live, sizes, jobs)
        _remove(store, index.pack)
    for name in todo.drop:
        _remove(store, name)
    store.remove_keys(todo.strays)
    return failed


def _remove(store: RemoteStore, name: str) -> None:
    """The index first: no reader is ever sent to a pack that is gone."""
    store.remove_keys([packs.index_key(name), packs.pack_key(name)])
    store.packs.forget(name)


def _mtime(listing: packs.PackListing, name: str) -> float:
    """A pack is as young as the newer of its two keys."""
    return max(listing.packs[name].mtime, listing.indexes[name].mtime)
