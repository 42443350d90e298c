"""Fetching packed objects: whole packs when most of one is wanted, else byte ranges.

Objects wanted from one pack are read in ranges, neighbours merged into one read; when most
of a pack's bytes are wanted, the pack is streamed to a temporary file. Every object is
hashed before the local cache holds it; a corrupt or missing one is reported with its pack
after the others have landed.

A whole pack whose every object verifies becomes a pack of the local cache as it is, with
the remote's records as its index: one rename, where storing its objects one by one writes
every byte again and costs Python work per object (a fresh clone's pull of 100,000 small
files fetches a few dozen packs). All its objects are indexed, not only those wanted: a pack
kept twice (by two fetches, or two processes at once) gets the same index each time, so
neither loses what the other indexed.
"""

from __future__ import annotations

import contextlib
import hashlib
import mmap
import os
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import BinaryIO, NamedTuple

from gitartifacts.core.objects import ObjectStore
from gitartifacts.core.packformat import RECORD
from gitartifacts.core.parallel import parallel_map
from gitartifacts.core.pendingfiles import claimed, remove_orphans
from gitartifacts.core.redaction import redact
from gitartifacts.errors import CacheError
from gitartifacts.remote.keys import KeyIO
from gitartifacts.remote.objstore import TooLargeError
from gitartifacts.remote.packindex import Located, PackIndex
from gitartifacts.remote.packs import pack_key

# A pack is fetched whole when at least this share of its bytes is wanted.
WHOLE_SHARE = 0.5
# Wanted objects closer than this are read in one range (the bytes between are dropped).
GAP = 64 << 10
# One range read holds at most this many bytes (bounded memory per thread).
SPAN = 4 << 20


class Read(NamedTuple):
    """One request: a whole pack (`whole`) or one range of it, and the objects it carries."""

    pack: str
    start: int
    end: int
    objects: list[tuple[str, Located]]
    whole: bool


def fetch_packed(
    store: KeyIO,
    cache: ObjectStore,
    located: dict[str, Located],
    indexes: dict[str, PackIndex],
    jobs: int,
    progress: Callable[[int, int], object] | None = None,
) -> None:
    """Bring these packed objects into the cache, verified. Raises, once every other object
    has landed, naming the objects that were corrupt or missing and their packs."""
    reads = plan(located, {name: index.pack_size for name, index in indexes.items()})
    tmpdir = cache.tmp_dir()
    remove_orphans(tmpdir)  # the downloads of a fetch that was killed

    def run(read: Read) -> list[tuple[str, str]]:
        return _run(store, cache, tmpdir, read, indexes.get(read.pack), progress)

    bad = [b for found in parallel_map(run, reads, max(1, jobs)) for b in found]
    if bad:
        raise CorruptPackError(store.url, bad)


def plan(located: dict[str, Located], pack_sizes: dict[str, int]) -> list[Read]:
    """The requests that fetch `located`: per pack, the whole pack or merged ranges."""
    by_pack: dict[str, list[tuple[str, Located]]] = defaultdict(list)
    for digest, where in located.items():
        by_pack[where.pack].append((digest, where))
    reads: list[Read] = []
    for pack, objects in sorted(by_pack.items()):
        objects.sort(key=lambda o: o[1].offset)
        wanted = sum(w.length for _, w in objects)
        size = pack_sizes.get(pack, 0)
        if size and wanted >= WHOLE_SHARE * size:
            reads.append(Read(pack, 0, size, objects, True))
            continue
        reads.extend(_ranges(pack, objects))
    return reads


class CorruptPackError(CacheError):
    """Objects of packs on a remote that were corrupt or missing (`bad`: digest, pack), the
    others fetched. `naming` says which files they are, when the caller knows."""

    def __init__(self, url: str, bad: Sequence[tuple[str, str]], names: Sequence[str] = ()):
        self.url = url
        self.bad = list(bad)
        packs = sorted({p for _, p in bad})
        shown = list(names[:5]) or [d for d, _ in bad[:5]]
        more = f" and {len(bad) - len(shown)} more" if len(bad) > len(shown) else ""
        super().__init__(
            f"{len(bad)} object(s) in pack(s) {', '.join(p[:16] for p in packs)} on remote "
            f"{redact(url)} are corrupt or missing: {', '.join(shown)}{more}; the others "
            "were fetched",
            "run git artifacts push --check-remote in a clone that has them",
        )

    def naming(self, names: Sequence[str]) -> CorruptPackError:
        """The same error, naming the files (`<artifact>/<path>`) instead of the digests."""
        return CorruptPackError(self.url, self.bad, names) if names else self


