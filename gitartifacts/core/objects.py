"""The local content cache: objects named by the sha256 of their bytes.

Loose objects at `<root>/sha256/<2 hex>/<62 hex>`, written to a temporary file and renamed
into place, so a reader never sees a partial object and several processes may write the
same object at once; every object is read-only. Small objects go into packs instead
(`<root>/packs/`, see localpacks), unless checkouts link to cache files.

Objects are not trusted on read either (a disk, a user or a tool may change them): whatever
is read whole, copied out or handed to an upload is hashed on the way. An object whose bytes
do not match its name (or that is not a regular file) is moved to `<root>/corrupt/` and
reported by digest (`CorruptObjectError`), so the next fetch brings a good copy; a corrupt
packed object takes its pack out (its good objects are kept loose).
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import stat
from pathlib import Path

from gitartifacts.core.fsio import (
    WORK_TMP,
    create_only,
    new_file,
    temp_name,
    unlink_quiet,
    write_all,
)
from gitartifacts.core.hashing import CHUNK, hex_of, sha256_fd
from gitartifacts.core.localpacks import PENDING, for_root
from gitartifacts.core.objecterrors import CorruptObjectError, not_cached
from gitartifacts.core.packformat import SMALL, Located
from gitartifacts.core.shards import ShardFolders, object_key, objects_present
from gitartifacts.core.streamcopy import StreamCopier
from gitartifacts.errors import CacheError

__all__ = ["SMALL", "CorruptObjectError", "ObjectStore", "not_cached"]

LINK_TYPES = ("reflink", "copy", "hardlink", "symlink")
CORRUPT_DIR = "corrupt"


class ObjectStore:
    def __init__(self, root: Path, direct_writes: bool = True, pack_small: bool = False) -> None:
        self.root = root
        self._streams = StreamCopier(direct_writes)
        self.objects = root / "sha256"
        self._root = f"{root}/"
        self._prefix = f"{self.objects}/"
        self._shards: set[str] = set()
        self._loose = ShardFolders(str(self.objects))  # asked only before packing (see there)
        self.pack_small = pack_small  # off when checkouts link to cache files
        self.packs = for_root(root, self.tmp_dir, self._add_loose)

    @property
    def direct_writes(self) -> bool:
        """Whether very large files are written around the page cache (see `streamcopy`)."""
        return self._streams.direct_writes

    def path(self, digest: str) -> Path:
        return Path(self.spath(digest))

    def spath(self, digest: str) -> str:
        """`path` as a string: for 100,000 files, Path objects cost more than the reads."""
        return self._root + object_key(digest)

    def has(self, digest: str) -> bool:
        # The packs first: a lookup in memory, where a loose miss is a system call.
        return self.packs.find(digest) is not None or os.path.exists(self.spath(digest))

    def missing(self, digests: list[str]) -> list[str]:
        """The digests not in the cache, in the order given."""
        return self.packs.absent(digests, objects_present(self._prefix, digests))

    def size(self, digest: str) -> int | None:
        """The object's size in bytes; None when the cache lacks it."""
        if (where := self.packs.find(digest)) is not None:
            return where.length
        try:
            return os.stat(self.spath(digest)).st_size
        except FileNotFoundError:
            return None

    def flush(self) -> None:
        """Seal the pending pack: call it before writing anything that names its objects."""
        self.packs.flush()

    def read(self, digest: str) -> bytes:
        """The whole object (a listing, a patch), verified against its name."""
        data = self._read_object(digest, None)
        if data is None:
            raise not_cached(digest)
        return data

    def read_checked(self, digest: str, limit: int) -> bytes | None:
        """The object's bytes, verified, when at most `limit` bytes; else or absent, None."""
        return self._read_object(digest, limit)

    def _read_object(self, digest: str, limit: int | None) -> bytes | None:
        if (where := self.packs.find(digest)) is not None:
            return self._read_at(digest, where, limit)
        try:
            fd = self._open_regular(digest)
        except CorruptObjectError:
            raise
        except CacheError:  # not loose
            return self._read_packed(digest, limit)
        try:
            size = os.fstat(fd).st_size
            if limit is not None and size > limit:
                return None
            chunks: list[bytes] = []
            # One read of the known size (plus one byte: a longer file shows itself).
            while chunk := os.read(fd, size + 1 if not chunks else CHUNK):
                chunks.append(chunk)
            data = b"".join(chunks)
        finally:
            os.close(fd)
        if limit is not None and len(data) > limit:
            return None
        if "sha256:" + hashlib.sha256(data).hexdigest() != digest:
            raise self.quarantine(digest)
        return data

    def _read_packed(self, digest: str, limit: int | None) -> bytes | None:
        """A packed object's bytes, verified; None when not packed or over `limit`."""
        where = self.packs.find(digest, fresh=True)
        return None if where is None else self._read_at(digest, where, limit)

    def _read_at(self, digest: str, where: Located, limit: int | None) -> bytes | None:
        if limit is not None and where.length > limit:
            return None
        data = self.packs.read(where)
        if "sha256:" + hashlib.sha256(data).hexdigest() != digest:
            raise self._packed_corrupt(digest, where)
        return data

    def _packed_corrupt(self, digest: str, where: Located) -> CorruptObjectError:
        """Take a pack holding a corrupt object out of use (see `LocalPacks.take_out`)."""
        if where.pack == PENDING:
            return self.corrupt_error(digest, "it changed in memory before it was stored")
        self.packs.take_out(where.pack, self.root / CORRUPT_DIR)
        return self.corrupt_error(digest, f"its bytes in pack {where.pack[:16]} do not match")

    def check(self, digest: str) -> None:
        """Hash the object; raise (after moving it aside) when it does not match its name."""
        if not self.verify_object(digest):
            raise self.corrupt_error(digest)

    def copy_checked(self, digest: str, fd_out: int) -> int:
        """Copy the object to `fd_out`, hashing what is copied; raises (the object moved
        aside) when the bytes do not match its name. The caller discards `fd_out` then.
        Returns the size copied."""
        if self.packs.find(digest) or not os.path.lexists(self.spath(digest)):
            write_all(fd_out, data := self.read(digest))
            return len(data)
        fd = self._open_regular(digest)
        try:
            actual, size = sha256_fd(fd, lambda chunk: write_all(fd_out, chunk))
        finally:
            os.close(fd)
        if actual != digest:
            raise self.quarantine(digest)
        return size

    def _open_regular(self, digest: str) -> int:
        """A descriptor on the object, never through a symbolic link."""
        try:
            fd = os.open(self.spath(digest), os.O_RDONLY | os.O_NOFOLLOW)
        except FileNotFoundError:
            raise not_cached(digest) from None
        except OSError as exc:
            if exc.errno != errno.ELOOP:
                raise
            raise self.quarantine(digest, "it is a symbolic link") from None
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise self.quarantine(digest, "it is not a regular file")
        return fd

    def quarantine(self, digest: str, why: str = "") -> CorruptObjectError:
        """Move a corrupt object to `<root>/corrupt/` (kept for inspection, out of the
        way of the next fetch) and return the error that reports it."""
        folder = self.root / CORRUPT_DIR
        folder.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):  # another process moved it first
            os.rename(self.spath(digest), folder / f"{hex_of(digest)}-{temp_name()}")
        return self.corrupt_error(digest, why)

    def corrupt_error(self, digest: str, why: str = "") -> CorruptObjectError:
        return CorruptObjectError(
            f"object {digest} in the local cache is corrupt "
            f"({why or 'its bytes do not match its digest'}); moved to "
            f"{self.root / CORRUPT_DIR}",
            "run git artifacts fetch to download it again, or git artifacts add the data again",
        )

    # ------------------------------------------------------------------ writing

    def add_bytes(self, data: bytes, digest: str | None = None, pack: bool = True) -> str:
        """Store `data` (loose when `pack` is off); its digest."""
        if digest is None:
            digest = "sha256:" + hashlib.sha256(data).hexdigest()
        self.put(digest, data, pack)
        return digest

    def put(self, digest: str, data: bytes, pack: bool = True) -> bool:
        """Store `data`, bytes that hash to `digest` (computed or checked by the caller);
        whether the cache held it already, other than in a pending pack (what a writer must
        renew: see ops/reuse.py)."""
        if pack and self.pack_small and len(data) <= SMALL:
            if self._loose.may_hold(digest) and os.path.exists(self.spath(digest)):
                return True
            return self.packs.add_absent(digest, data)
        return self._add_loose(digest, data)

    def _add_loose(self, digest: str, data: bytes) -> bool:
        final = self.spath(digest)
        if os.path.exists(final):
            return True
        self._publish(final, data)
        return False

    def add_file(self, src: str, size_hint: int = -1) -> tuple[str, int]:
        """Hash `src` and store its bytes; one read pass. Returns (digest, size)."""
        return self.store_file(src, size_hint)[:2]

    def store_file(self, src: str, size_hint: int = -1) -> tuple[str, int, bool]:
        """`add_file`, and whether the cache held the object already (see `put`)."""
        if 0 <= size_hint <= SMALL:
            # Raw descriptor, one read of the size the scan saw (plus one byte, to notice a
            # file that grew): with many small files every system call counts.
            fd = os.open(src, os.O_RDONLY)
            try:
                data = os.read(fd, size_hint + 1)  # short only at the end of a regular file
                if len(data) > size_hint:  # it grew after the scan: read on, up to the limit
                    while len(data) <= SMALL and (more := os.read(fd, SMALL + 1 - len(data))):
                        data += more
            finally:
                os.close(fd)
            if len(data) <= SMALL:
                digest = "sha256:" + hashlib.sha256(data).hexdigest()
                return digest, len(data), self.put(digest, data)
        return self._add_stream_from(src)  # large, or it grew while we looked

    def _add_stream_from(self, src: str) -> tuple[str, int, bool]:
        """Large files: copied (see `streamcopy`), then renamed in under the digest of
        what was stored."""
        tmp = self._tmp_path()
        try:
            digest, size = self._streams.copy(src, tmp)
            final = self.path(digest)
            if not (known := os.path.exists(final)):
                self._rename_in(tmp, final)
            return digest, size, known
        finally:
            unlink_quiet(tmp)

    def _publish(self, final: str, data: bytes) -> None:
        self._ensure_shard(os.path.dirname(final))
        create_only(final, lambda fd: write_all(fd, data))

    def place(self, tmp: Path, digest: str) -> None:
        """Move a temporary file whose bytes were checked to hash to `digest` into place."""
        self._rename_in(tmp, self.path(digest))

    def _rename_in(self, tmp: Path, final: Path) -> None:
        self._ensure_shard(final.parent)
        os.chmod(tmp, 0o444)
        os.replace(tmp, final)

    def tmp_dir(self) -> Path:
        """The cache's own temporary folder: same file system, so the final rename is atomic."""
        tmpdir = self.root / "tmp"
        self._ensure_shard(tmpdir)  # made once, as a shard folder is
        return tmpdir

    def _tmp_path(self) -> Path:
        return self.tmp_dir() / temp_name()

    def _ensure_shard(self, shard: str | Path) -> None:
        key = os.path.basename(shard)
        if key not in self._shards:
            os.makedirs(shard, exist_ok=True)
            self._shards.add(key)

    # ------------------------------------------------------------------ reading out

    def materialize(
        self, digest: str, dst: str, link: str = "copy", data: bytes | None = None
    ) -> os.stat_result:
        """Put the object at `dst` (replacing what is there) and return the new file's stat.

        The file is made under a temporary name beside `dst` (`WORK_TMP` prefix) and renamed
        into place, so it appears whole or not at all, and a symlink at `dst` is replaced,
        never written through. A copy is written from `data` when given (see `bytes_to_copy`).
        """
        src = self.spath(digest)
        tmp = os.path.join(os.path.dirname(dst), WORK_TMP + temp_name())
        if data is None and self.packs.find(digest) is not None and not os.path.lexists(src):
            if link in ("hardlink", "symlink"):
                self._add_loose(digest, self.read(digest))  # a link needs a file of its own
            else:
                data = self.read(digest)
        try:
            if link in ("hardlink", "symlink"):
                self._check_regular(digest)  # a link is not read: at least no link to a link
                (os.link if link == "hardlink" else os.symlink)(src, tmp)
            elif data is not None:
                new_file(tmp, data)
            else:
                self._copy(digest, tmp, link)
            os.replace(tmp, dst)
        except FileNotFoundError:
            unlink_quiet(tmp)
            if not os.path.exists(src):
                raise not_cached(digest) from None
            raise
        except BaseException:
            unlink_quiet(tmp)
            raise
        # Stat after the rename: it changes the file's ctime, which the stat cache keys on.
        return os.lstat(dst) if link == "symlink" else os.stat(dst)

    def bytes_to_copy(self, digest: str, size: int) -> bytes | None:
        """The bytes a copy of this object of `size` would be written from, read and
        verified now (so that reads waiting on the disk can overlap); None when the copy
        would be a clone, or the object is not small."""
        if size > SMALL:
            return None
        if (where := self.packs.find(digest)) is not None:  # one lookup, not two
            return self._read_at(digest, where, SMALL)
        if self._streams.reflink_ok is not False:
            return None
        return self.read_checked(digest, SMALL)  # None when absent: `materialize` says so

    def _copy(self, digest: str, dst: str, link: str) -> os.stat_result:
        """A new file `dst` holding the object, verified on the way: a `link` of "copy" is
        hashed even when the file system clones it, a "reflink" clone (shared blocks, like
        a link) is not. A corrupt object leaves no `dst` and is moved aside."""
        # Raw descriptors: many small files make every system call count.
        fd_in = self._open_regular(digest)
        try:
            fd = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            try:
                good = self._streams.fill(digest, fd_in, fd, link)
                if good:
                    return os.fstat(fd)
            finally:
                os.close(fd)
            unlink_quiet(dst)
            raise self.quarantine(digest)
        finally:
            os.close(fd_in)

    def _check_regular(self, digest: str) -> None:
        try:
            st = os.lstat(self.spath(digest))
        except FileNotFoundError:
            raise not_cached(digest) from None
        if not stat.S_ISREG(st.st_mode):
            raise self.quarantine(digest, "it is not a regular file")

    def verify_object(self, digest: str) -> bool:
        """Whether the object hashes to its name; one that does not is moved aside."""
        if self.packs.find(digest) is not None:
            try:
                return self._read_packed(digest, None) is not None
            except CorruptObjectError:
                return False
        try:
            fd = self._open_regular(digest)
        except CorruptObjectError:
            return False
        try:
            actual, _ = sha256_fd(fd)
        finally:
            os.close(fd)
        if actual != digest:
            self.quarantine(digest)
            return False
        return True
