"""What garbage collection needs of a sharded folder (a local cache, a folder remote): every
object with its size and age, removing one, and the temporary files writers left behind."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from typing import NamedTuple

from gitartifacts.core.fsio import unlink_quiet
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
    """Every object under `<root>/sha256/`; names that are not objects are left out."""
    top = os.path.join(root, "sha256")
    try:
        shards = sorted(n for n in os.listdir(top) if _SHARD_RE.match(n))
    except FileNotFoundError:
        return
    for shard in shards:
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


def remove(root: str, digest: str) -> None:
    """Remove one object (its digest checked, as every path built from one is)."""
    unlink_quiet(os.path.join(root, object_key(digest)))


def old_temporaries(root: str, before: float, folders: tuple[str, ...] = ()) -> list[str]:
    """Temporary files older than `before` (a time in seconds): in the shard folders under
    `<root>/sha256/` and in each of `folders` (a cache's own `tmp/`), whose every file is one."""
    out: list[str] = []
    top = os.path.join(root, "sha256")
    try:
        shards = [os.path.join(top, n) for n in os.listdir(top) if _SHARD_RE.match(n)]
    except FileNotFoundError:
        shards = []
    for folder in shards:
        out += _old_files(folder, before, _SHARD_TMP)
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
