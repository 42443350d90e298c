"""`git artifacts edit`, `show --history` and alias removal, end to end: edits are events in
the notes, never a new version; bad input is one line and writes nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import GitRepo, assert_unchanged, clone, lines, stderr_error_line


@pytest.mark.slow
def test_edit_changes_what_show_and_log_report_and_keeps_the_version(bikes: GitRepo) -> None:
    before = bikes.ga_json("show", "bikes:v0")
    out = bikes.ga(
        "edit", "bikes:v0", "--description", "Bike photos", "--set-metadata", "classes=12",
        "--set-metadata", "source=cam 3", "--tag", "raw", "--tag", "2024", "--ttl", "30d",
    ).stdout  # fmt: skip
    assert "bikes:v0: edited description, metadata, tags, ttl" in out
    d = bikes.ga_json("show", "bikes:latest")
    assert d["description"] == "Bike photos" and d["ttl"] == "30d"
    assert d["metadata"] == {"classes": 12, "source": "cam 3"}
    assert d["tags"] == ["raw", "2024"]
    assert (d["digest"], d["commit"], d["version"]) == (
        before["digest"],
        before["commit"],
        before["version"],
    )
    bikes.ga("edit", "bikes:v0", "--metadata", '{"only": true}', "--untag", "raw", "--ttl", "none")
    d = bikes.ga_json("show", "bikes:v0")
    assert d["metadata"] == {"only": True} and d["tags"] == ["2024"] and d["ttl"] is None
    assert (
        bikes.ga("edit", "bikes:v0", "--tag", "2024").stdout.strip().endswith("nothing to change")
    )
    assert [r["tags"] for r in bikes.ga_json("log", "bikes")] == [["2024"]]
    assert bikes.tags() == ["artifacts/bikes/latest", "artifacts/bikes/v0"]
    assert bikes.git("status", "--porcelain") == ""


@pytest.mark.slow
def test_show_history_lists_edits_and_alias_moves_in_order_one_safe_line_each(
    bikes: GitRepo,
) -> None:
    bikes.ga("edit", "bikes:v0", "--description", "red\x1b[31m\nforged: line")
    bikes.ga("alias", "bikes:v0", "best")
    bikes.ga("alias", "--delete", "bikes", "best")
    shown = lines(bikes.ga("show", "bikes:v0", "--history").stdout)
    assert len(shown) == 4 and "\x1b" not in "".join(shown)
    assert shown[0].endswith("alias latest -> v0")
    assert "edit v0: description" in shown[1] and "\\u001b" in shown[1] and "\\n" in shown[1]
    assert shown[2].endswith("alias best -> v0")
    assert shown[3].endswith("alias best removed (was v0)")
    events = bikes.ga_json("show", "bikes:v0", "--history")
    assert [e["ev"] for e in events] == ["alias", "edit", "alias", "alias"]
    assert events[1]["description"] == "red\x1b[31m\nforged: line"
    assert all(e["who"] and e["time"] for e in events)


@pytest.mark.slow
def test_latest_can_be_removed_and_put_back_on_the_newest_version(bikes: GitRepo) -> None:
    assert bikes.ga("alias", "--delete", "bikes", "latest").stdout.startswith("deleted")
    assert bikes.ga_json("show", "bikes:v0")["aliases"] == []
    assert bikes.ga_json("show", "bikes:latest")["version"] == "v0"
    assert "bikes:latest -> v0" in bikes.ga("alias", "bikes:v0", "latest").stdout
    assert bikes.ga_json("show", "bikes:v0")["aliases"] == ["latest"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("alias", "--delete", "bikes", "nope"), "bikes has no alias 'nope'"),
        (("edit", "bikes:v9", "--description", "x"), "bikes:v9 does not exist"),
        (("edit", "nope:v0", "--description", "x"), "no artifact nope"),
        (("edit", "bikes:v0", "--metadata", '{"a": 1'), "--metadata is not valid JSON"),
        (("edit", "bikes:v0", "--metadata", "[1, 2]"), "must be a JSON object, not list"),
        (("edit", "bikes:v0", "--set-metadata", "novalue"), "is not KEY=VALUE"),
        (("edit", "bikes:v0", "--unset-metadata", "k"), "has no metadata key 'k'"),
        (("edit", "bikes:v0", "--untag", "t"), "has no tag 't'"),
        (("edit", "bikes:v0", "--ttl", "forever"), "invalid ttl 'forever'"),
        (("edit", "bikes:v0", "--tag", "a/b"), "invalid artifact tag 'a/b'"),
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(
    bikes: GitRepo, args: tuple[str, ...], message: str
) -> None:
    before = bikes.snapshot()
    line = stderr_error_line(bikes.ga(*args, rc=None))
    assert message in line
    assert_unchanged(before, bikes.snapshot())  # the notes ref and the tags among the refs


@pytest.mark.slow
def test_edits_and_alias_moves_from_two_clones_merge_without_conflict(
    bikes: GitRepo, origin: Path, tmp_path: Path
) -> None:
    bikes.git("remote", "add", "origin", str(origin))
    bikes.ga("init")  # the refspecs of the new remote
    bikes.git("push", "-q", "origin", "main")
    bikes.ga("push")
    alice, bob = bikes, clone(origin, tmp_path / "bob")
    bob.ga("fetch")
    alice.ga("edit", "bikes:v0", "--set-metadata", "a=1", "--description", "by alice")
    alice.ga("alias", "bikes:v0", "best")
    bob.ga("edit", "bikes:v0", "--set-metadata", "b=2", "--tag", "bob")
    bob.ga("alias", "bikes:v0", "prod")
    bob.ga("alias", "--delete", "bikes", "latest")
    alice.ga("push")
    bob.ga("push")  # the remote's notes are merged in first
    alice.ga("fetch")
    shown = [r.ga_json("show", "bikes:v0") for r in (alice, bob)]
    assert shown[0] == shown[1]
    assert shown[0]["metadata"] == {"a": 1, "b": 2}
    assert shown[0]["description"] == "by alice" and shown[0]["tags"] == ["bob"]
    assert shown[0]["aliases"] == ["best", "prod"]
    assert alice.ga_json("show", "bikes:v0", "--history") == bob.ga_json(
        "show", "bikes:v0", "--history"
    )
    # An alias removed everywhere and then made again travels like any other.
    bob.ga("alias", "bikes:v0", "latest")
    bob.ga("push")
    alice.ga("fetch")
    assert alice.ga_json("show", "bikes:v0")["aliases"] == ["best", "latest", "prod"]
    alice.ga("push")  # and alice's push does not remove it again
    bob.ga("fetch")
    assert bob.ga_json("show", "bikes:v0")["aliases"] == ["best", "latest", "prod"]
