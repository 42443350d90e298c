"""The sharded layout of objects, `sha256/<2 hex>/<62 hex>` under a cache or remote root:
an object's key, and which objects a sharded folder holds, asked cheaply."""

from __future__ import annotations

import os
import time
from collections.abc import Iterable

from gitartifacts.core.hashing import hex_of

# A shard folder is listed instead of asked about name by name while it holds at most about
# sixteen names per name asked (72 bytes a name): listing costs far less per name than a stat.
_LIST_BYTES_PER_ASKED = 16 * 72


def object_key(digest: str) -> str:
    """`sha256/<2 hex>/<62 hex>`, where an object lives under a cache or remote root.

    The one function that turns a digest into a path or key: `hex_of` refuses anything but
    `sha256:` and 64 lowercase hex digits, so no digest read from a manifest, listing,
    patch reference or remote index can name a path outside the objects."""
    h = hex_of(digest)
    return f"sha256/{h[:2]}/{h[2:]}"


def objects_present(prefix: str, digests: Iterable[str]) -> set[str]:
    """Which of `digests` exist as `<prefix><2 hex>/<62 hex>` (a cache, or a remote folder).

    A shard folder that holds few names besides the ones asked for is listed (one call)
    rather than asked about name by name: a 100,000-object checkout or pull asked 100,000
    times. A large shard (an old, big cache) is still asked name by name. The folder's size
    in bytes estimates how many names it holds (about 72 bytes each on ext4); a wrong
    estimate costs time, never correctness. The shard folders are listed first: a digest
    whose shard is not there (all of them, in a cache that packs what is small) is only
    checked, not grouped and looked for (a million-object pull spent 2 s finding nothing).
    Every digest is checked (`hex_of`), whether or not it could be there: a malformed one
    is refused here, with its own error, whatever the cache holds (callers check theirs
    where they read them too; this is the last line before a path).
    """
    try:
        there = set(os.listdir(prefix))
    except (FileNotFoundError, NotADirectoryError):
        there = set()
    shards: dict[str, list[tuple[str, str]]] = {}
    for d in digests:
        h = hex_of(d)
        if h[:2] in there:
            shards.setdefault(h[:2], []).append((d, h[2:]))
    present: set[str] = set()
    for shard, items in shards.items():
        folder = prefix + shard
        names = _shard_names(folder, len(items))
        if names is None:
            present.update(d for d, rest in items if os.path.exists(f"{folder}/{rest}"))
        else:
            present.update(d for d, rest in items if rest in names)
    return present


def _shard_names(folder: str, asked: int) -> set[str] | None:
    """The names in `folder` when listing it is cheaper than asking `asked` times, else None."""
    if asked < 16:
        return None
    try:
        size = os.stat(folder).st_size
    except FileNotFoundError:
        return set()
    return set(os.listdir(folder)) if size <= _LIST_BYTES_PER_ASKED * asked else None


class ShardFolders:
    """Which shard folders exist under `folder`, listed again at most every `TTL` seconds.

    In a shard folder that does not exist no object lies, and no stat is needed to say so:
    an add of 100,000 small files into a packed cache asked of each whether it was loose
    already (100,000 failing stats, 0.4 s of 5). A folder made since the last listing is
    missed for up to `TTL` seconds, so `may_hold` serves only where a wrong "no" is safe (a
    small object packed although a loose copy exists: a duplicate, never a loss)."""

    TTL = 5.0

    def __init__(self, folder: str) -> None:
        self.folder = folder
        self._names: frozenset[str] = frozenset()
        self._listed = -self.TTL

    def may_hold(self, digest: str) -> bool:
        now = time.monotonic()
        if now - self._listed >= self.TTL:
            try:
                self._names = frozenset(os.listdir(self.folder))
            except FileNotFoundError:
                self._names = frozenset()
            self._listed = now
        # Only a set lookup depends on it: no check of the digest (`hex_of`) is needed.
        return digest[7:9] in self._names
