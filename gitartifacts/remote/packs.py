"""Packs on a remote: small objects sent many to one object, found through pack indexes.

`<root>/packs/<sha256 of the pack>.pack` holds objects of at most `SMALL` bytes back to back;
`<root>/packs/<same>.idx` (packindex.py) says where each lies. A pack is uploaded whole
(create-only) before its index, so an index only ever names a complete pack; a pack with no
index is not yet (or no longer) there for readers, and gc removes it after the grace period.
Indexes never change (their name is their pack's hash): each is downloaded once and kept
under the clone's `.git/artifacts/packidx/`.
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import NamedTuple

from gitartifacts.core.fsio import temp_name, unlink_quiet, write_all, write_atomic
from gitartifacts.core.objects import SMALL, ObjectStore, not_cached
from gitartifacts.core.parallel import parallel_map
from gitartifacts.core.redaction import redact
from gitartifacts.remote import packindex
from gitartifacts.remote.keys import KeyInfo, KeyIO
from gitartifacts.remote.objstore import TooLargeError
from gitartifacts.remote.packindex import Located, PackIndex, RecentFirst, map_index

PREFIX = "packs/"
# A push with fewer small objects than this sends them loose: a pack saves nothing there.
PACK_MIN = 8
# Size of a pack: about the total divided among the upload threads, within these bounds.
PACK_TARGET = 32 << 20
PACK_FLOOR = 4 << 20
_KEY_RE = re.compile(r"^packs/([0-9a-f]{64})\.(pack|idx)\Z")
_KEPT_RE = re.compile(r"([0-9a-f]{64})\.idx")  # an index kept under the clone's packidx/


class PackListing(NamedTuple):
    """The keys under `packs/`: pack name -> its `.pack` and `.idx` listing entries."""

    packs: dict[str, KeyInfo]
    indexes: dict[str, KeyInfo]


class PackView:
    """What a remote's complete packs hold: those with an index and a pack of its size."""

    def __init__(self, indexes: Sequence[PackIndex], listing: PackListing) -> None:
        self.indexes = list(indexes)
        self.listing = listing
        self._finder = RecentFirst(self.indexes)

    def locate(self, digests: Iterable[str]) -> dict[str, Located]:
        """Where each of `digests` held in some pack lies (`RecentFirst.locate`)."""
        located = self._finder.locate([bytes.fromhex(d[7:]) for d in digests])
        return {"sha256:" + raw.hex(): where for raw, where in located.items()}

    def find(self, digest: str) -> Located | None:
        return self._finder.find(bytes.fromhex(digest[7:]))


class Packs:
    """A remote's packs as this process knows them, with the indexes it has read."""

    def __init__(self, store: KeyIO) -> None:
        self.store = store
        self.index_dir: Path | None = None  # the clone's copy of the indexes, if any
        self._loaded: dict[str, PackIndex] = {}
        self._view: PackView | None = None
        self._partial = False  # `_view` leaves out the packs this process sent
        self.sent: set[str] = set()  # names of the packs this process sent
        self._lock = threading.Lock()

    @property
    def last(self) -> PackView | None:
        """The view `view` gave last, if any."""
        return self._view

    def view(self, refresh: bool = True, skip_sent: bool = False) -> PackView:
        """The remote's packs: listed again unless `refresh` is off and they were listed.
        With `skip_sent`, the packs this process sent are left out (a push records their
        objects as it goes, so their indexes need not be read back and held)."""
        with self._lock:
            if self._view is None or refresh or (self._partial and not skip_sent):
                self._view = self._read_view(skip_sent)
                self._partial = skip_sent
            return self._view

    def _read_view(self, skip_sent: bool) -> PackView:
        listing = list_packs(self.store)
        self._trim(listing)
        names = [n for n, info in listing.indexes.items() if n in listing.packs and info.size > 0]
        if skip_sent:
            names = [n for n in names if n not in self.sent]
        new = [n for n in names if n not in self._loaded]
        for n in new:  # the listing's size: a huge index is refused before it is read
            if listing.indexes[n].size > packindex.INDEX_LIMIT:
                raise packindex.unreadable(n, f"remote {redact(self.store.url)}", "too large")
        for name, index in zip(new, parallel_map(self._load, new, 8), strict=True):
            self._loaded[name] = index
        complete = [
            self._loaded[n]
            for n in sorted(names)
            if self._loaded[n].pack_size == listing.packs[n].size
        ]
        return PackView(complete, listing)

    def forget(self, name: str) -> None:
        """Drop what this clone keeps of pack `name` (a gc is removing it)."""
        with self._lock:
            self._loaded.pop(name, None)
        if self.index_dir is not None:
            unlink_quiet(self.index_dir / f"{name}.idx")

    def _trim(self, listing: PackListing) -> None:
        """Forget the kept indexes of packs the remote no longer lists (a gc removed them):
        the copies are only a cache, so one a racing push adds back is read again."""
        if self.index_dir is None:
            return
        try:
            with os.scandir(self.index_dir) as it:
                gone = [
                    e.path
                    for e in it
                    if (m := _KEPT_RE.fullmatch(e.name)) and m.group(1) not in listing.indexes
                ]
        except (FileNotFoundError, NotADirectoryError):
            return
        for path in gone:
            unlink_quiet(path)
        for name in [n for n in self._loaded if n not in listing.indexes]:
            del self._loaded[name]

    def _load(self, name: str) -> PackIndex:
        where = redact(self.store.url)
        kept = self.index_dir / f"{name}.idx" if self.index_dir is not None else None
        if kept is not None and (index := _kept(name, kept)) is not None:
            return index
        try:  # the listing's size was checked, but the bytes that come are what counts
            data = self.store._get_key(index_key(name), packindex.INDEX_LIMIT)
        except TooLargeError:
            raise packindex.unreadable(name, f"remote {where}", "too large") from None
        index = packindex.decode(name, data, f"remote {where}")
        if kept is None:
            return index
        kept.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(kept, data)
        return _kept(name, kept) or index


