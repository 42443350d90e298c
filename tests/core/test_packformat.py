"""Pack indexes: lookups with a fan-out sized to the index, mapped index files, and the
finder that tries the indexes that answered last first."""

from __future__ import annotations

import hashlib
from pathlib import Path

from gitartifacts.core.packfinder import UNION_AFTER, RecentFirst
from gitartifacts.core.packformat import (
    FILTER_AFTER,
    Located,
    PackIndex,
    encode,
    map_index,
    problem,
    quick_problem,
)


def _digest(i: int) -> str:
    return "sha256:" + hashlib.sha256(str(i).encode()).hexdigest()


def _index(name: str, numbers: range) -> PackIndex:
    records = [(_digest(i), 10 * n, 10) for n, i in enumerate(numbers)]
    data = encode(sorted(records), 10 * len(records))
    assert problem(data) is None
    return PackIndex(name, 10 * len(records), data[24:-32])


class _Counting(PackIndex):
    """Counts its lookups and releases."""

    def __init__(self, index: PackIndex) -> None:
        super().__init__(index.pack, index.pack_size, index.records)
        self.lookups = self.releases = 0

    def find_raw(self, raw: bytes) -> Located | None:
        self.lookups += 1
        return super().find_raw(raw)

    def release(self) -> None:
        self.releases += 1


