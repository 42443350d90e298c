"""The binary index of a pack: which objects a pack holds, at which offset and length.

One format serves the packs on a remote and those of the local cache. Big-endian (see
docs/design.md, "Packs on a remote"):

    header   8 bytes  b"GAPKIDX\\n"
             4 bytes  format version (1)
             4 bytes  number of records N
             8 bytes  size of the pack in bytes
    records  N x 48   sha256 (32 raw bytes), offset (8), length (8); sorted by digest, unique
    trailer  32 bytes sha256 of everything above

`problem` checks an index whole (the trailer, the order, every record inside its pack and
at most `SMALL` bytes); `PackIndex` reads records from any buffer (bytes, or an mmap of a
local index), so a lookup never turns the records into Python objects.
"""

from __future__ import annotations

import bisect
import hashlib
import mmap
import os
import struct
from array import array
from collections.abc import Callable, Collection, Iterable, Iterator
from typing import NamedTuple

# Objects up to this size are small: read whole, and the ones packs hold.
SMALL = 1 << 20
MAGIC = b"GAPKIDX\n"
VERSION = 1
HEADER = struct.Struct(">8sIIQ")
RECORD = struct.Struct(">32sQQ")
# A record's digest as four 64-bit words, the rest skipped; a digest alone, the same.
_RECORD_WORDS = struct.Struct(">4Q16x")
_DIGEST_WORDS = struct.Struct(">4Q")
TRAILER = 32
# Records of one 2-byte prefix up to this many are compared in turn, more are bisected.
_SCAN = 8
# Lookups that miss an index before it builds a filter of its digests: a few lookups
# never pay for one, a walk over a million absent objects does not read every index page.
FILTER_AFTER = 1024
# An index larger than this is refused unread (2 million records of 48 bytes).
INDEX_LIMIT = HEADER.size + 2_000_000 * RECORD.size + TRAILER


class Located(NamedTuple):
    """Where one object lies: the pack (its hex name), offset and length."""

    pack: str
    offset: int
    length: int


class PackIndex:
    """The records of a checked index (48 bytes an object, no object per entry), held in
    `buf` from byte `base` on: the index's bytes, or an mmap of its file."""

    def __init__(
        self, pack: str, pack_size: int, records: bytes, base: int = 0, count: int = -1
    ) -> None:
        self.pack = pack
        self.pack_size = pack_size
        self.records = records
        self.base = base
        self.count = len(records) // RECORD.size if count < 0 else count
        # Digest prefix bits the fan-out table resolves: about one record a slot, so a pack
        # of 7,000 objects has a table of 32 KiB, not 256 KiB (a pull maps hundreds).
        self._bits = min(16, max(8, self.count.bit_length()))
        self._fanout: array[int] | None = None
        self._misses = 0
        self._filter: Filter | None = None

    def __iter__(self) -> Iterator[tuple[str, int, int]]:
        """(digest, offset, length) of every record, in digest order."""
        for raw, offset, length in self.rows():
            yield "sha256:" + raw.hex(), offset, length

    def find(self, digest: str) -> Located | None:
        """Where `digest` lies in this pack, if it is there (a binary search)."""
        return self.find_raw(bytes.fromhex(digest[7:]))

    def find_raw(self, raw: bytes) -> Located | None:
        """`find` for a raw 32-byte digest."""
        if self._filter is not None and not self._filter.may_hold(raw):
            return None
        hit = self._search(raw)
        if hit is None:
            self._misses += 1
            if self._misses >= FILTER_AFTER and self._filter is None:
                built = Filter(self.count)
                built.add(self)
                self._filter = built  # only once whole: other threads look without a lock
                self.release()
        return hit

    def _search(self, raw: bytes) -> Located | None:
        if self._fanout is None:
            self._fanout = _fanout(self.records, self.base, self.count, self._bits)
            self.release()  # the table read every page: the lookups read again the few
        top = int.from_bytes(raw[:2], "big") >> (16 - self._bits)
        lo, hi = self._fanout[top], self._fanout[top + 1]
        if hi - lo > _SCAN:
            lo = bisect.bisect_left(_Keys(self.records, self.base, self.count), raw, lo, hi)
        for i in range(lo, hi):  # the few records of this prefix (a pack of 65,536: one)
            at = self.base + i * RECORD.size
            key = self.records[at : at + 32]
            if key == raw:
                _, offset, length = RECORD.unpack_from(self.records, at)
                return Located(self.pack, offset, length)
            if key > raw:
                break
        return None

    def locate(self, wanted: Collection[bytes]) -> Iterator[tuple[bytes, Located]]:
        """(raw digest, where) of the objects of `wanted` (raw 32-byte digests) held here:
        looked up one by one when they are few next to the index (a batch of 20,000 against
        the packs of a million objects), else by one pass over the records."""
        if len(wanted) * 16 < self.count:
            for raw in wanted:
                where = self.find_raw(raw)
                if where is not None:
                    yield raw, where
            return
        for raw, offset, length in self.rows():
            if raw in wanted:
                yield raw, Located(self.pack, offset, length)

    def release(self) -> None:
        """Let the kernel take back the pages of a mapped index (they count in the RSS
        until then); the next lookup reads the few it needs again."""
        if isinstance(self.records, mmap.mmap):
            self.records.madvise(mmap.MADV_DONTNEED)

    def rows(self) -> Iterator[tuple[bytes, int, int]]:
        """(raw digest, offset, length) of every record, in digest order."""
        end = self.base + self.count * RECORD.size
        return RECORD.iter_unpack(memoryview(self.records)[self.base : end])


