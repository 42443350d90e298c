"""The shared folder order: the work tree walk and the listing tree visit folders in the same
order, a merge of the two pairs every folder once, and limits hold while walking lazily."""

from __future__ import annotations

import os

import pytest

from gitartifacts.core.foldertree import (
    folder_key,
    inline_tree,
    iter_tree,
    merge_folders,
    read_entries,
)
from gitartifacts.core.listing import build_listing
from gitartifacts.core.manifest import Entry
from gitartifacts.core.workspace.scan import FolderWalk, scan
from gitartifacts.errors import ManifestError

# Names whose byte order differs from their order as path components: "a" < "a-b" < "a.b" <
# "a0", but "a/" sorts after "a-b/" and "a.b/" and before "a0/".
NAMES = ["a/x", "a/b/y", "a-b/z", "a.b/q", "a0/r", "a00", "top", "a/é/u", "a/b-c/v", "b/c/d/e"]


def _entries() -> dict[str, Entry]:
    return {p: Entry("sha256:" + f"{i:064x}", i + 1) for i, p in enumerate(NAMES)}


def test_listing_folders_come_in_folder_order_with_their_own_lines() -> None:
    built = build_listing(_entries())
    folders = list(iter_tree(built.root, built.objects.__getitem__, files=len(NAMES)))
    paths = [f.path for f in folders]
    assert paths == sorted(paths, key=folder_key)
    assert paths[0] == ""
    files = {
        (f"{f.path}/{name}" if f.path else name)
        for f in folders
        for kind, name, _ in f.lines
        if kind == "f"
    }
    assert files == set(NAMES)


def test_the_work_tree_walk_matches_the_listing_order(tmp_path: str) -> None:
    base = str(tmp_path)
    for p in NAMES:
        os.makedirs(os.path.join(base, os.path.dirname(p)), exist_ok=True)
        with open(os.path.join(base, p), "w") as f:
            f.write(p)
    walk = FolderWalk(base, sorted(os.listdir(base)))
    walked = [folder for folder, _ in walk]
    built = build_listing(_entries())
    listed = [f.path for f in iter_tree(built.root, built.objects.__getitem__) if f.lines]
    with_files = {os.path.dirname(p) for p in NAMES}
    assert walked == [p for p in listed if p in with_files]
    assert walk.fingerprint == scan(base, sorted(os.listdir(base))).fingerprint
    paired = list(
        merge_folders(
            iter(FolderWalk(base, sorted(os.listdir(base)))),
            ((f.path, f) for f in iter_tree(built.root, built.objects.__getitem__)),
        )
    )
    assert [p for p, _, _ in paired] == listed
    assert all(w is not None for p, w, t in paired if p in with_files)


def test_a_tree_holding_more_files_than_declared_stops_while_walking() -> None:
    root, fetch = inline_tree(_entries())
    with pytest.raises(ManifestError, match="more than the 3 files"):
        list(iter_tree(root, fetch, files=3))


def test_a_listing_object_that_does_not_match_its_name_is_refused() -> None:
    built = build_listing(_entries())

    def fetch(hex_: str) -> bytes:
        data = built.objects[hex_]
        return data + b"f\tzz\tsha256:" + b"0" * 64 + b"\t1\n" if hex_ != built.root[7:] else data

    with pytest.raises(ManifestError, match="do not match"):
        list(iter_tree(built.root, fetch))


def test_the_entries_read_back_are_the_entries_built() -> None:
    entries = _entries()
    built = build_listing(entries)
    assert read_entries(built.root, built.objects.__getitem__) == entries
