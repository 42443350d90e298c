"""An add past the inline limit writes a listing streamed folder by folder; status then
compares the work tree with it folder by folder and reports exactly what changed."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from helpers import GitRepo, expected_digest, make_repo, sha

from gitartifacts.core import manifest as mf
from gitartifacts.core.listing import build_listing
from gitartifacts.errors import UsageError
from gitartifacts.gitmodel.project import Project
from gitartifacts.ops import add as ops_add
from gitartifacts.ops import status as ops_status

# Names whose byte order differs from the order of path components, at several depths
# ("a1" is a file beside the folder "a": "a-b" < "a.b" < "a/" < "a0" < "a1").
FILES = {
    "data/a1": "1",
    "data/a-b/x": "2",
    "data/a.b": "3",
    "data/a0/y": "4",
    "data/a/b/c": "5",
    "data/a/b-c": "6",
    "data/é/z": "7",
    "data/z/deep/er/f": "8",
}


def _repo(tmp_path: Path) -> GitRepo:
    repo = make_repo(tmp_path / "repo")
    repo.write(FILES)
    return repo


def test_a_listing_add_equals_the_inline_digest_and_status_sees_each_change(
    tmp_path: Path,
) -> None:
    repo = _repo(tmp_path)
    project = Project.open(repo.root)
    r = ops_add.add(project, [str(repo.root / "data")], name="ds", type="dataset", inline_limit=2)
    m = project.read_manifest("ds", entries=False)
    assert m is not None and m.listing is not None and m.entries is None
    on_disk = {p[len("data/") :]: sha(v.encode()) for p, v in FILES.items()}
    assert r.digest == expected_digest(on_disk)
    entries = project.load_entries(m)
    assert m.listing == build_listing(entries).root
    assert ops_status.status(project, ["ds"])[0].added == []

    repo.write({"data/a-b/x": "changed", "data/z/deep/er/new": "n", "data/top": "t"})
    os.remove(repo.root / "data/a0/y")
    os.remove(repo.root / "data/a1")
    s = ops_status.status(project, ["ds"])[0]
    assert s.modified == ["a-b/x"]
    assert s.added == ["top", "z/deep/er/new"]
    assert s.deleted == ["a0/y", "a1"]

    again = ops_add.add(project, [], name="ds", inline_limit=2)
    assert again.files == len(on_disk) + 2 - 2
    s = ops_status.status(project, ["ds"])[0]
    assert (s.added, s.modified, s.deleted) == ([], [], [])
    m2 = project.read_manifest("ds")
    assert m2 is not None and m2.entries is not None
    assert m2.digest == mf.entries_digest(m2.entries)


def test_an_add_under_the_limit_stays_inline(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    project = Project.open(repo.root)
    ops_add.add(project, [str(repo.root / "data")], name="ds", type="dataset")
    m = project.read_manifest("ds", entries=False)
    assert m is not None and m.listing is None and m.entries is not None
    assert list(m.entries) == sorted(m.entries, key=str.encode)


def test_a_path_inside_a_listing_artifact_is_refused_as_an_overlap(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    project = Project.open(repo.root)
    some = [str(repo.root / "data" / n) for n in ("a-b", "z")]
    ops_add.add(project, some, name="ds", type="dataset", inline_limit=1)
    m = project.read_manifest("ds", entries=False)
    assert m is not None and m.listing is not None
    with pytest.raises(UsageError, match="overlaps data/z"):
        ops_add.add(project, [str(repo.root / "data/z/deep")], name="other", type="dataset")