def _ranges(pack: str, objects: list[tuple[str, Located]]) -> list[Read]:
    out: list[Read] = []
    group: list[tuple[str, Located]] = []
    start = end = 0
    for digest, where in objects:
        stop = where.offset + where.length
        if group and (where.offset - end > GAP or stop - start > SPAN):
            out.append(Read(pack, start, end, group, False))
            group = []
        if not group:
            start, end = where.offset, stop
        group.append((digest, where))
        end = max(end, stop)
    if group:
        out.append(Read(pack, start, end, group, False))
    return out


def _run(
    store: KeyIO,
    cache: ObjectStore,
    tmpdir: Path,
    read: Read,
    index: PackIndex | None,
    progress: Callable[[int, int], object] | None,
) -> list[tuple[str, str]]:
    """Do one read; (digest, pack) of each object that did not verify or was not there."""
    key = pack_key(read.pack)
    bad: list[tuple[str, str]] = []

    def land(digest: str, where: Located, data: bytes) -> None:
        if not _verified(digest, where, data):
            bad.append((digest, read.pack))
            return
        cache.add_bytes(data, digest)
        if progress is not None:
            progress(1, len(data))

    try:
        if read.whole:
            with claimed(tmpdir) as tmp:
                store._get_file(key, tmp, read.end)  # a pack's size: no more is taken
                if not _adopt(cache, tmp, read, index, progress):  # else one by one
                    fd = os.open(tmp, os.O_RDONLY)
                    try:
                        for digest, where in read.objects:  # one object in memory at a time
                            land(digest, where, os.pread(fd, where.length, where.offset))
                    finally:
                        os.close(fd)
        else:
            span = store._get_range(key, read.start, read.end)
            for digest, where in read.objects:
                at = where.offset - read.start
                land(digest, where, span[at : at + where.length])
    except (FileNotFoundError, TooLargeError):  # removed meanwhile (a gc), or not the pack
        return [(d, read.pack) for d, _ in read.objects]
    return bad


def _adopt(
    cache: ObjectStore,
    tmp: str,
    read: Read,
    index: PackIndex | None,
    progress: Callable[[int, int], object] | None,
) -> bool:
    """Make the whole pack at `tmp` a pack of the local cache, indexed by every record of
    its remote `index`, when every one of them verifies (else False, and nothing is kept)."""
    if not cache.pack_small or index is None:  # a cache of loose files only (links)
        return False
    whole = hashlib.sha256()
    rows = bytearray()
    with open(tmp, "rb") as f, _mapped(f) as view:
        size = len(view)
        if size != index.pack_size:
            return False
        try:
            for raw, offset, length in index.rows():
                if not _holds(view, raw, offset, length):
                    return False
                rows += RECORD.pack(raw, offset, length)
        finally:
            index.release()
        whole.update(view)
    cache.packs.seal_file(tmp, rows, size, whole.hexdigest())
    if progress is not None:
        progress(len(read.objects), sum(w.length for _, w in read.objects))
    return True


@contextlib.contextmanager
def _mapped(f: BinaryIO) -> Iterator[memoryview]:
    """The file's bytes, mapped (a pack is tens of MiB: none of it copied at once)."""
    if os.fstat(f.fileno()).st_size == 0:  # cannot be mapped; its objects are all short
        yield memoryview(b"")
        return
    with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as m:
        view = memoryview(m)
        try:
            yield view
        finally:
            view.release()


def _holds(view: memoryview, raw: bytes, offset: int, length: int) -> bool:
    """Whether the bytes at `offset` hash to `raw` (the slice dies here: a mapping with a
    live slice cannot be closed)."""
    data = view[offset : offset + length]
    return len(data) == length and hashlib.sha256(data).digest() == raw


def _verified(digest: str, where: Located, data: bytes) -> bool:
    return len(data) == where.length and "sha256:" + hashlib.sha256(data).hexdigest() == digest