def encode(records: Iterable[tuple[str, int, int]], pack_size: int) -> bytes:
    """The index of a pack of `pack_size` bytes holding (digest, offset, length) records."""
    rows = b"".join(RECORD.pack(bytes.fromhex(d[7:]), off, n) for d, off, n in records)
    return encode_raw(rows, pack_size)


def encode_raw(rows: bytes | bytearray, pack_size: int) -> bytes:
    """`encode` from packed 48-byte records in any order; of records repeating a digest,
    the first is kept (a writer may store the same bytes twice)."""
    size = RECORD.size
    ordered = sorted(bytes(rows[i : i + size]) for i in range(0, len(rows), size))
    unique = [r for i, r in enumerate(ordered) if i == 0 or r[:32] != ordered[i - 1][:32]]
    body = HEADER.pack(MAGIC, VERSION, len(unique), pack_size) + b"".join(unique)
    return body + hashlib.sha256(body).digest()


def header(data: bytes) -> tuple[int, int]:
    """(record count, pack size) of an index that passed `problem` or `quick_problem`."""
    _, _, count, pack_size = HEADER.unpack_from(data)
    return count, pack_size


def problem(data: bytes) -> str | None:
    """What is wrong with these index bytes, None when nothing: every record is checked."""
    bad = quick_problem(data)
    if bad:
        return bad
    _, pack_size = header(data)
    prev = b""
    for raw, offset, length in RECORD.iter_unpack(memoryview(data)[HEADER.size : -TRAILER]):
        if raw <= prev:
            return "its records are not sorted"
        if length > SMALL or offset + length > pack_size:
            return "a record lies outside its pack"
        prev = raw
    return None


def quick_problem(data: bytes) -> str | None:
    """`problem` short of walking the records (an index this cache wrote: whatever a record
    says, the bytes read through it are hashed before use)."""
    if len(data) < HEADER.size + TRAILER or len(data) > INDEX_LIMIT:
        return "its size is wrong"
    if hashlib.sha256(memoryview(data)[:-TRAILER]).digest() != data[-TRAILER:]:
        return "its checksum does not match"
    magic, version, count, _ = HEADER.unpack_from(data)
    if magic != MAGIC:
        return "it is not a pack index"
    if version != VERSION:
        return f"format {version} is not known here (upgrade gitartifacts)"
    if len(data) != HEADER.size + count * RECORD.size + TRAILER:
        return "its length does not match its record count"
    return None


def map_index(name: str, path: str, check: Callable[[bytes], str | None]) -> PackIndex | None:
    """The index file at `path` mapped in, not read (a lookup reads the pages it needs);
    None when `check` finds it unsound. Raises OSError when it cannot be opened."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        size = os.fstat(fd).st_size
        if size < HEADER.size + TRAILER:
            return None
        mm = mmap.mmap(fd, size, prot=mmap.PROT_READ)
    finally:
        os.close(fd)
    if check(mm) is not None:  # type: ignore[arg-type]
        mm.close()
        return None
    # The check read every page: let the kernel drop them until lookups need a few.
    mm.madvise(mmap.MADV_DONTNEED)
    count, pack_size = header(mm)  # type: ignore[arg-type]
    return PackIndex(name, pack_size, mm, HEADER.size, count)  # type: ignore[arg-type]


def _fanout(records: bytes, base: int, count: int, bits: int) -> array[int]:
    """For each digest prefix p of `bits` bits, the first record at or above it (git's
    fan-out table, finer): a lookup then searches the few records of its prefix."""
    slots = 1 << bits
    out = array("I", bytes(4 * (slots + 1)))
    size, shift = RECORD.size, 16 - bits
    for i in range(count):
        at = base + i * size
        out[(int.from_bytes(records[at : at + 2], "big") >> shift) + 1] += 1
    for p in range(slots):
        out[p + 1] += out[p]
    return out


class Filter:
    """A Bloom filter of digests, `per_key` bits a digest for `capacity` of them (an index's:
    10 bits, under 2% false positives): a lookup of an object the pack lacks, the usual case
    among many packs, costs a few bit tests and reads no page of the index. Digests are
    uniform, so their own four 64-bit words serve as the four hashes. Bits are only ever
    set, so threads may read a filter while another adds to it."""

    def __init__(self, capacity: int, per_key: int = 10) -> None:
        self.capacity = capacity
        self.size = max(64, per_key * capacity)
        self.bits = bytearray(self.size // 8 + 1)
        self.count = 0

    def add(self, index: PackIndex) -> None:
        """The digests of `index`, its records' words unpacked in C and the four bits of each
        set in line: a million digests in 0.4 s, where slicing each digest took 1.5 s."""
        size, bits = self.size, self.bits
        view = memoryview(index.records)[index.base : index.base + index.count * RECORD.size]
        for a, b, c, d in _RECORD_WORDS.iter_unpack(view):
            p = a % size
            bits[p >> 3] |= 1 << (p & 7)
            p = b % size
            bits[p >> 3] |= 1 << (p & 7)
            p = c % size
            bits[p >> 3] |= 1 << (p & 7)
            p = d % size
            bits[p >> 3] |= 1 << (p & 7)
        self.count += index.count

    def may_hold(self, raw: bytes) -> bool:
        size, bits = self.size, self.bits
        for word in _DIGEST_WORDS.unpack_from(raw):
            p = word % size
            if not bits[p >> 3] & (1 << (p & 7)):
                return False
        return True


class _Keys:
    """The digests of an index's records as a sequence, for `bisect`."""

    def __init__(self, records: bytes, base: int, count: int) -> None:
        self.records = records
        self.base = base
        self.count = count

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, i: int) -> bytes:
        start = self.base + i * RECORD.size
        return bytes(self.records[start : start + 32])
