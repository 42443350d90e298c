"""The index of a pack: which objects a pack on a remote holds, at which offset and length.

Binary, big-endian (see docs/design.md, "Packs on a remote"):

    header   8 bytes  b"GAPKIDX\\n"
             4 bytes  format version (1)
             4 bytes  number of records N
             8 bytes  size of the pack in bytes
    records  N x 48   sha256 (32 raw bytes), offset (8), length (8); sorted by digest, unique
    trailer  32 bytes sha256 of everything above

An index comes from a remote, so everything is checked before it is used: the trailer, the
order, and that every record lies inside the pack and is at most `SMALL` bytes.
"""

from __future__ import annotations

import bisect
import hashlib
import struct
from array import array
from collections.abc import Collection, Iterable, Iterator
from typing import NamedTuple

from gitartifacts.core.objects import SMALL
from gitartifacts.errors import CacheError

MAGIC = b"GAPKIDX\n"
VERSION = 1
_HEADER = struct.Struct(">8sIIQ")
_RECORD = struct.Struct(">32sQQ")
_TRAILER = 32
# An index larger than this is refused unread (2 million records of 48 bytes).
INDEX_LIMIT = _HEADER.size + 2_000_000 * _RECORD.size + _TRAILER


class Located(NamedTuple):
    """Where one object lies: the pack (its hex name), offset and length."""

    pack: str
    offset: int
    length: int


class PackIndex:
    """A checked index, held as its raw records (48 bytes an object, no object per entry)."""

    def __init__(self, pack: str, pack_size: int, records: bytes) -> None:
        self.pack = pack
        self.pack_size = pack_size
        self.records = records
        self.count = len(records) // _RECORD.size
        self._fanout: array[int] | None = None

    def __iter__(self) -> Iterator[tuple[str, int, int]]:
        """(digest, offset, length) of every record, in digest order."""
        for raw, offset, length in _RECORD.iter_unpack(self.records):
            yield "sha256:" + raw.hex(), offset, length

    def find(self, digest: str) -> Located | None:
        """Where `digest` lies in this pack, if it is there (a binary search)."""
        raw = bytes.fromhex(digest[7:])
        if self._fanout is None:
            self._fanout = _fanout(self.records, self.count)
        top = int.from_bytes(raw[:2], "big")
        lo, hi = self._fanout[top], self._fanout[top + 1]
        i = bisect.bisect_left(_Keys(self.records), raw, lo, hi)
        if i < hi and _key(self.records, i) == raw:
            _, offset, length = _RECORD.unpack_from(self.records, i * _RECORD.size)
            return Located(self.pack, offset, length)
        return None

    def locate(self, wanted: Collection[bytes]) -> Iterator[tuple[bytes, Located]]:
        """(raw digest, where) of the objects of `wanted` (raw 32-byte digests) held here."""
        for raw, offset, length in _RECORD.iter_unpack(self.records):
            if raw in wanted:
                yield raw, Located(self.pack, offset, length)


def encode(records: Iterable[tuple[str, int, int]], pack_size: int) -> bytes:
    """The index of a pack of `pack_size` bytes holding (digest, offset, length) records."""
    rows = sorted((bytes.fromhex(d[7:]), off, n) for d, off, n in records)
    body = _HEADER.pack(MAGIC, VERSION, len(rows), pack_size) + b"".join(
        _RECORD.pack(*row) for row in rows
    )
    return body + hashlib.sha256(body).digest()


def decode(pack: str, data: bytes, where: str) -> PackIndex:
    """Check the bytes of pack `pack`'s index (read from `where`, for messages)."""
    bad = _problem(data)
    if bad:
        raise unreadable(pack, where, bad)
    _, _, count, pack_size = _HEADER.unpack_from(data)
    return PackIndex(pack, pack_size, data[_HEADER.size : _HEADER.size + count * _RECORD.size])


def unreadable(pack: str, where: str, why: str) -> CacheError:
    return CacheError(
        f"pack index {pack}.idx on {where} is unreadable: {why}",
        "delete it there (its pack then counts as garbage), then run git artifacts push "
        "--check-remote in a clone that has the objects",
    )


def _problem(data: bytes) -> str | None:
    if len(data) < _HEADER.size + _TRAILER or len(data) > INDEX_LIMIT:
        return "its size is wrong"
    if hashlib.sha256(data[:-_TRAILER]).digest() != data[-_TRAILER:]:
        return "its checksum does not match"
    magic, version, count, pack_size = _HEADER.unpack_from(data)
    if magic != MAGIC:
        return "it is not a pack index"
    if version != VERSION:
        return f"format {version} is not known here (upgrade gitartifacts)"
    if len(data) != _HEADER.size + count * _RECORD.size + _TRAILER:
        return "its length does not match its record count"
    prev = b""
    for raw, offset, length in _RECORD.iter_unpack(data[_HEADER.size : -_TRAILER]):
        if raw <= prev:
            return "its records are not sorted"
        if length > SMALL or offset + length > pack_size:
            return "a record lies outside its pack"
        prev = raw
    return None


def _fanout(records: bytes, count: int) -> array[int]:
    """For each 2-byte digest prefix p, the first record at or above it (git's fan-out
    table, one level finer): a lookup then searches the few records of its prefix."""
    out = array("I", bytes(4 * 65537))
    for i in range(count):
        out[int.from_bytes(records[i * _RECORD.size : i * _RECORD.size + 2], "big") + 1] += 1
    for p in range(65536):
        out[p + 1] += out[p]
    return out


def _key(records: bytes, i: int) -> bytes:
    start = i * _RECORD.size
    return records[start : start + 32]


class _Keys:
    """The digests of an index's records as a sequence, for `bisect`."""

    def __init__(self, records: bytes) -> None:
        self.records = records

    def __len__(self) -> int:
        return len(self.records) // _RECORD.size

    def __getitem__(self, i: int) -> bytes:
        return _key(self.records, i)
