"""Temporary files of the local cache that outlive no process.

A pending pack (localpacks.py) or a pack being downloaded (`claimed`) is locked by its
writer for as long as that lives, so a writer that finds one it can lock knows its owner
died (an add or a fetch killed) and removes it: what it held is named by nothing yet, and a
rerun adds or fetches it again.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
from collections.abc import Iterator
from pathlib import Path

from gitartifacts.core.fsio import temp_name, unlink_quiet

# `pack-<temp_name>`: a locked file; `.part` beside it: the download it claims.
_NAME_RE = re.compile(r"^pack-[0-9a-z]+-[0-9]+-[0-9]+\Z")
PART = ".part"


# A file is made under this suffix, locked, then renamed (see `create_locked`).
NEW = ".new"
# Attempts at making a locked file whose `.new` a sweeper took meanwhile, at most.
_TRIES = 5


def create_locked(path: Path) -> int:
    """A new file at `path`, open read-write and locked before it takes its name, so that
    `remove_orphans` never finds it unlocked while this process lives.

    The file is made as `pack-<temp name>.new`, which a sweeper also removes when it can
    lock it (a writer killed before the rename). Should a sweeper lock it first, in the
    instant between its creation and our lock, it is given up and made again."""
    for _ in range(_TRIES):
        fresh = path.with_name(f"pack-{temp_name()}{NEW}")
        fd = os.open(fresh, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:  # a sweeper holds it, and removes it
            os.close(fd)
            continue
        except OSError:  # no locks on this file system: then no sweeper can take one either
            pass
        try:
            os.rename(fresh, path)
        except FileNotFoundError:  # a sweeper locked it, removed it and let go before us
            os.close(fd)
            continue
        except BaseException:
            os.close(fd)
            unlink_quiet(fresh)
            raise
        return fd
    raise OSError(f"could not make {path}: other processes kept removing it")


@contextlib.contextmanager
def claimed(folder: Path) -> Iterator[str]:
    """A path under `folder` to write a download to (a client may create the file anew,
    so the lock is on a file beside it); whatever is left there is removed afterwards, or
    by another process's `remove_orphans` should this one die."""
    base = folder / f"pack-{temp_name()}"
    fd = create_locked(base)
    part = str(base) + PART
    try:
        yield part
    finally:
        unlink_quiet(part)
        unlink_quiet(base)  # before the lock goes: no sweeper takes it for a dead one's
        os.close(fd)


def remove_orphans(folder: Path) -> None:
    """Remove the pending packs and downloads of writers that died. A `folder` that is a
    symlink is left alone: nothing is removed outside the cache."""
    if os.path.islink(folder):
        return
    try:
        with os.scandir(folder) as it:
            names = [e.name for e in it]
    except (FileNotFoundError, NotADirectoryError):
        return
    for name in names:
        # A `.new` is a locked file not yet named: its writer died before the rename.
        if not _NAME_RE.match(name.removesuffix(NEW)):
            claim = name[: -len(PART)]
            # A download whose claim is gone is an orphan: a claim outlives its download.
            if (
                name.endswith(PART)
                and _NAME_RE.match(claim)
                and not os.path.lexists(os.path.join(folder, claim))
            ):
                unlink_quiet(os.path.join(folder, name))
            continue
        path = os.path.join(folder, name)
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except OSError:
            continue  # sealed or removed meanwhile
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:  # its writer is alive (or this file system has no locks)
            continue
        else:
            if not name.endswith(NEW):
                unlink_quiet(path + PART)
            unlink_quiet(path)
        finally:
            os.close(fd)
