"""The folder-by-folder digest walk: every file's digest, from the stat cache once known."""

from __future__ import annotations

import hashlib
from pathlib import Path

from helpers import age_files, write_files

from gitartifacts.core.objects import ObjectStore
from gitartifacts.core.state import State
from gitartifacts.core.workspace.digest_walk import DigestWalk
from gitartifacts.core.workspace.scan import FolderWalk


def _walk(base: Path, state: State) -> tuple[dict[str, str], DigestWalk]:
    walk = DigestWalk(FolderWalk(str(base), ["a", "b-c", "b"]), state, "data", str(base))
    out = {}
    for folder, files in walk:
        for name, digest, _ in files:
            out[f"{folder}/{name}" if folder else name] = digest
    return out, walk


def test_every_file_in_folder_order_hashed_once_then_from_the_stat_cache(tmp_path: Path) -> None:
    # 700 files in one folder: cut into several batches, put back together in order.
    files = {f"data/a/f{i:04}": f"x{i}" for i in range(700)}
    files |= {"data/b/y": "y", "data/b-c": "z", "data/b/sub/deep": "d"}
    write_files(tmp_path, files)
    age_files(tmp_path)
    state = State(tmp_path / "state.db")
    want = {
        p[len("data/") :]: "sha256:" + hashlib.sha256(v.encode()).hexdigest()
        for p, v in files.items()
    }
    got, walk = _walk(tmp_path / "data", state)
    assert got == want
    assert list(got) == sorted(got, key=lambda p: (p.rpartition("/")[0] + "/").encode())
    assert walk.trusted
    cached = state.lookup_paths([f"data/{p}" for p in want])
    assert {p[len("data/") :]: d for p, (_, d) in cached.items()} == want
    (tmp_path / "data/a/f0001").write_text("changed")
    again, _ = _walk(tmp_path / "data", state)
    assert again["a/f0001"] == "sha256:" + hashlib.sha256(b"changed").hexdigest()


def _stored(
    base: Path, state: State, store: ObjectStore, stat: bool
) -> tuple[dict[str, str], DigestWalk, list[str]]:
    held: list[str] = []
    walk = DigestWalk(
        FolderWalk(str(base), ["a", "b-c", "b"], stat=stat),
        state,
        "data",
        str(base),
        store=store,
        held=held.extend,
    )
    out = {}
    for folder, files in walk:
        for name, digest, _ in files:
            out[f"{folder}/{name}" if folder else name] = digest
    return out, walk, held


def test_a_walk_without_stat_data_stats_each_file_as_it_reads_it(tmp_path: Path) -> None:
    """A first add walks names only: the stat rows and the fingerprint it records must be
    what a stat walk finds, and a walk with stat data then hashes nothing."""
    files = {f"data/a/f{i:04}": f"x{i}" for i in range(700)}
    files |= {"data/b/y": "y", "data/b-c": "z", "data/b/sub/deep": "d"}
    write_files(tmp_path, files)
    age_files(tmp_path)
    state = State(tmp_path / "state.db")
    store = ObjectStore(tmp_path / "cache", pack_small=True)
    assert not state.holds_under("data/")
    got, walk, held = _stored(tmp_path / "data", state, store, stat=False)
    store.flush()
    assert got == {
        p[len("data/") :]: "sha256:" + hashlib.sha256(v.encode()).hexdigest()
        for p, v in files.items()
    }
    assert held == []  # all stored by this walk: nothing to renew
    stat_walk = FolderWalk(str(tmp_path / "data"), ["a", "b-c", "b"])
    rows = {f"data/{f}/{r[0]}" if f else f"data/{r[0]}": r[1:] for f, rs in stat_walk for r in rs}
    assert walk.fingerprint == stat_walk.fingerprint
    cached = state.lookup_paths(list(rows))
    assert {p: key for p, (key, _) in cached.items()} == rows
    assert state.holds_under("data/") and not state.holds_under("dat/")
    assert state.holds_under("") and not state.holds_under("data/b/z")
    again, _, held = _stored(tmp_path / "data", state, store, stat=True)
    assert again == got and sorted(held) == sorted(got.values())  # from the cache: renewed


def test_objects_the_cache_held_before_are_given_to_renew(tmp_path: Path) -> None:
    write_files(tmp_path, {f"data/a/f{i}": str(i) for i in range(20)} | {"data/b/y": "y"})
    earlier = ObjectStore(tmp_path / "cache", pack_small=True)  # an earlier command's
    packed = [earlier.add_bytes(str(i).encode()) for i in range(10)]
    earlier.flush()
    loose = [earlier.add_bytes(b"y")]
    earlier.flush()  # a pack of one object is written loose
    assert (tmp_path / "cache/packs").is_dir() and earlier.path(loose[0]).is_file()
    store = ObjectStore(tmp_path / "cache", pack_small=True)
    got, _, held = _stored(tmp_path / "data", State(tmp_path / "state.db"), store, stat=False)
    assert sorted(held) == sorted(packed + loose)
    assert got["b/y"] == loose[0] and set(packed) < set(got.values())