def _kept(name: str, path: Path) -> PackIndex | None:
    """The clone's copy of an index, mapped: its pages count in memory only while lookups
    use them (a million objects' indexes are 48 MB). None when absent, or damaged (then
    removed, to be read again from the remote)."""
    try:
        index = map_index(name, str(path), packindex.problem)
    except FileNotFoundError:
        return None
    except OSError:
        index = None
    if index is None:
        unlink_quiet(path)
    return index


def list_packs(store: KeyIO) -> PackListing:
    """The packs and indexes under `packs/` (other names there are left out)."""
    out = PackListing({}, {})
    found = [(m, info) for info in store._list_keys(PREFIX) if (m := _KEY_RE.match(info.key))]
    if store.protocol in ("http", "https"):  # a directory page says no size: a HEAD each
        sizes = parallel_map(lambda f: store._size_of(f[1].key), found, 8)
        found = [(m, info._replace(size=n)) for (m, info), n in zip(found, sizes, strict=True)]
    for m, info in found:
        (out.packs if m.group(2) == "pack" else out.indexes)[m.group(1)] = info
    return out


def pack_key(name: str) -> str:
    return f"{PREFIX}{name}.pack"


def index_key(name: str) -> str:
    return f"{PREFIX}{name}.idx"


def upload_packs(
    store: KeyIO,
    cache: ObjectStore,
    digests: Sequence[str],
    sizes: dict[str, int],
    jobs: int,
    progress: Callable[[int, int], object] | None = None,
) -> list[str]:
    """Send these small cache objects in packs, several packs at once: each pack whole
    (create-only), then its index. `progress(files, bytes)` is called per pack once its pack
    and index are on the remote. The names of the packs sent."""
    groups = split(digests, sizes, jobs)
    tmpdir = cache.tmp_dir()
    names: list[str] = []

    def send(group: list[str]) -> None:
        tmp = tmpdir / f"pack-{temp_name()}"
        try:
            name, records, size = build(cache, group, tmp)
            store._put_key(pack_key(name), str(tmp))
        finally:
            unlink_quiet(tmp)
        store._put_key(index_key(name), packindex.encode(records, size))
        names.append(name)
        if progress is not None:
            progress(len(group), sum(sizes[d] for d in group))

    parallel_map(send, groups, max(1, min(jobs, len(groups))))
    return names


def split(digests: Sequence[str], sizes: dict[str, int], jobs: int) -> list[list[str]]:
    """The objects in groups of about equal bytes, one pack each: enough groups to keep
    `jobs` uploads busy, none over `PACK_TARGET` bytes unless a single object is."""
    total = sum(sizes[d] for d in digests)
    target = max(PACK_FLOOR, min(PACK_TARGET, total // max(1, jobs) + 1))
    groups: list[list[str]] = [[]]
    filled = 0
    for d in digests:
        if groups[-1] and filled + sizes[d] > target:
            groups.append([])
            filled = 0
        groups[-1].append(d)
        filled += sizes[d]
    return [g for g in groups if g]


def build(
    cache: ObjectStore, digests: Sequence[str], dest: Path
) -> tuple[str, list[tuple[str, int, int]], int]:
    """Write the verified bytes of these cache objects one after another into `dest`,
    hashing as it goes. (the pack's name, its (digest, offset, length) records, its size)"""
    h = hashlib.sha256()
    records: list[tuple[str, int, int]] = []
    offset = 0
    fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        for d in digests:
            data = cache.read_checked(d, SMALL)  # a corrupt object is moved aside: raises
            if data is None:
                raise not_cached(d, ", so it cannot be pushed")
            write_all(fd, data)
            h.update(data)
            records.append((d, offset, len(data)))
            offset += len(data)
    finally:
        os.close(fd)
    return h.hexdigest(), records, offset
