"""The pure three-way merge of manifests: entries, metadata keys, fields, the conflict block."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from helpers import sha
from hypothesis import given
from hypothesis import strategies as st

from gitartifacts.core import manifest as mf
from gitartifacts.core import manifest_parse as mparse
from gitartifacts.core import merge3
from gitartifacts.errors import ManifestError


def entry(text: str) -> mf.Entry:
    return mf.Entry(sha(text.encode()), len(text))


def man(files: dict[str, str], **fields: Any) -> mf.Manifest:
    return mf.build(
        fields.pop("name", "ds"),
        fields.pop("type", "dataset"),
        {p: entry(t) for p, t in files.items()},
        **fields,
    )


BASE = {"a.txt": "a", "b.txt": "b", "c.txt": "c"}


def test_changes_made_on_one_side_only_are_taken_from_either_side() -> None:
    ours = man({**BASE, "new-ours.txt": "o", "a.txt": "a2"})
    theirs = man({"a.txt": "a", "b.txt": "b", "new-theirs.txt": "t"})  # c removed
    r = merge3.merge(man(BASE), ours, theirs)
    assert r.clean and r.ours == r.theirs
    assert sorted(r.ours.entries or {}) == ["a.txt", "b.txt", "new-ours.txt", "new-theirs.txt"]
    assert (r.ours.entries or {})["a.txt"] == entry("a2")
    assert r.ours.digest == mf.entries_digest(r.ours.entries or {})
    assert r.ours.files == 4 and r.ours.size == 2 + 1 + 1 + 1


def test_the_same_change_on_both_sides_is_taken_once() -> None:
    both = man({**BASE, "a.txt": "same"})
    r = merge3.merge(man(BASE), both, both)
    assert r.clean and (r.ours.entries or {})["a.txt"] == entry("same")


def test_one_entry_changed_differently_is_a_conflict_with_two_whole_candidates() -> None:
    ours = man({**BASE, "a.txt": "ours", "o.txt": "o"})
    theirs = man({**BASE, "a.txt": "theirs!", "t.txt": "t"})
    r = merge3.merge(man(BASE), ours, theirs)
    assert not r.clean
    assert r.entries == [merge3.EntryConflict("a.txt", entry("a"), entry("ours"), entry("theirs!"))]
    for side, text in ((r.ours, "ours"), (r.theirs, "theirs!")):
        got = side.entries or {}
        assert sorted(got) == ["a.txt", "b.txt", "c.txt", "o.txt", "t.txt"]
        assert got["a.txt"] == entry(text)
        mparse.check_totals(side, got)  # each candidate is a valid manifest as it stands


def test_removed_on_one_side_and_changed_on_the_other_is_a_conflict() -> None:
    ours = man({"a.txt": "a", "b.txt": "b"})
    theirs = man({**BASE, "c.txt": "c2"})
    r = merge3.merge(man(BASE), ours, theirs)
    assert [(c.path, c.ours, c.theirs) for c in r.entries] == [("c.txt", None, entry("c2"))]
    assert "c.txt" not in (r.ours.entries or {})
    assert "ours absent, theirs sha256:" in merge3.describe(r)[0]


def test_add_add_without_base_merges_different_files_and_conflicts_on_the_same() -> None:
    r = merge3.merge(None, man({"x": "1", "y": "2"}), man({"x": "1", "z": "3"}))
    assert r.clean and sorted(r.ours.entries or {}) == ["x", "y", "z"]
    r = merge3.merge(None, man({"x": "1"}), man({"x": "2"}))
    assert [c.path for c in r.entries] == ["x"] and r.entries[0].base is None


def test_metadata_merges_key_by_key() -> None:
    base = man(BASE, metadata={"lr": 1, "keep": "k", "gone": 1})
    ours = man(BASE, metadata={"lr": 2, "keep": "k", "gone": 1, "o": True})
    theirs = man(BASE, metadata={"lr": 1, "keep": "k", "t": [1]})  # `gone` removed
    r = merge3.merge(base, ours, theirs)
    assert r.clean
    assert r.ours.metadata == {"lr": 2, "keep": "k", "o": True, "t": [1]}


def test_a_metadata_key_changed_differently_is_a_conflict_naming_both_values() -> None:
    r = merge3.merge(
        man(BASE, metadata={"lr": 1}), man(BASE, metadata={"lr": 2}), man(BASE, metadata={})
    )
    assert r.fields == [merge3.FieldConflict("metadata.lr", 2, None)]
    assert r.ours.metadata == {"lr": 2} and r.theirs.metadata == {}
    assert merge3.describe(r) == ["metadata.lr: ours 2, theirs absent"]


def test_description_path_and_ttl_take_a_one_sided_change_and_conflict_on_two() -> None:
    base = man(BASE, description="d", ttl="30d")
    r = merge3.merge(base, man(BASE, description="new", ttl="30d"), man(BASE, description="d"))
    assert r.clean and r.ours.description == "new" and r.ours.ttl is None
    r = merge3.merge(base, man(BASE, description="x", path="p"), man(BASE, description="y"))
    assert [c.key for c in r.fields] == ["description"]
    assert r.ours.path == "p" == r.theirs.path


def test_a_differing_type_or_name_is_always_a_conflict() -> None:
    r = merge3.merge(man(BASE), man(BASE), man(BASE, type="model"))
    assert r.fields == [merge3.FieldConflict("type", "dataset", "model")]
    r = merge3.merge(None, man(BASE), man(BASE, name="other"))
    assert [c.key for c in r.fields] == ["name"]


def test_the_conflict_block_names_the_sides_and_each_conflict_and_keeps_one_side_valid() -> None:
    ours = man({**BASE, "a.txt": "ours"}, metadata={"k": 1})
    theirs = man({**BASE, "a.txt": "theirs"}, metadata={"k": 2})
    r = merge3.merge(man(BASE), ours, theirs)
    o_text, t_text = mf.dumps(r.ours), mf.dumps(r.theirs)
    block = merge3.conflict_block(
        r, o_text, t_text, "ours (main)", "theirs (feat)", ".artifacts/ds.yaml"
    )
    lines = block.splitlines()
    assert lines.count("<<<<<<< ours (main)") == 1 and lines.count(">>>>>>> theirs (feat)") == 1
    assert lines.count("=======") == 1
    assert f"#   a.txt: ours {entry('ours').digest[:19]} (4 B)" in block
    assert f"theirs {entry('theirs').digest[:19]} (6 B)" in block
    assert "#   metadata.k: ours 1, theirs 2" in block
    assert merge3.conflict_marker_line(block) == lines.index("<<<<<<< ours (main)") + 1
    # Settling: keep theirs, drop the rest; what is left is theirs' candidate as written.
    kept = block.split("=======\n")[1].split(">>>>>>>")[0]
    assert kept == t_text and mparse.loads(kept).digest == r.theirs.digest


def test_the_block_lists_at_most_a_limit_of_conflicts() -> None:
    n = merge3.SHOWN_CONFLICTS + 5
    base = man({f"f{i}": "0" for i in range(n)})
    r = merge3.merge(
        base, man({f"f{i}": "1" for i in range(n)}), man({f"f{i}": "2" for i in range(n)})
    )
    block = merge3.conflict_block(r, "", "", "ours", "theirs", "x")
    assert len(r.entries) == n
    assert "#   ... and 5 more (see git artifacts status)" in block


def test_a_line_separator_in_an_entry_path_cannot_end_the_comment_line() -> None:
    path = "evil\u2028type: model"
    r = merge3.merge(man({path: "0"}), man({path: "1"}), man({path: "2"}))
    block = merge3.conflict_block(r, "", "", "ours", "theirs", "x")
    assert "\u2028" not in block and "\\u2028" in block
    head = block.split("<<<<<<<")[0]
    assert yaml.safe_load(head) is None  # nothing but comments


def test_conflict_markers_are_found_only_at_the_start_of_a_line() -> None:
    assert merge3.conflict_marker_line("a: 1\n<<<<<<< ours\nb\n") == 2
    assert merge3.conflict_marker_line("a: '<<<<<<< x'\ndescription: =======x\n") is None
    assert merge3.conflict_marker_line("=======\n") == 1
    assert merge3.conflict_marker_line(">>>>>>>") == 1
    assert merge3.conflict_marker_line("a: 1\n<<<<<<<<< a nested merge's base\n") == 2


_files = st.dictionaries(
    st.sampled_from(["a", "b", "c", "d/e", "d/f"]), st.sampled_from(["0", "1", "2"]), max_size=5
)


@given(_files, _files)
def test_a_side_equal_to_the_base_yields_the_other_side(base: dict[str, str], x: dict[str, str]):  # type: ignore[no-untyped-def]
    b, m = man(base), man(x)
    for r in (merge3.merge(b, m, b), merge3.merge(b, b, m)):
        assert r.clean and r.ours.entries == m.entries and r.ours.digest == m.digest


def test_reading_a_manifest_with_conflict_markers_says_so() -> None:
    r = merge3.merge(man(BASE), man({"a.txt": "1"}), man({"a.txt": "2"}))
    block = merge3.conflict_block(r, mf.dumps(r.ours), mf.dumps(r.theirs), "o", "t", "x")
    with pytest.raises(ManifestError) as info:
        mparse.loads(block, ".artifacts/ds.yaml")
    line = block.splitlines().index("<<<<<<< o") + 1
    assert info.value.message == f".artifacts/ds.yaml:{line}: holds merge conflict markers"
