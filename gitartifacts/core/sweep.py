"""What garbage collection needs of a sharded folder (a local cache, a folder remote): every
object with its size and age, removing one, and the temporary files writers left behind."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from typing import NamedTuple

from gitartifacts.core.shards import object_key

_SHARD_RE = re.compile(r"^[0-9a-f]{2}\Z")
_REST_RE = re.compile(r"^[0-9a-f]{62}\Z")
# Temporary names inside shard folders: `create_only`'s fallback, and folder-remote uploads.
_SHARD_TMP = (".tmp-",)


class StoredObject(NamedTuple):
    """One object of a cache or remote: its digest, size in bytes and mtime (seconds)."""

    digest: str
    size: int
    mtime: float


def objects(root: str) -> Iterator[StoredObject]:
    """Every object under `<root>/sha256/`; names that are not objects are left out, and a
    symlinked folder is never walked (what gc lists, it may remove)."""
    top = os.path.join(root, "sha256")
    for shard in _shards(top):
        try:
            with os.scandir(os.path.join(top, shard)) as it:
                found = [e for e in it if _REST_RE.match(e.name)]
            for e in found:
                try:
                    st = e.stat(follow_symlinks=False)
                except FileNotFoundError:
                    continue  # removed meanwhile (another gc)
                yield StoredObject(f"sha256:{shard}{e.name}", st.st_size, st.st_mtime)
        except FileNotFoundError:
            continue


def remove(
    root: str, digest: str, older_than: float | None = None, keep_linked: bool = False
) -> bool:
    """Remove one object (its digest checked, as every path built from one is), through
    folders opened without following symlinks: a shard folder replaced by a link to
    elsewhere makes this remove nothing there. With `older_than` (a time in seconds), an
    object whose mtime is not older is kept: a writer renewed it since it was listed. With
    `keep_linked`, an object with other hard links is kept: a work tree holds it
    (`--link hardlink`), so removing it frees nothing, and writers do not renew it.
    Whether it was removed."""
    top, shard, name = object_key(digest).split("/")
    flags = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW
    try:
        top_fd = os.open(os.path.join(root, top), flags)
    except OSError:  # absent, or a symlink (ELOOP) or a file: nothing of ours to remove
        return False
    try:
        shard_fd = os.open(shard, flags, dir_fd=top_fd)
    except OSError:
        return False
    finally:
        os.close(top_fd)
    try:
        st = os.stat(name, dir_fd=shard_fd, follow_symlinks=False)
        if older_than is not None and st.st_mtime >= older_than:
            return False
        if keep_linked and st.st_nlink > 1:
            return False
        os.unlink(name, dir_fd=shard_fd)
        return True
    except FileNotFoundError:
        return False
    finally:
        os.close(shard_fd)


def old_temporaries(root: str, before: float, folders: tuple[str, ...] = ()) -> list[str]:
    """Temporary files older than `before` (a time in seconds): in the shard folders under
    `<root>/sha256/`, in `<root>/packs/` (a pack a killed writer left half-written where
    files cannot be born unnamed) and in each of `folders` (a cache's own `tmp/`), whose
    every file is one."""
    out: list[str] = []
    top = os.path.join(root, "sha256")
    for folder in (os.path.join(top, n) for n in _shards(top)):
        out += _old_files(folder, before, _SHARD_TMP)
    packs = os.path.join(root, "packs")
    if not os.path.islink(packs):  # what it lists gc removes: never through a link
        out += _old_files(packs, before, _SHARD_TMP)
    for folder in folders:
        out += _old_files(folder, before, None)
    return sorted(out)


def _old_files(folder: str, before: float, prefixes: tuple[str, ...] | None) -> list[str]:
    out = []
    try:
        with os.scandir(folder) as it:
            for e in it:
                if prefixes is not None and not e.name.startswith(prefixes):
                    continue
                try:
                    st = e.stat(follow_symlinks=False)
                except FileNotFoundError:
                    continue
                if st.st_mtime < before and not e.is_dir(follow_symlinks=False):
                    out.append(e.path)
    except FileNotFoundError:
        pass
    return out


def _shards(top: str) -> list[str]:
    """Names of the shard folders under `top`: real folders only, and none at all when
    `top` itself is a symlink."""
    if os.path.islink(top):
        return []
    try:
        with os.scandir(top) as it:
            return sorted(
                e.name for e in it if _SHARD_RE.match(e.name) and e.is_dir(follow_symlinks=False)
            )
    except (FileNotFoundError, NotADirectoryError):
        return []
