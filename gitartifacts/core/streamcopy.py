"""Files into and out of the cache: cloned where the file system can, else copied by the kernel,
or hashed and written in one pass around the page cache (O_DIRECT, see `largewrite`)."""

from __future__ import annotations

import errno
import fcntl
import hashlib
import os
from pathlib import Path

from gitartifacts.core.fsio import kernel_copy, open_new, write_all
from gitartifacts.core.hashing import sha256_fd, sha256_file
from gitartifacts.core.largewrite import hash_and_write
from gitartifacts.core.packformat import SMALL

# Files from this size that the file system cannot clone are written around the page cache
# (O_DIRECT) unless `direct_writes` is off: see `largewrite`.
DIRECT_MIN = 64 << 20
_NO_REFLINK = (errno.EOPNOTSUPP, errno.EXDEV, errno.EINVAL, errno.ENOTTY)
_FICLONE = 0x40049409


class StreamCopier:
    """How one cache copies large files in: what the file system allowed so far."""

    def __init__(self, direct_writes: bool = True) -> None:
        self.direct_writes = direct_writes
        self.reflink_ok: bool | None = None

    def copy(self, src: str, tmp: Path) -> tuple[str, int]:
        """Copy `src` to the new file `tmp`; (digest, size) of what `tmp` holds.

        The kernel copies (copy_file_range, no trip through our memory), then we hash our
        private copy, so the name always matches what was stored even if `src` changes
        meanwhile. Very large ones go by `_write_large`."""
        with open(src, "rb", buffering=0) as fin, open_new(tmp) as fout:
            fd_in, fd_out = fin.fileno(), fout.fileno()
            if self.direct_writes and os.fstat(fd_in).st_size >= DIRECT_MIN:
                return self._write_large(fd_in, fd_out, tmp)
            if kernel_copy(fd_in, fd_out):
                return sha256_file(tmp)
            # Through our memory, from the start (a kernel copy may have begun).
            os.lseek(fd_in, 0, os.SEEK_SET)
            os.lseek(fd_out, 0, os.SEEK_SET)
            os.ftruncate(fd_out, 0)
            digest, size, _ = hash_and_write(fd_in, fd_out, False)
            return digest, size

    def clone(self, fd_out: int, fd_in: int) -> bool:
        """Reflink `fd_in` into `fd_out` where the file system can (remembered)."""
        if self.reflink_ok is False:
            return False
        try:
            fcntl.ioctl(fd_out, _FICLONE, fd_in)
        except OSError as exc:
            if exc.errno not in _NO_REFLINK:
                raise
            self.reflink_ok = False
            return False
        self.reflink_ok = True
        return True

    def fill(self, digest: str, fd_in: int, fd: int, link: str) -> bool:
        """Copy `fd_in` to `fd`; whether the bytes hash to `digest`."""
        if self.clone(fd, fd_in):
            return link == "reflink" or sha256_fd(fd_in)[0] == digest
        size = os.fstat(fd_in).st_size
        if size <= SMALL:
            # Objects never change: one read of the known size is the whole of it.
            data = os.read(fd_in, size)
            if "sha256:" + hashlib.sha256(data).hexdigest() != digest:
                return False
            write_all(fd, data)
            return True
        return sha256_fd(fd_in, lambda chunk: write_all(fd, chunk))[0] == digest

    def _write_large(self, fd_in: int, fd_out: int, tmp: Path) -> tuple[str, int]:
        """A very large file (a checkpoint, a shard) is cloned where the file system can;
        else hashed and written in one pass, around the page cache (see `largewrite`). The
        bytes stored are the bytes hashed. A file system that refuses O_DIRECT is not asked
        again by this copier."""
        if self.clone(fd_out, fd_in):
            return sha256_file(tmp)
        digest, size, self.direct_writes = hash_and_write(fd_in, fd_out, True)
        return digest, size
