"""The cache's use lock: writers renew the objects they reuse under it, gc removes under it.

A writer (`add`, `fetch`/`pull`, a run logging a version) that names an object already in
the cache renews the object's mtime (a packed object: its pack's), holding the lock shared,
before it writes the manifest or version that names it; gc holds the lock exclusively while
it checks each object's mtime again and removes it. So either the renewal comes first (gc
sees a young object and keeps it) or the removal does (the writer finds the object gone and
stores it again). The lock is an flock on the cache's folder itself (no file of its own in
the cache): the kernel drops it when its process dies, and every wait for it has a deadline.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

from gitartifacts.core.localpacks import PENDING
from gitartifacts.core.objects import ObjectStore
from gitartifacts.core.shards import objects_present
from gitartifacts.errors import CacheError

WAIT = 120.0  # seconds: a gc holds the lock for one batch of removals, a writer for one renewal


@contextlib.contextmanager
def held(root: Path, *, exclusive: bool, wait: float = WAIT) -> Iterator[None]:
    """The cache's lock, shared (writers) or exclusive (gc), waited for up to `wait` s."""
    root.mkdir(parents=True, exist_ok=True)
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        _take(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH, root, wait)
        yield
    finally:
        os.close(fd)  # closing the file releases the flock


def renew(store: ObjectStore, digests: Iterable[str]) -> list[str]:
    """Set the mtime of each object among `digests` to now; the ones the cache lacks, in the
    order given. Call it holding the lock shared, and store the missing ones before letting
    go: a gc then running can no longer remove what the caller is about to name."""
    missing: list[str] = []
    packs: dict[str, list[str]] = {}
    unpacked: list[str] = []
    asked = list(digests)
    # Packed first: most small objects are, and a lookup in a mapped index costs no system
    # call where a loose object's lstat would fail; a batch is located pack by pack.
    located = store.packs.locate(asked)
    for d in asked:
        where = located.get(d)
        if where is None:
            unpacked.append(d)
        elif where.pack != PENDING:  # a pending pack is new whenever it is sealed
            packs.setdefault(where.pack, []).append(d)
    # Loose objects: a fetch asks about 10,000 it lacks at once, and a shard folder listed
    # once answers for all of them where an lstat each would fail one by one.
    loose = objects_present(f"{store.objects}/", unpacked)
    for d in unpacked:
        if d not in loose:
            missing.append(d)
            continue
        path = store.spath(d)
        try:
            if os.lstat(path).st_nlink > 1:
                # Linked into a work tree (`--link hardlink`): a gc keeps it (removing it
                # would free nothing), and a new mtime would make `status` hash the
                # work-tree file again.
                continue
            os.utime(path, follow_symlinks=False)
        except FileNotFoundError:
            missing.append(d)
        except PermissionError:
            continue  # another user's object in a shared cache: their gc's to keep
    return missing + _renew_packs(store, packs)


def _renew_packs(store: ObjectStore, packs: dict[str, list[str]]) -> list[str]:
    """Renew each pack by its mtime; of a pack a gc removed meanwhile, the objects no other
    pack holds (a repack's new pack is young: it needs no renewal)."""
    missing: list[str] = []
    for name, digests in sorted(packs.items()):
        try:
            os.utime(store.packs.pack_path(name), follow_symlinks=False)
        except PermissionError:
            continue
        except FileNotFoundError:
            store.packs.forget(name)
            missing += [d for d in digests if not store.has(d)]
    return missing


def _take(fd: int, how: int, root: Path, wait: float) -> None:
    deadline = time.monotonic() + wait
    delay = 0.005
    while True:
        try:
            fcntl.flock(fd, how | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                raise CacheError(
                    f"the cache {root} stayed locked for {wait:.0f} s by another "
                    "git artifacts command (a gc, or a writer renewing objects)",
                    "wait for it to end, then run this again",
                ) from None
            time.sleep(delay)
            delay = min(delay * 2, 0.1)
