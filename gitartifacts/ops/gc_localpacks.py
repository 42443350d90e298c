"""gc of the local cache's packs: drop a pack nothing live is in, repack one mostly dead.

A pack whose mtime is within the grace period is kept whole: it is new, or a writer reusing
one of its objects renewed it (core/cachelock). Older packs: one with no live object goes
(its index first, so no reader finds objects in a pack being removed), one whose live bytes
are under `REPACK_SHARE` of it is rewritten with only those (the new pack and index first,
then the old index, then the old pack). Each pack is decided under the cache's lock held
exclusively, after a second look at its mtime. Packs with no readable index are removed
once as old: a writer killed before their index was in place.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Collection
from typing import NamedTuple

from gitartifacts.core import cachelock
from gitartifacts.core.fsio import temp_name, unlink_quiet, write_all
from gitartifacts.core.localpacks import LocalPacks
from gitartifacts.core.objects import ObjectStore
from gitartifacts.core.packformat import RECORD, Located, PackIndex

REPACK_SHARE = 0.5


class PackGc(NamedTuple):
    """What a gc did (or, dry, would do) to the local packs: objects and bytes removed,
    objects kept, packs rewritten."""

    removed: int
    bytes: int
    kept: int
    repacked: int


def collect(
    cache: ObjectStore, keep: Collection[str], before: float, dry_run: bool = False
) -> PackGc:
    """Drop or repack the packs older than `before` (seconds) by the live objects `keep`."""
    packs = cache.packs
    removed = size = kept = repacked = 0
    for name in packs.names():
        index = packs.index(name)
        if index is None:
            continue
        live = [(d, off, n) for d, off, n in index if d in keep]
        dead = index.count - len(live)
        live_bytes = sum(n for _, _, n in live)
        if not dead or live_bytes >= REPACK_SHARE * index.pack_size:
            kept += index.count
            continue
        if not dry_run and not _replace(cache, index, live, before):
            kept += index.count
            continue
        removed, size, kept = removed + dead, size + index.pack_size - live_bytes, kept + len(live)
        repacked += bool(live)
    if not dry_run:
        _remove_unindexed(packs, before)
    return PackGc(removed, size, kept, repacked)


def _replace(
    cache: ObjectStore, index: PackIndex, live: list[tuple[str, int, int]], before: float
) -> bool:
    """Under the lock: rewrite pack `index.pack` with only `live` (none: drop it), unless
    it was renewed since it was listed. Whether it was."""
    packs = cache.packs
    name = index.pack
    with cachelock.held(cache.root, exclusive=True):
        try:
            if os.stat(packs.pack_path(name)).st_mtime >= before:
                return False
        except FileNotFoundError:
            return False
        if live:
            _write_pack(cache, name, live)
        packs.forget(name)
        unlink_quiet(packs.index_path(name))
        unlink_quiet(packs.pack_path(name))
    return True


def _write_pack(cache: ObjectStore, old: str, live: list[tuple[str, int, int]]) -> None:
    """A new pack of the `live` objects of pack `old`, each verified on the way (a corrupt
    one takes the old pack out, as any read of it does)."""
    packs = cache.packs
    tmp = os.path.join(cache.tmp_dir(), f"pack-{temp_name()}")
    rows = bytearray()
    h = hashlib.sha256()
    offset = 0
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        for digest, at, length in live:
            data = packs.read(Located(old, at, length))
            if "sha256:" + hashlib.sha256(data).hexdigest() != digest:
                cache.read(digest)  # raises, after saving the good objects loose
            write_all(fd, data)
            h.update(data)
            rows += RECORD.pack(bytes.fromhex(digest[7:]), offset, length)
            offset += length
        os.close(fd)
        fd = -1
        packs.seal_file(tmp, rows, offset, h.hexdigest())
    finally:
        if fd >= 0:
            os.close(fd)
        unlink_quiet(tmp)


def _remove_unindexed(packs: LocalPacks, before: float) -> None:
    """Packs without a readable index, and indexes without their pack, older than `before`."""
    indexed = set(packs.names())
    try:
        entries = list(os.scandir(packs.folder))
    except FileNotFoundError:
        return
    for e in entries:
        stem, _, ext = e.name.partition(".")
        if ext not in ("pack", "idx") or (stem in indexed and ext == "pack"):
            continue
        if ext == "idx" and stem in indexed and os.path.exists(packs.pack_path(stem)):
            continue
        try:
            if e.stat(follow_symlinks=False).st_mtime < before:
                unlink_quiet(e.path)
        except FileNotFoundError:
            continue
