"""Packs of the local cache: small objects stored many to a file, found through indexes.

`<root>/packs/<sha256 of the pack>.pack` holds objects of at most `SMALL` bytes back to back,
`<root>/packs/<same>.idx` (core/packformat.py) says where each lies. Writers gather small
objects into a pending pack, a temporary file under `<root>/tmp/`, sealed at `SEAL_AT` bytes
and at `flush`: the pack is renamed into `packs/`, then its index, so an index present
implies its pack complete. A process killed before that leaves a temporary file, or a pack
without an index; gc removes either after the grace period. Packs never change; gc replaces
them whole.

Indexes are memory-mapped and searched in place (48 bytes an object, no Python object per
entry), so a million packed objects cost a few file mappings. The list of packs is read
again when a lookup misses and `packs/` changed since it was read.
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import os
import re
import threading
import time
import weakref
from collections.abc import Callable, Collection, Iterator, Sequence
from pathlib import Path

from gitartifacts.core.fsio import temp_name, unlink_quiet, write_all
from gitartifacts.core.packfinder import RecentFirst
from gitartifacts.core.packformat import (
    RECORD,
    Located,
    PackIndex,
    encode_raw,
    map_index,
    quick_problem,
)
from gitartifacts.core.pendingfiles import create_locked, remove_orphans

PACK_DIR = "packs"
# A pending pack is sealed once it holds this many bytes.
SEAL_AT = 32 << 20
# A flush with fewer objects than this writes them loose: a pack saves nothing there.
PACK_MIN = 8
# Bytes a pending pack holds in memory before they are written to its file.
_BUFFER = 1 << 20
# `Located.pack` of an object still in the pending pack.
PENDING = ""
# Seconds a miss trusts the last look at `packs/` (see `find`).
RECHECK = 0.05
_ABSENT = (0, 0)  # the stamp of a cache with no `packs/` yet
_OPEN: weakref.WeakValueDictionary[str, LocalPacks] = weakref.WeakValueDictionary()
_OPEN_LOCK = threading.Lock()
_IDX_RE = re.compile(r"^([0-9a-f]{64})\.idx\Z")


def for_root(
    root: Path, tmp_dir: Callable[[], Path], loose: Callable[[str, bytes], object]
) -> LocalPacks:
    """The `LocalPacks` of the cache at `root`, one per process: every store opened on it
    sees (and flushes) the same pending pack."""
    key = os.path.realpath(root)
    with _OPEN_LOCK:
        packs = _OPEN.get(key)
        if packs is None:
            packs = _OPEN[key] = LocalPacks(root, tmp_dir, loose)
        return packs


class LocalPacks:
    """The packs of one local cache, the indexes read so far, and the pending pack."""

    def __init__(
        self, root: Path, tmp_dir: Callable[[], Path], loose: Callable[[str, bytes], object]
    ) -> None:
        self.folder = root / PACK_DIR
        self._folder = str(self.folder)
        self._checked = 0.0  # when `packs/` was last looked at (time.monotonic)
        self._tmp_dir = tmp_dir
        self._loose = loose  # writes one object loose
        self._lock = threading.RLock()
        self._indexes: dict[str, PackIndex] = {}
        self._finder = RecentFirst()  # the indexes, for lookups without the lock
        self._stamp: tuple[int, int] | None = None
        self._fds: dict[str, int] = {}
        self._pending: _Pending | None = None
        self._exit_hook = False

    # ------------------------------------------------------------------ reading

    def find(self, digest: str, fresh: bool = False) -> Located | None:
        """Where `digest` lies: in a sealed pack, or (`pack` is `PENDING`) the pending one.
        On a miss, packs another process sealed are looked for when `fresh`, else when the
        last look is `RECHECK` seconds old (a stat per miss costs as much as the lookup)."""
        raw = bytes.fromhex(digest[7:])
        finder = self._finder  # no lock: it is replaced whole as packs come and go
        hit = finder.find(raw)
        if hit is not None:
            return hit
        with self._lock:
            if self._changed(fresh):
                self._relist()
            if self._finder is not finder:  # packs listed since (by this thread or another)
                hit = self._finder.find(raw)
            if hit is None and self._pending is not None:
                hit = self._pending.find(raw)
            return hit

    def read(self, where: Located) -> bytes:
        """The bytes at `where`, not yet verified (short if the pack is)."""
        fd = self._fds.get(where.pack)
        if fd is None:
            with self._lock:
                if where.pack == PENDING and self._pending is not None:
                    return self._pending.read(where.offset, where.length)
                fd = self._fds.get(where.pack)
                if fd is None:
                    fd = os.open(self.pack_path(where.pack), os.O_RDONLY | os.O_NOFOLLOW)
                    self._fds[where.pack] = fd
        return os.pread(fd, where.length, where.offset)

    def locate(self, digests: Sequence[str]) -> dict[str, Located]:
        """Where each of `digests` that is packed lies: pack by pack through the sealed
        packs (`RecentFirst.locate`), then, as `find` does on a miss, among packs sealed
        since and in the pending one."""
        finder = self._finder
        raws = [bytes.fromhex(d[7:]) for d in digests]
        hits = finder.locate(raws)
        out = {d: hits[raw] for d, raw in zip(digests, raws, strict=True) if raw in hits}
        if len(out) == len(digests):
            return out
        with self._lock:
            if self._changed(False):
                self._relist()
            for d, raw in zip(digests, raws, strict=True):
                if d in out:
                    continue
                hit = self._finder.find(raw) if self._finder is not finder else None
                if hit is None and self._pending is not None:
                    hit = self._pending.find(raw)
                if hit is not None:
                    out[d] = hit
        return out

    def absent(self, digests: list[str], loose: Collection[str]) -> list[str]:
        """Those of `digests` neither in `loose` nor packed, in order."""
        found = self.locate([d for d in digests if d not in loose])
        return [d for d in digests if d not in loose and d not in found]

    def pack_path(self, name: str) -> str:
        return os.path.join(self.folder, f"{name}.pack")

    def index_path(self, name: str) -> str:
        return os.path.join(self.folder, f"{name}.idx")

    def names(self) -> list[str]:
        """The packs with a readable index, as listed now."""
        with self._lock:
            self._relist()
            return sorted(self._indexes)

    def index(self, name: str) -> PackIndex | None:
        """The index of pack `name`, when it is listed and readable."""
        with self._lock:
            if name not in self._indexes:
                self._relist()
            return self._indexes.get(name)

    def stamp(self) -> str:
        """Changes whenever a pack is added or removed (for remembered "all present")."""
        try:
            st = os.stat(self.folder)
        except FileNotFoundError:
            return "packs:none"
        return f"packs:{st.st_ino}:{st.st_mtime_ns}"

    def forget(self, name: str) -> None:
        """Drop what this process holds of pack `name` (it is being removed)."""
        with self._lock:
            self._indexes.pop(name, None)
            self._set_view()
            # Its descriptor stays open: another thread may be reading through it, and a
            # closed number could be reused for another file. One per pack removed.
            self._fds.pop(name, None)
            self._stamp = None

    def take_out(self, name: str, folder: Path) -> None:
        """Move pack `name` (one of its objects is corrupt) into `folder`, after writing its
        good objects loose."""
        for digest, offset, length in self.index(name) or ():
            data = self.read(Located(name, offset, length))
            if "sha256:" + hashlib.sha256(data).hexdigest() == digest:
                self._loose(digest, data)
        folder.mkdir(parents=True, exist_ok=True)
        self.forget(name)
        for path in (self.index_path(name), self.pack_path(name)):
            with contextlib.suppress(FileNotFoundError):
                os.rename(path, folder / f"{os.path.basename(path)}-{temp_name()}")

    def _set_view(self) -> None:
        self._finder = RecentFirst(tuple(self._indexes.values()), previous=self._finder)

    def _changed(self, fresh: bool) -> bool:
        now = time.monotonic()
        if not fresh and self._stamp is not None and now - self._checked < RECHECK:
            return False
        self._checked = now
        try:
            st = os.stat(self._folder)
        except FileNotFoundError:
            return self._stamp != _ABSENT
        return self._stamp != (st.st_ino, st.st_mtime_ns)

    def _relist(self) -> None:
        try:
            st = os.stat(self.folder)
            with os.scandir(self.folder) as it:
                names = {m.group(1) for e in it if (m := _IDX_RE.match(e.name))}
        except FileNotFoundError:
            self._stamp, names = _ABSENT, set()
        else:
            self._stamp = (st.st_ino, st.st_mtime_ns)
        for gone in set(self._indexes) - names:
            self.forget(gone)
        for name in sorted(names - set(self._indexes)):
            index = self._map(name)
            if index is not None:
                self._indexes[name] = index
        self._set_view()

    def _map(self, name: str) -> PackIndex | None:
        """The index of `name` mapped in, None when it is unreadable (its objects count as
        absent, so a fetch brings them again; gc removes it)."""
        try:
            return map_index(name, self.index_path(name), quick_problem)
        except OSError:
            return None

    # ------------------------------------------------------------------ writing

    def add(self, digest: str, data: bytes) -> None:
        """Put a small object into the pending pack (sealed when full)."""
        raw = bytes.fromhex(digest[7:])
        with self._lock:
            self._append(raw, data)

    def add_absent(self, digest: str, data: bytes) -> bool:
        """`find`, then `add` when absent, in one lookup of each kind (an add of 100,000
        small files spends a fifth of its time here); whether a sealed pack held it (what a
        writer renews: an object in the pending pack needs no renewal)."""
        raw = bytes.fromhex(digest[7:])
        if self._finder.find(raw) is not None:
            return True
        with self._lock:
            if self._changed(False):
                self._relist()
                if self._finder.find(raw) is not None:
                    return True
            if self._pending is None or self._pending.find(raw) is None:
                self._append(raw, data)
            return False

    def _append(self, raw: bytes, data: bytes) -> None:
        if self._pending is None:
            if not self._exit_hook:  # this process's first: a dead writer's go first
                remove_orphans(self._tmp_dir())
            self._pending = _Pending(self._tmp_dir() / f"pack-{temp_name()}")
            if not self._exit_hook:  # a safety net: the writers flush before naming
                atexit.register(self.flush)
                self._exit_hook = True
        self._pending.append(raw, data)
        if self._pending.size >= SEAL_AT:
            self._seal(False)

    def leave_pending(self) -> None:
        """In a fork: leave the pending pack to the process that made it (its file and
        buffers are that process's); this one's small objects go into a pack of its own.
        No lock: in a fork, no other thread runs."""
        pending, self._pending = self._pending, None
        if pending is not None:
            os.close(pending.fd)

    def flush(self) -> None:
        """Seal the pending pack; one of fewer than `PACK_MIN` objects is written loose."""
        with self._lock:
            if self._pending is not None:
                self._seal(True)

    def seal_file(self, tmp: str, rows: bytes | bytearray, size: int, name: str) -> str:
        """Move a complete pack file `tmp` (hashing to `name`) into `packs/`, then its index
        of `rows` (48-byte records); the pack's name."""
        os.makedirs(self.folder, exist_ok=True)
        os.chmod(tmp, 0o444)
        os.replace(tmp, self.pack_path(name))
        idx_tmp = os.path.join(self._tmp_dir(), f"idx-{temp_name()}")
        try:
            fd = os.open(idx_tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o444)
            try:
                write_all(fd, encode_raw(rows, size))
            finally:
                os.close(fd)
            os.replace(idx_tmp, self.index_path(name))
        finally:
            unlink_quiet(idx_tmp)
        with self._lock:
            self._stamp = None  # listed again at the next miss
        return name

    def _seal(self, final: bool) -> None:
        pending, self._pending = self._pending, None
        assert pending is not None
        try:
            pending.seen.clear()  # no longer asked: its memory goes before the index is built
            pending.finish()
            if final and pending.count < PACK_MIN:
                for digest, data in pending.objects():
                    self._loose(digest, data)
                return
            name = pending.hash.hexdigest()
            self.seal_file(str(pending.path), pending.rows, pending.size, name)
            index = self._map(name)
            if index is not None:
                self._indexes[name] = index
                self._set_view()
        finally:
            pending.close()


class _Pending:
    """A pack being written: its file, its records as raw bytes, a running hash."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.fd = create_locked(path)  # a sweep by another writer leaves it alone
        self.rows = bytearray()
        self.buffer = bytearray()
        self.written = 0  # bytes in the file; the rest of `size` is in `buffer`
        self.size = 0
        self.count = 0
        self.hash = hashlib.sha256()
        # The first 8 bytes of each digest held -> its record's number (-1: two digests
        # share them, a scan decides): a lookup costs one dict probe, not a scan.
        self.seen: dict[int, int] = {}

    def append(self, raw: bytes, data: bytes) -> None:
        key = int.from_bytes(raw[:8], "big")
        self.seen[key] = -1 if key in self.seen else self.count
        self.rows += RECORD.pack(raw, self.size, len(data))
        self.buffer += data
        self.hash.update(data)
        self.size += len(data)
        self.count += 1
        if len(self.buffer) >= _BUFFER:
            self._write()

    def find(self, raw: bytes) -> Located | None:
        """The record of `raw`, by its number in `seen` (a scan only after a clash)."""
        number = self.seen.get(int.from_bytes(raw[:8], "big"))
        if number is None:
            return None
        if number >= 0:
            at = number * RECORD.size
            if self.rows[at : at + 32] != raw:
                return None
            _, offset, length = RECORD.unpack_from(self.rows, at)
            return Located(PENDING, offset, length)
        at = self.rows.find(raw)
        while at >= 0 and at % RECORD.size:
            at = self.rows.find(raw, at + 1)
        if at < 0:
            return None
        _, offset, length = RECORD.unpack_from(self.rows, at)
        return Located(PENDING, offset, length)

    def read(self, offset: int, length: int) -> bytes:
        if offset >= self.written:
            start = offset - self.written
            return bytes(self.buffer[start : start + length])
        self._write()
        return os.pread(self.fd, length, offset)

    def objects(self) -> Iterator[tuple[str, bytes]]:
        for raw, offset, length in RECORD.iter_unpack(self.rows):
            yield "sha256:" + raw.hex(), os.pread(self.fd, length, offset)

    def finish(self) -> None:
        self._write()

    def close(self) -> None:
        os.close(self.fd)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)

    def _write(self) -> None:
        if self.buffer:
            write_all(self.fd, memoryview(self.buffer))
            self.written += len(self.buffer)
            self.buffer = bytearray()
