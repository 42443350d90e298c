"""File-system writes that are whole or absent: create-only files, atomic replaces, temporary
names no other writer uses, and the small copy and read helpers they share."""

from __future__ import annotations

import contextlib
import errno
import itertools
import os
import threading
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from gitartifacts.core.hashing import CHUNK

# Name prefix of the temporary files a checkout writes beside their final names.
WORK_TMP = ".ga-tmp-"
_LINK_UNSUPPORTED = (errno.EPERM, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK, errno.ENOSYS)
_PROCESS = uuid.uuid4().hex[:12]
_COUNTER = itertools.count()
_PID = os.getpid()
_unnamed_ok = hasattr(os, "O_TMPFILE")  # False once unnamed files did not work here
_proc_fds: tuple[int, int] | None = None  # (pid, descriptor of /proc/self/fd) of this process
_proc_lock = threading.Lock()


def create_only(final: str | os.PathLike[str], fill: Callable[[int], object]) -> None:
    """Create `final` only if absent, atomically: `fill(fd)` writes the bytes.

    The file is born unnamed (O_TMPFILE) and linked into place whole, so a killed writer
    leaves nothing behind and a file already there is kept; where the file system cannot,
    a named temporary file is linked (or renamed) into place instead.
    """
    final = os.fspath(final)
    folder = os.path.dirname(final)
    fd = _open_unnamed(folder)
    if fd is not None:
        try:
            fill(fd)
            if _link_unnamed(fd, final):
                return
        finally:
            os.close(fd)
    tmp = os.path.join(folder, f".tmp-{temp_name()}")
    try:
        # Read-only from birth; the descriptor that creates it may still write.
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o444)
        try:
            fill(fd)
        finally:
            os.close(fd)
        try:
            os.link(tmp, final)
        except FileExistsError:
            pass
        except OSError as exc:
            if exc.errno not in _LINK_UNSUPPORTED:
                raise
            os.replace(tmp, final)  # no hard links here; a rename is atomic too
    finally:
        unlink_quiet(tmp)


def write_atomic(path: Path, data: bytes) -> None:
    """Write to a temporary file beside `path`, then rename it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.{uuid.uuid4().hex}.tmp"
    try:
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def temp_name() -> str:
    """A file name no other writer uses: random once per process, then a counter (a random
    name per file costs a system call each, and so does `os.getpid`)."""
    return f"{_PROCESS}-{_PID}-{next(_COUNTER)}"


def _forked() -> None:
    global _PROCESS, _PID
    _PROCESS, _PID = uuid.uuid4().hex[:12], os.getpid()


os.register_at_fork(after_in_child=_forked)


def new_file(dst: str, data: bytes) -> None:
    """A file at `dst` that must not exist yet, holding `data`."""
    fd = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        write_all(fd, data)
    finally:
        os.close(fd)


def open_new(path: Path) -> BinaryIO:
    """A new file (never an existing one), unbuffered."""
    return open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644), "wb", buffering=0)


def write_all(fd: int, data: bytes | memoryview) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def read_small(path: str | os.PathLike[str], limit: int) -> bytes | None:
    """The whole file when it is at most `limit` bytes, else None."""
    fd = os.open(path, os.O_RDONLY)
    try:
        size = os.fstat(fd).st_size
        if size > limit:
            return None
        data = os.read(fd, size + 1)  # one more than expected: a longer file shows itself
        while len(data) < size and (more := os.read(fd, size - len(data))):
            data += more
        return data if len(data) <= limit else None
    finally:
        os.close(fd)


def kernel_copy(fd_in: int, fd_out: int, size: int | None = None) -> bool:
    """Copy from `fd_in` to `fd_out` inside the kernel; False where copy_file_range is not
    available. With the `size` of an object (they never change) no call is spent on finding
    the end."""
    try:
        done = 0
        while size is None or done < size:
            n = os.copy_file_range(fd_in, fd_out, 1 << 30 if size is None else size - done)
            if not n:
                break
            done += n
    except OSError as exc:
        if exc.errno in (errno.EXDEV, errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP, errno.EBADF):
            return False
        raise
    return True


def copy_fd(fd_in: int, fd_out: int, size: int | None = None) -> None:
    """Copy the rest of `fd_in` to `fd_out`: in the kernel where it can, else through our
    memory (copy_file_range moves both offsets, so a partial kernel copy is continued)."""
    if not kernel_copy(fd_in, fd_out, size):
        while chunk := os.read(fd_in, CHUNK):
            write_all(fd_out, chunk)


def unlink_quiet(path: str | Path) -> None:
    """Remove `path` if it is there."""
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


def _open_unnamed(folder: str) -> int | None:
    """A new file with no name yet in `folder`, or None where O_TMPFILE or linking it is not
    supported (then never asked again in this process)."""
    global _unnamed_ok
    if not _unnamed_ok:
        return None
    try:
        return os.open(folder, os.O_TMPFILE | os.O_WRONLY, 0o444)
    except OSError as exc:
        if exc.errno in (errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL):
            _unnamed_ok = False
            return None
        raise


def _link_unnamed(fd: int, final: str) -> bool:
    """Give the unnamed file `fd` the name `final` unless it exists (then it stays as it is).

    linkat(AT_SYMLINK_FOLLOW) of `<fd>` in /proc/self/fd: given a directory descriptor,
    os.link calls linkat with that flag (follow_symlinks). False where this does not work;
    the caller then writes a named temporary file instead.
    """
    global _unnamed_ok
    try:
        os.link(str(fd), final, src_dir_fd=_proc_fd_dir())
    except FileExistsError:
        return True
    except OSError as exc:
        if exc.errno not in (errno.ENOENT, *_LINK_UNSUPPORTED):
            raise OSError(exc.errno, exc.strerror, final) from None
        # No /proc, or a file system that refuses.
        _unnamed_ok = False
        return False
    return True


def _proc_fd_dir() -> int:
    """A descriptor on this process's /proc/self/fd, opened once per process (a forked child
    must not look at its parent's descriptors)."""
    global _proc_fds
    pid = os.getpid()
    with _proc_lock:
        if _proc_fds is None or _proc_fds[0] != pid:
            _proc_fds = (pid, os.open("/proc/self/fd", os.O_RDONLY | os.O_DIRECTORY))
        return _proc_fds[1]
