"""The streamed listing builder against the whole-dict one: same objects, digest, totals."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from gitartifacts.core import manifest as mf
from gitartifacts.core.foldertree import folder_key
from gitartifacts.core.listing import build_listing
from gitartifacts.core.listing_build import Built, ListingBuilder
from gitartifacts.errors import UsageError

# Names whose byte order differs from the order of path components: "a-b" < "a/" < "a0".
NAMES = ["a", "a-b", "a.b", "a0", "b", "é", "a b", "Z", "ü-x"]


def _stream(entries: dict[str, mf.Entry], limit: int) -> tuple[Built, dict[str, bytes]]:
    put: dict[str, bytes] = {}
    b = ListingBuilder(put.__setitem__, limit)
    rows = sorted(
        ((p.rpartition("/")[0], p.rpartition("/")[2], e) for p, e in entries.items()),
        key=lambda r: (folder_key(r[0]), r[1].encode()),
    )
    for folder, name, e in rows:
        b.add(folder, name, e)
    return b.finish(), put


def _entry(i: int, ref: bool) -> mf.Entry:
    digest = "sha256:" + hashlib.sha256(str(i).encode()).hexdigest()
    if ref:
        return mf.Entry(digest, i, ref=f"s3://bucket/k{i}", version_id=f"v{i}")
    return mf.Entry(digest, i)


def _no_clash(paths: list[str]) -> dict[str, mf.Entry]:
    out: dict[str, mf.Entry] = {}
    for i, p in enumerate(dict.fromkeys(paths)):
        parts = p.split("/")
        parents = {"/".join(parts[:k]) for k in range(1, len(parts))}
        if parents & set(out) or any(q.startswith(p + "/") for q in out):
            continue
        out[p] = _entry(i, i % 7 == 3)
    return out


paths = st.lists(
    st.lists(st.sampled_from(NAMES), min_size=1, max_size=4).map("/".join), max_size=60
)


@settings(max_examples=200, deadline=None)
@given(paths)
def test_streamed_listing_equals_the_whole_one(ps: list[str]) -> None:
    entries = _no_clash(ps)
    assume(entries)
    built, put = _stream(entries, limit=0)
    whole = build_listing(entries)
    assert built.root == whole.root
    assert put == whole.objects
    assert built.digest == mf.entries_digest(entries)
    assert built.size == sum(e.size for e in entries.values())
    assert built.files == len(entries)
    assert built.tops == sorted({p.split("/", 1)[0] for p in entries})
    assert built.entries is None


def test_up_to_the_limit_the_entries_stay_inline_and_nothing_is_written() -> None:
    entries = _no_clash(["a/b", "a-b", "a0/c", "é"])
    built, put = _stream(entries, limit=4)
    assert put == {}
    assert built.root is None
    assert built.entries is not None
    assert list(built.entries) == sorted(entries, key=str.encode)
    assert built.digest == mf.entries_digest(entries)


def test_passing_the_limit_writes_the_objects_held_so_far() -> None:
    entries = _no_clash([f"d{i // 3}/f{i}" for i in range(12)])
    built, put = _stream(entries, limit=5)
    assert put == build_listing(entries).objects
    assert built.root == build_listing(entries).root


def test_an_empty_artifact_has_the_empty_digest() -> None:
    built, _ = _stream({}, limit=0)
    assert built.digest == mf.entries_digest({})
    assert built.entries == {}
    assert built.files == 0


def test_a_file_and_a_folder_of_one_name_are_refused() -> None:
    b = ListingBuilder(lambda h, d: None, 0)
    b.add("", "a", _entry(1, False))
    b.add("a", "x", _entry(2, False))
    with pytest.raises(UsageError, match="file and also a folder"):
        b.finish()


def test_entries_out_of_order_are_a_programming_error() -> None:
    b = ListingBuilder(lambda h, d: None, 0)
    b.add("b", "x", _entry(1, False))
    with pytest.raises(ValueError, match="out of order"):
        b.add("a", "x", _entry(2, False))
    b2 = ListingBuilder(lambda h, d: None, 0)
    b2.add("", "b", _entry(1, False))
    with pytest.raises(ValueError, match="out of order"):
        b2.add("", "a", _entry(2, False))