def test_every_record_is_found_and_no_other_whatever_the_index_size() -> None:
    for count in (1, 3, 300, 5000, 70_000):
        index = _index("p", range(count))
        records = {d: (offset, length) for d, offset, length in index}
        assert len(records) == count
        for n in (0, count // 2, count - 1):
            assert index.find(_digest(n)) == Located("p", *records[_digest(n)])
        assert index.find(_digest(count)) is None
        assert index.find(_digest(-1)) is None


def test_the_finder_tries_the_index_that_answered_last_first_and_releases_the_ones_it_leaves() -> (
    None
):
    indexes = [_Counting(_index(f"p{k}", range(100 * k, 100 * k + 100))) for k in range(8)]
    finder = RecentFirst(indexes)
    where = finder.find(bytes.fromhex(_digest(750)[7:]))
    assert where is not None and where.pack == "p7"
    assert [i.lookups for i in indexes] == [1] * 8  # the first lookup goes through all
    assert all(i.releases == 1 for i in indexes)  # once its table is made, read whole
    for i in indexes:
        i.lookups = i.releases = 0
    for n in range(700, 800):  # the same pack again: one lookup each
        assert finder.find(bytes.fromhex(_digest(n)[7:])) is not None
    assert indexes[7].lookups == 100 and sum(i.lookups for i in indexes) == 100
    # Answers from five other packs: the oldest of the few kept is released.
    for k in (0, 1, 2, 3):
        assert finder.find(bytes.fromhex(_digest(100 * k)[7:])) is not None
    assert indexes[7].releases == 1 and all(i.releases == 0 for i in indexes[:7])
    assert finder.find(bytes.fromhex(_digest(10_000)[7:])) is None


def test_a_mapped_index_file_answers_as_its_bytes_do_and_a_damaged_one_is_refused(
    tmp_path: Path,
) -> None:
    records = sorted((_digest(i), 7 * i, 7) for i in range(1000))
    data = encode(records, 7000)
    path = tmp_path / "a.idx"
    path.write_bytes(data)
    mapped = map_index("a", str(path), problem)
    assert mapped is not None and mapped.count == 1000
    assert list(mapped) == records
    assert mapped.find(_digest(123)) == Located("a", 861, 7)
    mapped.release()  # the pages go; the next lookup reads them again
    assert mapped.find(_digest(999)) == Located("a", 6993, 7)
    broken = bytearray(data)
    broken[100] ^= 1
    path.write_bytes(bytes(broken))
    assert map_index("a", str(path), quick_problem) is None
    path.write_bytes(data[:20])
    assert map_index("a", str(path), quick_problem) is None


class _Searching(PackIndex):
    """Counts the searches of its records (what the filter saves)."""

    searches = 0

    def _search(self, raw: bytes) -> Located | None:
        self.searches += 1
        return super()._search(raw)


def test_after_many_misses_an_index_answers_misses_from_its_filter_and_finds_all_it_holds() -> None:
    plain = _index("p", range(5000))
    index = _Searching("p", plain.pack_size, plain.records)
    absent = [bytes.fromhex(_digest(i)[7:]) for i in range(5000, 15_000)]
    assert all(index.find_raw(raw) is None for raw in absent[:FILTER_AFTER])
    assert (
        index.searches == FILTER_AFTER
    )  # no filter for the first ones (a few lookups pay nothing)
    index.searches = 0
    assert all(index.find_raw(raw) is None for raw in absent[FILTER_AFTER:])
    assert index.searches < 0.05 * len(absent[FILTER_AFTER:])  # false positives only
    assert all(index.find(_digest(i)) == plain.find(_digest(i)) for i in range(5000))


def test_after_many_misses_one_filter_of_all_indexes_answers_them_and_is_carried_on() -> None:
    indexes = [_Counting(_index(f"p{k}", range(100 * k, 100 * k + 100))) for k in range(8)]
    finder = RecentFirst(indexes)
    absent = [bytes.fromhex(_digest(-n - 1)[7:]) for n in range(UNION_AFTER + 200)]
    for raw in absent[:UNION_AFTER]:
        assert finder.find(raw) is None
    looked = sum(i.lookups for i in indexes)
    assert looked == 8 * UNION_AFTER  # each miss asked every index
    for raw in absent[UNION_AFTER:]:
        assert finder.find(raw) is None
    # 200 more misses: nearly all answered by the one filter (0.25% false positives).
    assert sum(i.lookups for i in indexes) - looked < 8 * 10
    for n in range(800):  # every object is still found
        assert finder.find(bytes.fromhex(_digest(n)[7:])) is not None
    # A finder made as a pack comes takes the filter over, with the new pack's digests in it.
    extra = _Counting(_index("p8", range(800, 900)))
    after = RecentFirst([*indexes, extra], previous=finder)
    assert after.find(bytes.fromhex(_digest(850)[7:])) == extra.find(_digest(850))
    before = sum(i.lookups for i in indexes)  # none of these is among the few asked first
    for raw in absent:
        assert after.find(raw) is None
    # No ramp-up of misses asking every index: the filter was there from the start.
    assert sum(i.lookups for i in indexes) - before < 8 * 10


def test_a_carried_filter_that_would_overflow_is_built_again_larger_at_once() -> None:
    small = [_index(f"p{k}", range(100 * k, 100 * k + 100)) for k in range(5)]
    finder = RecentFirst(small)
    for n in range(UNION_AFTER):
        finder.find(bytes.fromhex(_digest(-n - 1)[7:]))
    assert finder._union is not None
    big = _index("big", range(1000, 1000 + finder._union.capacity))
    after = RecentFirst([*small, big], previous=finder)
    # Over capacity: a larger filter of every index, not the carried one.
    assert after._union is not None and after._union.capacity > finder._union.capacity
    assert after._union.members == {index.pack for index in [*small, big]}
    for n in (5, 1000, 1000 + finder._union.capacity - 1):
        assert after.find(bytes.fromhex(_digest(n)[7:])) is not None
    assert after.find(bytes.fromhex(_digest(-1)[7:])) is None


def test_after_a_miss_the_filter_answers_before_the_recent_indexes() -> None:
    indexes = [_index(f"p{k}", range(100 * k, 100 * k + 100)) for k in range(8)]
    finder = RecentFirst(indexes)
    for n in range(UNION_AFTER):  # misses: the filter of all the indexes is built
        finder.find(bytes.fromhex(_digest(-n - 1)[7:]))
    assert finder.find(bytes.fromhex(_digest(750)[7:])) is not None
    asked: list[str] = []
    for index in indexes:
        find_raw = index.find_raw
        index.find_raw = lambda raw, f=find_raw, p=index.pack: asked.append(p) or f(raw)  # type: ignore[method-assign,misc]
    assert finder.find(bytes.fromhex(_digest(-5000)[7:])) is None
    assert asked == ["p7"]  # after a hit: the recent index first, then the filter
    asked.clear()
    assert finder.find(bytes.fromhex(_digest(-5001)[7:])) is None
    assert asked == []  # after a miss: the filter alone
    assert finder.find(bytes.fromhex(_digest(751)[7:])) is not None  # and hits still found
