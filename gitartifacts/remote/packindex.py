"""The index of a pack on a remote: the format of core/packformat.py, checked whole before
use, as everything from a remote is."""

from __future__ import annotations

from gitartifacts.core.packfinder import RecentFirst
from gitartifacts.core.packformat import (
    HEADER,
    INDEX_LIMIT,
    Located,
    PackIndex,
    encode,
    header,
    map_index,
    problem,
)
from gitartifacts.errors import CacheError

__all__ = [
    "INDEX_LIMIT",
    "Located",
    "PackIndex",
    "RecentFirst",
    "decode",
    "encode",
    "map_index",
    "problem",
    "unreadable",
]


def decode(pack: str, data: bytes, where: str) -> PackIndex:
    """Check the bytes of pack `pack`'s index (read from `where`, for messages)."""
    bad = problem(data)
    if bad:
        raise unreadable(pack, where, bad)
    count, pack_size = header(data)
    return PackIndex(pack, pack_size, data, HEADER.size, count)


def unreadable(pack: str, where: str, why: str) -> CacheError:
    return CacheError(
        f"pack index {pack}.idx on {where} is unreadable: {why}",
        "delete it there (its pack then counts as garbage), then run git artifacts push "
        "--check-remote in a clone that has the objects",
    )
