"""Edit events of logged versions: the fold (pure) and reading one version's note."""

from __future__ import annotations

import json
import subprocess
from typing import Any

from helpers import GitRepo

from gitartifacts.gitmodel import edits
from gitartifacts.gitmodel.notes import read_lines
from gitartifacts.gitmodel.repo import Repo

DIGEST = "sha256:" + "ab" * 32
BASE = edits.Values("first", {"a": 1, "b": 2}, [], None)


def line(t: int, **fields: Any) -> tuple[str, dict[str, Any]]:
    rec = {"ev": "edit", "name": "ds", "version": "v0", "digest": DIGEST, "t": t, "who": "x"}
    rec.update(fields)
    return json.dumps(rec, sort_keys=True), rec


def _with(pair: tuple[str, dict[str, Any]], **fields: Any) -> tuple[str, dict[str, Any]]:
    rec = {**pair[1], **fields}
    return json.dumps(rec, sort_keys=True), rec


def fold(*lines: tuple[str, dict[str, Any]]) -> edits.Values:
    return edits.fold(BASE, edits.events_in(list(lines), "ds", DIGEST))


def test_edits_fold_in_time_order_whatever_order_the_note_holds_them() -> None:
    a = line(2, description="second", tags=["t2"])
    b = line(1, description="one", ttl="30d", tags=["t1"])
    assert fold(a, b) == fold(b, a) == edits.Values("second", {"a": 1, "b": 2}, ["t2"], "30d")


def test_edits_at_the_same_instant_fold_by_their_bytes_so_every_clone_agrees() -> None:
    a = line(5, description="apple", who="a")
    b = line(5, description="banana", who="b")
    assert fold(a, b).description == fold(b, a).description == "banana"  # "who":"b" sorts last


def test_metadata_edits_merge_key_by_key_and_unset_removes_a_key() -> None:
    one = line(1, metadata={"set": {"a": 10}, "unset": []})
    two = line(2, metadata={"set": {"c": 3}, "unset": ["b"]})
    assert fold(one, two).metadata == {"a": 10, "c": 3}


def test_a_line_that_does_not_validate_is_skipped_and_the_others_still_apply() -> None:
    good = line(9, description="kept")
    bad = [
        line(10, description=5),
        line(11, ttl="forever"),
        line(12, tags="not-a-list"),
        line(13, metadata={"set": [], "unset": []}),
        line(14, digest="sha256:" + "cd" * 32, description="another version's"),
        _with(line(15, description="bad time"), t="soon"),
        line(16, version=None, description="no version"),
        line(17, name="other", description="another artifact's"),
    ]
    assert fold(good, *bad).description == "kept"


def test_an_edit_that_would_pass_the_metadata_limit_is_skipped_as_a_whole() -> None:
    many = line(1, metadata={"set": {f"k{i}": i for i in range(98)}, "unset": []})
    too_many = line(2, metadata={"set": {"x": 1}, "unset": []}, description="also skipped")
    got = fold(many, too_many)
    assert len(got.metadata) == 100 and "x" not in got.metadata
    assert got.description == "first"


def test_an_edit_line_carries_only_what_changed() -> None:
    new = edits.Values("first", {"a": 1, "c": 3}, ["t"], "7d")
    ev = edits.edit_line("ds", 0, DIGEST, BASE, new)
    assert ev is not None
    assert ev["metadata"] == {"set": {"c": 3}, "unset": ["b"]}
    assert ev["tags"] == ["t"] and ev["ttl"] == "7d" and "description" not in ev
    assert edits.edit_line("ds", 0, DIGEST, BASE, BASE) is None


def test_the_note_of_one_commit_is_found_under_a_fanned_out_notes_tree(repo: GitRepo) -> None:
    head = repo.head()
    text = json.dumps({"ev": "edit", "x": 1}) + "\nnot json\n{broken\n"
    blob = _blob(repo, text)
    inner = _mktree(repo, f"100644 blob {blob}\t{head[4:]}\n")
    middle = _mktree(repo, f"040000 tree {inner}\t{head[2:4]}\n")
    outer = _mktree(repo, f"040000 tree {middle}\t{head[:2]}\n")
    notes = repo.git("commit-tree", outer, "-m", "notes").strip()
    repo.git("update-ref", "refs/notes/artifacts", notes)
    got = read_lines(Repo.find(repo.root), [head, "0" * 40])
    assert [rec for _, rec in got[head]] == [{"ev": "edit", "x": 1}]
    assert got["0" * 40] == []


def _blob(repo: GitRepo, text: str) -> str:
    proc = subprocess.run(
        ["git", "hash-object", "-w", "--stdin"],
        cwd=repo.root,
        input=text,
        capture_output=True,
        text=True,
        check=True,
    )
    return proc.stdout.strip()


def _mktree(repo: GitRepo, listing: str) -> str:
    proc = subprocess.run(
        ["git", "mktree"], cwd=repo.root, input=listing, capture_output=True, text=True, check=True
    )
    return proc.stdout.strip()
